#pragma once
// The portal's workflows (DESIGN.md, Portal API table): what each asks Stripe for, and where the
// customer comes back to. Pure: builds the parameters of POST /v1/billing_portal/sessions.
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace stripe_sync::ingress {

struct Workflow {
  std::string_view type;           // payment_update, billing_review, ...
  std::string_view flow;           // Stripe's flow_data[type], empty for the portal homepage
  std::string_view action;         // the `action` of the return URL
  std::string_view redirect_path;  // appended to PORTAL_PUBLIC_BASE_URL for the return page
};

const Workflow* find_workflow(std::string_view type);

struct SessionRequest {
  std::string customer_id;
  std::string return_url;               // where Stripe sends the customer back (signed link)
  std::string configuration_id;         // optional
  std::string locale;                   // optional
  std::string live_subscription_id;     // the customer's live subscription, if any
};

enum class SessionPlanError { none, no_live_subscription };

// The Stripe parameters for the workflow; `error` is set (and the object empty) when the
// workflow cannot apply (cancellation without a live subscription).
boost::json::object session_params(const Workflow& w, const SessionRequest& r, SessionPlanError& error);

}  // namespace stripe_sync::ingress
