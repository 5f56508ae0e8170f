#pragma once
// WORKER_REVALIDATE: an event tied with the stored state (same second and rank), so which is
// newer was decided by previous_attributes or not at all. The revalidator fetches the object from
// Stripe (through the shared budget) and applies that snapshot, stamped with Stripe's Date,
// through the one apply path.
#include <optional>

#include "common/billing/change_record.hpp"
#include "common/billing/event_store.hpp"
#include "common/core/result.hpp"
#include "common/redis/redis_pool.hpp"
#include "common/stripe/stripe_client.hpp"
#include "worker/worker_metrics.hpp"

namespace stripe_sync::worker {

class Revalidator {
 public:
  Revalidator(StripeApi& stripe, RedisPool& redis, StoreConfig store, WorkerMetrics& metrics)
      : stripe_(stripe), redis_(redis), store_(std::move(store)), metrics_(metrics) {}

  // Settles `r`'s object. A failed or malformed fetch is counted and logged, and leaves the
  // object as it is (`_revalidate` marks an ambiguous one); the event itself is already durable.
  // A snapshot Redis refuses comes back as that Error: the caller holds the batch, since a
  // transient Redis failure must not drop the settlement of a tie (its retry answers duplicate
  // with the tie kept in the marker, and asks again). Anything else is Ok.
  Status settle(const ChangeRecord& r);

 private:
  StripeApi& stripe_;
  RedisPool& redis_;
  StoreConfig store_;
  WorkerMetrics& metrics_;
};

}  // namespace stripe_sync::worker
