#pragma once
// A customer's state as Redis holds it: the customer hash, the live subscriptions and the
// attached payment methods (by the index sets). The one reader, for the portal API and
// `stripe-sync state`.
#include <map>
#include <string>
#include <string_view>

#include "common/billing/change_record.hpp"
#include "common/billing/keys.hpp"
#include "common/core/result.hpp"
#include "common/redis/redis_client.hpp"

namespace stripe_sync {

using ObjectFields = std::map<std::string, std::string>;  // a stored hash: field -> value

struct CustomerState {
  ObjectFields customer;                                // empty when Redis has no customer hash
  std::map<std::string, ObjectFields> subscriptions;    // by id (live ones)
  std::map<std::string, ObjectFields> payment_methods;  // by id (attached ones)
};


// Which fields to keep: Stripe's only, or with our bookkeeping (`_v`, `_event`, `_synced_ms`,
// `_revalidate`) too.
enum class SyncFields { omit, keep };

// A hash as Redis returned it (HGETALL), as fields; `omit` drops our bookkeeping (`_v`, ...).
ObjectFields fields_of(const RedisValue& hash, SyncFields sync_fields);

// A change record's fields as the hash it writes (what the portal compares and answers).
ObjectFields fields_of(const ChangeRecord& record);

// Two round trips: the customer and both index sets, then every member's hash.
Result<CustomerState> read_customer_state(RedisClient& redis, const Keys& keys, std::string_view customer,
                                          SyncFields sync_fields = SyncFields::omit);

}  // namespace stripe_sync
