// GET /api/payment/portal/analytics?start_date&end_date (role admin): portal usage over a period,
// from our visits and the portal sessions Stripe reported; the arithmetic is portal_analytics.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <set>

#include "common/core/json_read.hpp"
#include "common/core/time.hpp"
#include "ingress/portal/portal_analytics.hpp"
#include "ingress/portal/portal_api.hpp"
#include "ingress/portal/portal_workflow.hpp"
#include "ingress/portal/visit_store.hpp"

namespace stripe_sync::ingress {

namespace json = boost::json;

Answer PortalApi::analytics(const PortalRequest& request) {
  auto u = boost::urls::parse_origin_form(request.target);
  if (!u) return error(ErrorCode::bad_request, "malformed query string");
  std::string start_text, end_text;
  for (auto p : u->params()) {
    if (p.key == "start_date") start_text = p.value;
    else if (p.key == "end_date") end_text = p.value;
  }
  const std::int64_t today = now_ms_() / 1000 / 86400 * 86400;
  auto start = start_text.empty() ? std::optional<std::int64_t>(today - 29 * 86400) : parse_utc_day(start_text);
  auto end = end_text.empty() ? std::optional<std::int64_t>(today) : parse_utc_day(end_text);
  if (!start || !end) return error(ErrorCode::bad_request, "start_date and end_date must be dates as YYYY-MM-DD");
  if (*start > *end) return error(ErrorCode::bad_request, "start_date must not be after end_date");
  const std::int64_t from_ms = *start * 1000, to_ms = (*end + 86400) * 1000 - 1;  // end_date inclusive

  auto redis = redis_.acquire();
  VisitStore store(*redis, store_.keys());
  auto visits = store.started_between(from_ms, to_ms);
  auto sessions = store.stripe_sessions();
  if (!visits || !sessions) return store_unavailable();
  std::vector<VisitRecord> ours, elsewhere;
  std::set<std::string> our_stripe_sessions;
  for (const Visit& v : *visits) {
    VisitRecord rec;
    rec.customer = v.customer;
    rec.features.push_back(workflow_feature(v.workflow));
    if (v.duration_ms) rec.duration_min = static_cast<double>(*v.duration_ms) / 60000.0;
    boost::system::error_code ec;
    if (auto result = json::parse(v.result, ec); !ec) {
      if (const auto* sync = json_read::member(result, "synchronized_data")) {
        if (json_read::bool_at(*sync, "payment_method_updated").value_or(false)) rec.features.push_back("payment_method_update");
        if (json_read::bool_at(*sync, "customer_updated").value_or(false)) rec.features.push_back("customer_update");
        if (json_read::bool_at(*sync, "subscription_changed").value_or(false)) rec.features.push_back("subscription_update");
      }
    }
    our_stripe_sessions.insert(v.stripe_session);
    ours.push_back(std::move(rec));
  }
  // Portal sessions Stripe reported that were opened elsewhere (not through this API).
  for (ObjectFields& s : *sessions) {
    auto created_s = json_read::parse_int(s["created"]);
    if (our_stripe_sessions.count(s["id"]) || !created_s) continue;
    std::int64_t created_ms = *created_s * 1000;
    if (created_ms < from_ms || created_ms > to_ms) continue;
    VisitRecord rec;
    rec.customer = s["customer"];
    rec.features.push_back(s["flow_type"].empty() ? "portal_homepage" : s["flow_type"]);
    elsewhere.push_back(std::move(rec));
  }
  AnalyticsReport report = portal_analytics(ours, elsewhere);
  json::array features;
  for (const auto& [name, count] : report.most_used_features) features.push_back(json::array{json::value(name), count});
  json::object out{{"success", true},
                   {"analytics", json::object{{"total_sessions", report.total_sessions},
                                              {"unique_customers", report.unique_customers},
                                              {"most_used_features", features},
                                              {"session_duration_stats",
                                               json::object{{"average_duration_minutes", report.average_duration_minutes},
                                                            {"median_duration_minutes", report.median_duration_minutes}}},
                                              {"return_rate", report.return_rate},
                                              {"period", json::object{{"start_date", utc_day(*start)},
                                                                      {"end_date", utc_day(*end)}}}}}};
  return {200, json::serialize(out), {}};
}

}  // namespace stripe_sync::ingress
