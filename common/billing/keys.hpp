#pragma once
// The Redis key layout (DESIGN.md, "Redis records"): the one file that spells a key of ours.
// Every key of one customer carries the customer id as a hash tag, so one Lua call touches one
// slot; the portal's records share the tag {portal}. The app reads these keys, so they are a
// contract: change them here or nowhere, and tell the README.
#include <cstdint>
#include <string>
#include <string_view>

namespace stripe_sync {

class Keys {
 public:
  explicit Keys(std::string prefix = "stripe:") : prefix_(std::move(prefix)) {}
  const std::string& prefix() const { return prefix_; }

  // One customer's records; `c` is the partition key (customer id, "acct_.../cus_..." for
  // Connect, or the object's own id for objects without a customer).
  std::string customer(std::string_view c) const { return tag(c) + "customer"; }
  std::string subscription(std::string_view c, std::string_view id) const { return tag(c) + "subscription:" + std::string(id); }
  std::string payment_method(std::string_view c, std::string_view id) const { return tag(c) + "payment_method:" + std::string(id); }
  std::string subscriptions(std::string_view c) const { return tag(c) + "subscriptions"; }      // set: live ids
  std::string payment_methods(std::string_view c) const { return tag(c) + "payment_methods"; }  // set: attached ids
  std::string invoice(std::string_view c, std::string_view id) const { return tag(c) + "invoice:" + std::string(id); }
  std::string invoices(std::string_view c) const { return tag(c) + "invoices"; }  // sorted set: ids by created
  std::string checkout_session(std::string_view c, std::string_view id) const { return tag(c) + "checkout_session:" + std::string(id); }
  // The active entitlement summary (hash, stamped) and its lookup keys (set), replaced together.
  std::string entitlements(std::string_view c) const { return tag(c) + "entitlements"; }
  std::string entitlement_keys(std::string_view c) const { return tag(c) + "entitlements:active"; }
  // Account-wide objects: `c` is their own id (price_..., prod_...), as the partition key says.
  std::string price(std::string_view c) const { return tag(c) + "price"; }
  std::string product(std::string_view c) const { return tag(c) + "product"; }
  // The processed markers of the customer's events created on one UTC day: a hash of event id
  // -> outcome code (apply_change.lua), expiring DEDUPE_TTL_S after that day ends. One key per
  // customer-day instead of one per event: a small hash is one listpack, a few tens of bytes an id.
  std::string markers(std::string_view c, std::int64_t created) const {
    return tag(c) + "events:" + std::to_string(marker_day(created));
  }
  // The UTC day (days since 1970-01-01) a marker is kept under; a resent event keeps its created.
  static std::int64_t marker_day(std::int64_t created) { return created / 86400; }
  std::string audit(std::string_view c) const { return tag(c) + "audit"; }  // stream

  // The portal's records, all under {portal}.
  std::string portal_session(std::string_view id) const { return portal() + "session:" + std::string(id); }
  std::string portal_sessions() const { return portal() + "sessions"; }  // set of Stripe's session ids
  std::string portal_configuration(std::string_view id) const { return portal() + "configuration:" + std::string(id); }
  std::string portal_configuration_list() const { return portal() + "configurations"; }  // cached list (JSON)
  std::string portal_branding(std::string_view id) const { return portal() + "branding:" + std::string(id); }
  std::string portal_visit(std::string_view id) const { return portal() + "visit:" + std::string(id); }
  std::string portal_visits() const { return portal() + "visits"; }  // sorted set by start ms
  std::string portal_markers(std::int64_t created) const { return portal() + "events:" + std::to_string(marker_day(created)); }
  std::string portal_audit() const { return portal() + "audit"; }

  // Operations.
  std::string backfill_cursor() const { return prefix_ + "backfill:undelivered:cursor"; }
  // hash: "<partition>:<offset>" of a dead-letter topic entry -> its lifecycle record (JSON,
  // worker/dlq_ledger.hpp); an entry without one is pending.
  std::string dlq_entries() const { return prefix_ + "{dlq}:entries"; }

  // The thin path's fetch queue (fetch_queue.lua), all under {fetch}.
  std::string fetch_due() const { return fetch() + "due"; }            // sorted set: entry -> due ms
  std::string fetch_requests() const { return fetch() + "requests"; }  // hash: entry -> request JSON
  std::string fetch_seq() const { return fetch() + "seq"; }            // hash: entry -> notifications
  std::string fetch_since() const { return fetch() + "since"; }        // sorted set: entry -> first queued ms
  std::string fetch_attempts() const { return fetch() + "attempts"; }  // hash: entry -> failures in a row
  // string "queued", DEDUPE_TTL_S: a thin notification already queued (dedupe by its id)
  std::string fetch_notification(std::string_view notification_id) const {
    return fetch() + "notification:" + std::string(notification_id);
  }

 private:
  std::string tag(std::string_view c) const { return prefix_ + "{" + std::string(c) + "}:"; }
  std::string portal() const { return prefix_ + "portal:{portal}:"; }
  std::string fetch() const { return prefix_ + "{fetch}:"; }
  std::string prefix_;
};

}  // namespace stripe_sync
