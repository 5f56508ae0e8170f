#pragma once
// The portal's own records in Redis (keys from common/billing/keys.hpp, all under {portal}): a
// visit per portal session we created (who, which workflow, the customer's state at creation,
// and once they are back, the answer and the duration), the visits by start time, and the
// portal sessions Stripe reported (billing_portal.session.created, written by the worker).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/billing/keys.hpp"
#include "common/billing/state_reader.hpp"
#include "common/core/result.hpp"
#include "common/redis/redis_client.hpp"

namespace stripe_sync::ingress {

struct Visit {
  std::string session_id;  // ours: ps_...
  std::string customer, workflow, action;
  std::string stripe_session;  // bps_...
  std::int64_t created_ms = 0, expires_ms = 0;
  CustomerState before;  // the customer's state when the session was created
  std::string branding;  // custom_branding as JSON, or empty
  // Set once the customer is back: the answer given (JSON) and how long the visit took.
  std::string result;
  std::optional<std::int64_t> duration_ms;
};

class VisitStore {
 public:
  VisitStore(RedisClient& redis, Keys keys) : redis_(redis), keys_(std::move(keys)) {}

  Status record(const Visit& v);
  // nullopt: no such visit.
  Result<std::optional<Visit>> find(const std::string& session_id);
  // The first return of a visit records its answer and duration and gets `result` back; a later
  // (or concurrent) one gets the answer the first one recorded.
  std::string record_return(const Visit& v, std::string result, std::int64_t now_ms);
  // Visits that started in [from_ms, to_ms].
  Result<std::vector<Visit>> started_between(std::int64_t from_ms, std::int64_t to_ms);
  // The portal sessions Stripe reported, as stored by the worker (id, customer, created, flow_type).
  Result<std::vector<ObjectFields>> stripe_sessions();

 private:
  Result<std::vector<ObjectFields>> read_hashes(const std::vector<std::string>& hash_keys);  // one round trip
  RedisClient& redis_;
  Keys keys_;
};

}  // namespace stripe_sync::ingress
