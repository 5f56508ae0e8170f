#pragma once
// stripe-worker's engine: a Kafka consumer in a group, partitions applied in parallel on a pool
// of threads, each partition strictly in order, offsets committed only for durable outcomes.
#include <atomic>
#include <cstdint>
#include <memory>

#include "worker/worker_config.hpp"

namespace stripe_sync::worker {

struct WorkerCounters {
  std::atomic<std::uint64_t> applied{0}, stale{0}, ambiguous{0}, duplicate{0}, ignored{0},
      dead_lettered{0}, redis_retries{0};
};

class Worker {
 public:
  explicit Worker(const WorkerConfig& config);  // throws ConfigError on a bad Kafka setting
  ~Worker();
  void start();  // joins the group and starts consuming
  // Stops fetching, applies what is queued (up to drain_timeout), commits, leaves the group.
  void stop();
  const WorkerCounters& counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stripe_sync::worker
