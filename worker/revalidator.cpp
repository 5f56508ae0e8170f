#include "worker/revalidator.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/billing/event_extract.hpp"
#include "common/billing/snapshots.hpp"
#include "common/core/log.hpp"
#include "common/core/time.hpp"

namespace stripe_sync::worker {

namespace {
// Where Stripe's API answers one object of a kind kept by its own id.
std::string object_path(ObjectKind kind, std::string_view id) {
  std::string path;
  switch (kind) {
    case ObjectKind::invoice: path = "/v1/invoices/"; break;
    case ObjectKind::checkout_session: path = "/v1/checkout/sessions/"; break;
    case ObjectKind::price: path = "/v1/prices/"; break;
    case ObjectKind::product: path = "/v1/products/"; break;
    default: return {};
  }
  // Appended, not `"literal" + std::string`: GCC 12 at -O3 warns falsely on that (-Wrestrict).
  return path.append(id);
}

}  // namespace

Status Revalidator::settle(const ChangeRecord& r) {
  if (r.key.find('/') != std::string::npos) return Ok{};  // Connect: needs the account's context
  StripeResult res;
  std::string object;
  auto find_in = [&](const boost::json::array& items) {
    for (const auto& item : items) {
      if (item.is_object() && item.as_object().if_contains("id") && item.at("id") == boost::json::value(r.object_id)) {
        object = boost::json::serialize(item);
      }
    }
  };
  boost::json::array items;
  switch (r.kind) {
    case ObjectKind::customer:
      res = stripe_.get("/v1/customers/" + r.object_id);
      if (res.ok()) object = res.body;
      break;
    case ObjectKind::subscription:
      res = stripe_list_all(stripe_, "/v1/subscriptions", {{"customer", r.key}, {"status", "all"}}, items);
      find_in(items);
      break;
    case ObjectKind::payment_method:
      res = stripe_list_all(stripe_, "/v1/customers/" + r.key + "/payment_methods", {}, items);
      find_in(items);
      break;
    case ObjectKind::invoice:
    case ObjectKind::checkout_session:
    case ObjectKind::price:
    case ObjectKind::product:
      res = stripe_.get(object_path(r.kind, r.object_id));
      if (res.ok()) object = res.body;
      break;
    case ObjectKind::entitlement_summary: {
      res = stripe_list_all(stripe_, "/v1/entitlements/active_entitlements", {{"customer", r.key}}, items);
      const std::string* livemode = r.field("livemode");
      if (res.ok()) object = entitlement_summary_json(r.key, items, livemode && *livemode == "true");
      break;
    }
    case ObjectKind::portal_session:
    case ObjectKind::portal_configuration:
      return Ok{};  // portal records are ours, not Stripe's objects
  }
  auto outcome = [&](int o, const char* message, std::string_view detail) -> Status {
    metrics_.revalidations[o]->inc();
    log::info(message, {{"event_id", r.event_id}, {"customer", r.key}, {"object_id", r.object_id},
                        {"detail", detail}});
    return Ok{};
  };
  if (!res.ok() && res.error != StripeError::not_found) {
    return outcome(kFetchFailed, "revalidation failed", to_string(res.error));
  }
  if (object.empty() || res.date_unix == 0) {
    return outcome(res.date_unix == 0 && !object.empty() ? kFetchFailed : kNotFound, "revalidation found nothing to apply",
                   res.date_unix == 0 ? "no Date header" : "not in Stripe's answer");
  }
  ChangeRecord snap;
  if (extract_snapshot(object, res.date_unix, "reval_" + r.event_id, "revalidate", snap).status !=
      ExtractStatus::record) {
    return outcome(kFetchFailed, "revalidation failed", "Stripe's object could not be read");
  }
  auto client = redis_.acquire();
  EventStore store(*client, store_);
  auto applied = store.apply(std::span(&snap, 1), unix_ms_now());
  if (!applied) {
    (void)outcome(kFetchFailed, "revalidation failed", "Redis unavailable");  // counted; the Error goes up
    return applied.error();
  }
  ApplyOutcome o = (*applied)[0].outcome;
  return outcome(o == ApplyOutcome::applied ? kRevalidated : kNotNewer, "revalidated from Stripe", to_string(o));
}

}  // namespace stripe_sync::worker
