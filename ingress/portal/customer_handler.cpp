// POST /api/payment/customers/{id} (role app): the other direction of sync. Email, name, phone or
// address go to Stripe (with the caller's Idempotency-Key), and Stripe's answer is applied here
// through the one apply path.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/billing/event_extract.hpp"
#include "common/billing/state_reader.hpp"
#include "common/core/log.hpp"
#include "ingress/portal/portal_api.hpp"

namespace stripe_sync::ingress {

namespace json = boost::json;

Answer PortalApi::update_customer(const PortalRequest& request) {
  const std::string& customer = request.match.id;
  if (!is_customer_id(customer)) {
    return error(ErrorCode::bad_request, "the path must name a customer id (cus_...)");
  }
  boost::system::error_code ec;
  json::value req = json::parse(request.body, ec);
  if (ec || !req.is_object()) return error(ErrorCode::bad_request, "the body must be a JSON object");
  json::object params;
  for (const auto& kv : req.as_object()) {
    std::string_view k = kv.key();
    if (k == "email" || k == "name" || k == "phone") {
      if (!kv.value().is_string()) return error(ErrorCode::bad_request, std::string(k) + " must be a string");
      if (k == "email" && kv.value().as_string().find('@') == json::string::npos) {
        return error(ErrorCode::bad_request, "email must be an email address");
      }
      params[k] = kv.value();
    } else if (k == "address") {
      if (!kv.value().is_object()) return error(ErrorCode::bad_request, "address must be an object");
      json::object address;
      for (const auto& a : kv.value().as_object()) {
        static constexpr std::string_view kParts[] = {"line1", "line2", "city", "state", "postal_code", "country"};
        if (std::find(std::begin(kParts), std::end(kParts), a.key()) == std::end(kParts) || !a.value().is_string()) {
          return error(ErrorCode::bad_request, "address." + std::string(a.key()) + " is not a known address field (a string)");
        }
        address[a.key()] = a.value();
      }
      params["address"] = std::move(address);
    } else {
      return error(ErrorCode::bad_request, "unknown field '" + std::string(k) + "': email, name, phone or address");
    }
  }
  if (params.empty()) return error(ErrorCode::bad_request, "nothing to update: give email, name, phone or address");
  // The caller's Idempotency-Key (if any) is kept, so its own retries are safe end to end.
  StripeResult r = stripe_.post("/v1/customers/" + customer, params, std::string(request.idempotency_key));
  if (r.error == StripeError::not_found) return error(ErrorCode::customer_not_found, "no such customer: " + customer);
  if (r.error == StripeError::invalid_request) return error(ErrorCode::bad_request, "Stripe refused the update: " + r.message);
  if (!r.ok()) return stripe_failed(r);
  ChangeRecord rec;
  if (auto x = extract_snapshot(r.body, r.date_unix, "sync_" + random_id(""), "api-update", rec);
      x.status != ExtractStatus::record) {
    return bad_answer("a customer that cannot be read (" + x.detail + ")");
  }
  {
    auto redis = redis_.acquire();
    EventStore store(*redis, store_);
    if (!store.apply(std::span(&rec, 1), now_ms_())) {
      // Stripe has it; the webhook that follows will bring it here too.
      log::warn("customer updated at Stripe but not applied locally", {{"customer", customer}});
    }
  }
  ObjectFields f = fields_of(rec);
  json::value address = nullptr;
  if (!f["address"].empty()) address = json::parse(f["address"], ec);
  json::object out{{"success", true},
                   {"customer", json::object{{"id", customer}, {"email", f["email"]}, {"name", f["name"]},
                                             {"phone", f["phone"]}, {"address", address}}}};
  return {200, json::serialize(out), {}};
}

}  // namespace stripe_sync::ingress
