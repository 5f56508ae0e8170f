#pragma once
// The one thing that is ever written to a customer's state: a change record. Webhook events,
// replays, backfill and (later) re-sync snapshots all become this, and all go through the same
// Lua script (schemas/redis/apply_change.lua) via EventStore.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace stripe_sync {

enum class ObjectKind {
  customer,
  subscription,
  payment_method,
  portal_session,
  portal_configuration,
  invoice,
  entitlement_summary,  // the customer's active entitlements: one per customer, no id of its own
  checkout_session,
  price,
  product,
};

std::string_view to_string(ObjectKind k);

// What an applied record does to its index key (RecordKeys::index):
//   add / remove      SADD / SREM of the object id (live subscriptions, attached payment methods)
//   ordered / unorder ZADD with index_score / ZREM (a customer's invoices by created)
//   replace           the set becomes exactly index_members (active entitlement lookup keys)
enum class IndexAction { none, add, remove, ordered, unorder, replace };

struct ChangeRecord {
  std::string key;         // partition key = hash tag: customer id, or the object id
  ObjectKind kind = ObjectKind::customer;
  std::string object_id;
  std::string event_id;
  std::string event_type;
  std::string source = "webhook";
  std::string api_version;   // the event's api_version; "" for a snapshot (fetched pinned)
  std::int64_t created = 0;  // the event's created (or the snapshot's Date), unix seconds
  int rank = 2;              // 1 created, 2 other change, 3 deleted / detached
  bool tombstone = false;
  IndexAction index = IndexAction::none;
  std::int64_t index_score = 0;            // ordered: the score
  std::vector<std::string> index_members;  // replace: the members
  std::vector<std::pair<std::string, std::string>> fields;    // stored fields, new values
  bool has_previous = false;                                  // previous_attributes present
  std::vector<std::pair<std::string, std::string>> previous;  // restricted to stored fields

  // DESIGN.md: created * 10 + rank.
  std::int64_t stamp() const { return created * 10 + rank; }
  const std::string* field(std::string_view name) const;
};

}  // namespace stripe_sync
