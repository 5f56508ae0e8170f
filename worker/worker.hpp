#pragma once
// stripe-worker's engine: a Kafka consumer in a group, partitions applied in parallel on a pool
// of threads, each partition strictly in order, offsets committed only for durable outcomes.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/core/metrics.hpp"
#include "common/http/status_server.hpp"
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

  // /metrics of the worker (documented in README.md, "Metrics").
  metrics::Registry& registry();
  // /readyz: ready while partitions are assigned, none is paused on Redis, and the broker and
  // Redis answer the monitor (checked every 250 ms). `reason` says what is missing.
  bool ready(std::string* reason = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The worker's status routes (served on WORKER_METRICS_LISTEN): /healthz, /readyz, /metrics.
StatusAnswer status_route(Worker& worker, std::string_view path);

}  // namespace stripe_sync::worker
