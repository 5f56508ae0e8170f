// GET /api/payment/portal/return (role app): the customer is back from Stripe's portal. The
// customer, their subscriptions and payment methods are fetched from Stripe (all of it before
// anything is written), applied as return-sync snapshots through the one apply path, and the
// changes are told against the state recorded when the session was created.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

#include "common/billing/customer_document.hpp"
#include "common/billing/event_extract.hpp"
#include "common/billing/snapshots.hpp"
#include "common/billing/state_reader.hpp"
#include "common/billing/subscription_rules.hpp"
#include "common/core/log.hpp"
#include "ingress/portal/portal_api.hpp"
#include "ingress/portal/portal_diff.hpp"
#include "ingress/portal/portal_workflow.hpp"
#include "ingress/portal/return_link.hpp"
#include "ingress/portal/visit_store.hpp"

namespace stripe_sync::ingress {

namespace json = boost::json;

Answer PortalApi::handle_return(const PortalRequest& request) {
  auto u = boost::urls::parse_origin_form(request.target);
  if (!u) return error(ErrorCode::bad_request, "malformed query string");
  std::string session_id, customer, action, sig;
  for (auto p : u->params()) {
    if (p.key == "session_id") session_id = p.value;
    else if (p.key == "customer_id") customer = p.value;
    else if (p.key == "action") action = p.value;
    else if (p.key == "sig") sig = p.value;
  }
  if (session_id.empty() || customer.empty() || action.empty() || sig.empty()) {
    return error(ErrorCode::bad_request, "session_id, customer_id, action and sig are required");
  }
  auto redis = redis_.acquire();
  VisitStore visits(*redis, store_.keys());
  auto found = visits.find(session_id);
  if (!found) return store_unavailable();
  if (!*found) return error(ErrorCode::invalid_session, "unknown portal session");
  const Visit& v = **found;
  if (v.customer != customer) return error(ErrorCode::forbidden, "this portal session belongs to another customer");
  if (!verify_return_signature(config_.return_secret.reveal(), session_id, customer, action, sig) || v.action != action) {
    return error(ErrorCode::invalid_session, "the return link's signature does not match");
  }
  if (!v.result.empty()) return {200, v.result, {}};  // returned once already: same answer
  if (now_ms_() > v.expires_ms) return error(ErrorCode::invalid_session, "the portal session has expired");

  // Fetch everything first: nothing is written unless the whole picture arrived.
  StripeResult cust = stripe_waiting_.get("/v1/customers/" + customer);
  json::array subs, pms;
  StripeResult subs_r = cust.ok() ? stripe_list_all(stripe_waiting_, "/v1/subscriptions", {{"customer", customer}, {"status", "all"}}, subs) : cust;
  StripeResult pms_r = subs_r.ok() ? stripe_list_all(stripe_waiting_, "/v1/customers/" + customer + "/payment_methods", {}, pms) : subs_r;
  // The newest invoices (one page: the history before them is already here) and the active
  // entitlements, which the portal's changes move.
  StripeResult invs_r = pms_r.ok() ? stripe_waiting_.get("/v1/invoices", {{"customer", customer}, {"limit", static_cast<std::int64_t>(kDocumentInvoices)}}) : pms_r;
  json::array invoices, entitlements;
  if (invs_r.ok()) {
    boost::system::error_code ec;
    json::value list = json::parse(invs_r.body, ec);
    const json::value* data = !ec && list.is_object() ? list.as_object().if_contains("data") : nullptr;
    if (data == nullptr || !data->is_array()) invs_r.error = StripeError::bad_answer;
    else invoices = data->as_array();
  }
  StripeResult ents_r = invs_r.ok() ? stripe_list_all(stripe_waiting_, "/v1/entitlements/active_entitlements", {{"customer", customer}}, entitlements) : invs_r;
  if (!cust.ok() || !subs_r.ok() || !pms_r.ok() || !invs_r.ok() || !ents_r.ok()) {
    log::warn("portal return: Stripe fetch failed", {{"customer", customer}, {"session", session_id}});
    return error(ErrorCode::sync_failed, "could not fetch the customer's billing state from Stripe; nothing was changed");
  }

  const CustomerState& before = v.before;
  CustomerState after;
  std::vector<ChangeRecord> records;
  auto add = [&](const std::string& object_json, std::int64_t date) -> ChangeRecord* {
    ChangeRecord r;
    if (extract_snapshot(object_json, date, "sync_" + session_id + "_" + std::to_string(records.size()),
                         "return-sync", r).status != ExtractStatus::record) {
      return nullptr;
    }
    records.push_back(std::move(r));
    return &records.back();
  };
  if (auto* r = add(cust.body, cust.date_unix)) after.customer = fields_of(*r);
  for (const auto& s : subs) {
    if (auto* r = add(json::serialize(s), subs_r.date_unix)) {
      auto f = fields_of(*r);
      if (subscription_in_portal(f["status"]) || before.subscriptions.count(r->object_id)) after.subscriptions[r->object_id] = f;
    }
  }
  for (const auto& p : pms) {
    if (auto* r = add(json::serialize(p), pms_r.date_unix)) after.payment_methods[r->object_id] = fields_of(*r);
  }
  for (const auto& i : invoices) add(json::serialize(i), invs_r.date_unix);
  const std::string livemode = after.customer.count("livemode") ? after.customer.at("livemode") : "false";
  add(entitlement_summary_json(customer, entitlements, livemode == "true"), ents_r.date_unix);
  // Attached before, absent now: detached in the portal.
  for (const auto& [id, fields] : before.payment_methods) {
    if (after.payment_methods.count(id)) continue;
    ChangeRecord r;
    r.key = customer;
    r.kind = ObjectKind::payment_method;
    r.object_id = id;
    r.event_id = "sync_" + session_id + "_" + std::to_string(records.size());
    r.event_type = "payment_method.snapshot";
    r.source = "return-sync";
    r.created = pms_r.date_unix;
    r.rank = 3;
    r.tombstone = true;
    r.index = IndexAction::remove;
    for (const auto& [k, val] : fields) r.fields.emplace_back(k, k == "deleted" ? "1" : val);
    records.push_back(std::move(r));
  }
  EventStore store(*redis, store_);
  if (!store.apply(records, now_ms_())) {
    return error(ErrorCode::sync_failed, "the billing store is not reachable; retry later");
  }

  SyncReport report = diff_states(before, after);
  json::array changes;
  for (const auto& c : report.changes) changes.push_back(json::value(c));
  const Workflow* workflow = nullptr;
  for (const char* t : {"payment_update", "billing_review", "subscription_management", "cancellation_process", "profile_update"}) {
    if (find_workflow(t)->action == action) workflow = find_workflow(t);
  }
  json::object out{{"success", true},
                   {"message", "Portal return handled successfully"},
                   {"synchronized_data", json::object{{"customer_updated", report.customer_updated},
                                                      {"subscription_changed", report.subscription_changed},
                                                      {"payment_method_updated", report.payment_method_updated},
                                                      {"changes", changes}}},
                   {"redirect_url", workflow ? std::string(workflow->redirect_path) : std::string("/dashboard/billing")}};
  // Counted once: the first return records its time and answer; a concurrent second one reads it.
  std::string result = visits.record_return(v, json::serialize(out), now_ms_());
  log::info("portal return synchronised", {{"customer", customer}, {"session", session_id},
                                            {"changes", static_cast<std::int64_t>(report.changes.size())}});
  return {200, result, {}};
}

}  // namespace stripe_sync::ingress
