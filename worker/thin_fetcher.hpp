#pragma once
// The thin path's fetcher: drains the durable fetch queue (common/billing/fetch_queue) through
// the deployment's one Stripe budget. Each due entry is fetched as it is now (GET
// related_object.url, Stripe-Context for a connected account), applied as a snapshot through the
// one apply path stamped with Stripe's Date (source=thin), and only then leaves the queue. A 404
// is a tombstone where the object can be keyed without it; a failed or malformed answer stays
// queued with a backoff, however long Stripe is down. An entitlement notification names no
// object: its event is fetched (GET /v2/core/events/{id}) for the customer, whose active
// entitlements are then fetched and applied as the summary.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/billing/event_store.hpp"
#include "common/billing/fetch_queue.hpp"
#include "common/redis/redis_pool.hpp"
#include "common/stripe/stripe_client.hpp"
#include "worker/worker_metrics.hpp"

namespace stripe_sync::worker {

struct ThinFetcherOptions {
  std::chrono::milliseconds idle{200};        // how long an empty queue is left alone
  std::chrono::milliseconds lease{30000};     // a claimed entry is due again after this
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_max{60000};
  int batch = 16;                             // entries claimed at a time
};

class ThinFetcher {
 public:
  ThinFetcher(StripeApi& stripe, RedisPool& redis, const StoreConfig& store, WorkerMetrics& metrics,
              ThinFetcherOptions options = {});
  ~ThinFetcher();
  void start();
  void stop();
  // One pass over the due entries; how many were claimed. Never throws.
  int run_once();

 private:
  enum class Done { applied, dropped, retry };
  // What one entry's fetch gave: Stripe's (last) answer, the object as the mapping reads it, or
  // why an answer can never give one (`unusable`: the entry is dropped).
  struct Fetched {
    StripeResult res;
    std::string object;
    std::string unusable;
  };
  Fetched fetch(const FetchRequest& r);
  Done fetch_one(const ClaimedFetch& c, RedisClient& redis);
  void loop();

  StripeApi& stripe_;
  RedisPool& redis_;
  const StoreConfig& store_;
  WorkerMetrics& metrics_;
  ThinFetcherOptions options_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace stripe_sync::worker
