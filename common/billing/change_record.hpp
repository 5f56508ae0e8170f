#pragma once
// The one thing that is ever written to a customer's state: a change record. Webhook events,
// replays, backfill and (later) re-sync snapshots all become this, and all go through the same
// Lua script (schemas/redis/apply_change.lua) via EventStore.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace stripe_sync {

enum class ObjectKind { customer, subscription, payment_method, portal_session, portal_configuration };

std::string_view to_string(ObjectKind k);

enum class IndexAction { none, add, remove };

struct ChangeRecord {
  std::string key;         // partition key = hash tag: customer id, or the object id
  ObjectKind kind = ObjectKind::customer;
  std::string object_id;
  std::string event_id;
  std::string event_type;
  std::string source = "webhook";
  std::int64_t created = 0;  // the event's created (or the snapshot's Date), unix seconds
  int rank = 2;              // 1 created, 2 other change, 3 deleted / detached
  bool tombstone = false;
  IndexAction index = IndexAction::none;
  std::vector<std::pair<std::string, std::string>> fields;    // stored fields, new values
  bool has_previous = false;                                  // previous_attributes present
  std::vector<std::pair<std::string, std::string>> previous;  // restricted to stored fields

  // DESIGN.md: created * 10 + rank.
  std::int64_t stamp() const { return created * 10 + rank; }
  const std::string* field(std::string_view name) const;
};

}  // namespace stripe_sync
