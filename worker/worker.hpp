#pragma once
// stripe-worker's engine: a Kafka consumer in a group, partitions applied in parallel on a pool
// of threads, each partition strictly in order, offsets committed only for durable outcomes.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/core/metrics.hpp"
#include "common/http/status_routes.hpp"
#include "worker/worker_config.hpp"
#include "worker/worker_metrics.hpp"

namespace stripe_sync::worker {

class Worker final : public StatusSource {
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
  // The status routes (WORKER_METRICS_LISTEN): the same readiness, and the metrics' text.
  bool ready(std::string& reason) const override { return ready(&reason); }
  std::string metrics_text() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stripe_sync::worker
