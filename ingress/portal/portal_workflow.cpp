#include "ingress/portal/portal_workflow.hpp"

#include <array>

namespace stripe_sync::ingress {

namespace json = boost::json;

namespace {
constexpr std::array kWorkflows{
    Workflow{"payment_update", "payment_method_update", "payment_updated", "/dashboard/billing/payment-methods"},
    Workflow{"billing_review", "", "billing_reviewed", "/dashboard/billing/history"},
    Workflow{"subscription_management", "subscription_update", "subscription_updated", "/dashboard/billing/subscription-updated"},
    Workflow{"cancellation_process", "subscription_cancel", "subscription_cancelled", "/dashboard/billing/cancellation-survey"},
    Workflow{"profile_update", "customer_update", "profile_updated", "/dashboard/profile"},
};
}  // namespace

const Workflow* find_workflow(std::string_view type) {
  for (const auto& w : kWorkflows)
    if (w.type == type) return &w;
  return nullptr;
}

json::object session_params(const Workflow& w, const SessionRequest& r, SessionPlanError& error) {
  error = SessionPlanError::none;
  json::object p{{"customer", r.customer_id}, {"return_url", r.return_url}};
  if (!r.configuration_id.empty()) p["configuration"] = r.configuration_id;
  if (!r.locale.empty()) p["locale"] = r.locale;
  std::string_view flow = w.flow;
  if (flow == "subscription_update" && r.live_subscription_id.empty()) flow = {};  // homepage
  if (flow == "subscription_cancel" && r.live_subscription_id.empty()) {
    error = SessionPlanError::no_live_subscription;
    return {};
  }
  if (flow.empty()) return p;
  json::object flow_data{{"type", flow},
                         {"after_completion", json::object{{"type", "redirect"},
                                                           {"redirect", json::object{{"return_url", r.return_url}}}}}};
  if (flow == "subscription_update") {
    flow_data["subscription_update"] = json::object{{"subscription", r.live_subscription_id}};
  } else if (flow == "subscription_cancel") {
    flow_data["subscription_cancel"] = json::object{{"subscription", r.live_subscription_id}};
  }
  p["flow_data"] = std::move(flow_data);
  return p;
}

}  // namespace stripe_sync::ingress
