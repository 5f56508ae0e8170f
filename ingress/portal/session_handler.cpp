// POST /api/payment/portal/session (role app): a Stripe portal session for one workflow, with a
// signed return link, and the visit recorded with the customer's state as it is now.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

#include "common/billing/event_extract.hpp"
#include "common/billing/state_reader.hpp"
#include "common/billing/subscription_rules.hpp"
#include "common/core/json_read.hpp"
#include "common/core/log.hpp"
#include "common/core/time.hpp"
#include "ingress/portal/portal_api.hpp"
#include "ingress/portal/portal_configuration.hpp"
#include "ingress/portal/portal_workflow.hpp"
#include "ingress/portal/return_link.hpp"
#include "ingress/portal/visit_store.hpp"

namespace stripe_sync::ingress {

namespace json = boost::json;

namespace {
std::string origin_of(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || u->host().empty()) return {};
  std::string o(u->scheme());
  o.append("://").append(u->host());
  if (u->has_port()) o.append(":").append(u->port());  // appends: GCC 12 -O3 misreads "a" + std::string as -Wrestrict
  return o;
}
}  // namespace

Answer PortalApi::create_session(const PortalRequest& request) {
  boost::system::error_code ec;
  json::value req = json::parse(request.body, ec);
  if (ec || !req.is_object()) return error(ErrorCode::bad_request, "the body must be a JSON object");
  const auto& o = req.as_object();
  auto text = [&](const char* name) -> std::string {
    auto* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  std::string customer = text("customer_id"), workflow_type = text("workflow_type");
  if (customer.empty()) return error(ErrorCode::bad_request, "customer_id is required");
  const Workflow* workflow = find_workflow(workflow_type);
  if (!workflow) {
    return error(ErrorCode::bad_request, "workflow_type must be one of payment_update, billing_review, "
                                         "subscription_management, cancellation_process, profile_update");
  }
  // Stripe cannot brand one session (the look is the account's and the configuration's), so
  // custom_branding is checked like a configuration's branding and recorded with the visit.
  std::string branding_json;
  if (auto* b = o.if_contains("custom_branding")) {
    ConfigurationRequest cr = validate_configuration(json::object{{"branding", *b}}, false);
    if (!cr.errors.empty()) {
      std::string message = "custom_branding invalid: ";
      for (std::size_t i = 0; i < cr.errors.size(); ++i) message += (i ? "; " : "") + cr.errors[i];
      return error(ErrorCode::bad_request, message);
    }
    branding_json = json::serialize(cr.branding);
  }
  std::string page = text("return_url");
  if (!page.empty()) {
    const auto& allowed = config_.return_origins;
    if (std::find(allowed.begin(), allowed.end(), origin_of(page)) == allowed.end()) {
      return error(ErrorCode::bad_request, "return_url must be on one of PORTAL_RETURN_ORIGINS");
    }
  } else {
    page = config_.public_base_url + std::string(workflow->redirect_path);
  }

  auto redis = redis_.acquire();
  auto before = read_customer_state(*redis, store_.keys(), customer);
  if (!before) return store_unavailable();
  if (before->customer.empty() || before->customer["deleted"] == "1") {
    // Not (yet) in Redis: ask Stripe, and keep what it says.
    StripeResult r = stripe_.get("/v1/customers/" + customer);
    if (r.error == StripeError::not_found) return error(ErrorCode::customer_not_found, "no such customer: " + customer);
    if (!r.ok()) return stripe_failed(r);
    ChangeRecord rec;
    auto x = extract_snapshot(r.body, r.date_unix, "sync_" + random_id(""), "session-sync", rec);
    if (x.status != ExtractStatus::record) return bad_answer("a customer that cannot be read (" + x.detail + ")");
    if (rec.tombstone) return error(ErrorCode::customer_not_found, "no such customer: " + customer);
    EventStore store(*redis, store_);
    if (!store.apply(std::span(&rec, 1), now_ms_())) return store_unavailable();
    before->customer = fields_of(rec);
  }

  SessionRequest sr;
  sr.customer_id = customer;
  sr.configuration_id = text("configuration_id");
  sr.locale = text("locale");
  for (const auto& [id, sub] : before->subscriptions) {
    auto it = sub.find("status");
    if (it != sub.end() && subscription_in_portal(it->second)) {
      sr.live_subscription_id = id;
      break;
    }
  }
  const std::string session_id = random_id("ps_");
  sr.return_url = return_link(page, config_.return_secret.reveal(), session_id, customer, workflow->action);
  SessionPlanError plan_error;
  json::object params = session_params(*workflow, sr, plan_error);
  if (plan_error == SessionPlanError::no_live_subscription) {
    return error(ErrorCode::conflict, "customer " + customer + " has no live subscription to cancel");
  }
  // Our session id is the Idempotency-Key: a retried creation never makes two sessions.
  StripeResult created = stripe_.post("/v1/billing_portal/sessions", params, session_id);
  if (!created.ok()) {
    if (created.error == StripeError::invalid_request || created.error == StripeError::not_found) {
      return error(ErrorCode::bad_request, "Stripe refused the session: " + created.message);
    }
    log::warn("portal session not created", {{"customer", customer}, {"error", to_string(created.error)}});
    return stripe_failed(created);
  }
  json::value stripe_session = json::parse(created.body, ec);
  if (ec || !stripe_session.is_object()) return bad_answer("a portal session that is not a JSON object");
  auto session_stripe_id = json_read::string_at(stripe_session, "id");
  auto session_url = json_read::string_at(stripe_session, "url");
  if (!session_stripe_id || !session_url) return bad_answer("a portal session without an id or url");
  const std::string stripe_id(*session_stripe_id), url(*session_url);
  const std::int64_t now = now_ms_();
  const std::int64_t expires = now + config_.session_ttl.count() * 1000;

  Visit visit;
  visit.session_id = session_id;
  visit.customer = customer;
  visit.workflow = std::string(workflow->type);
  visit.action = std::string(workflow->action);
  visit.stripe_session = stripe_id;
  visit.created_ms = now;
  visit.expires_ms = expires;
  visit.before = std::move(*before);
  visit.branding = branding_json;
  if (!VisitStore(*redis, store_.keys()).record(visit)) return store_unavailable();
  log::info("portal session created", {{"customer", customer}, {"workflow", workflow->type}, {"session", session_id}});

  json::object out{{"success", true},
                   {"portal_session", json::object{{"id", stripe_id},
                                                   {"url", url},
                                                   {"expires_at", rfc3339_utc_ms(expires).substr(0, 19) + "Z"},
                                                   {"return_url", sr.return_url}}}};
  return {200, json::serialize(out), {}};
}

}  // namespace stripe_sync::ingress
