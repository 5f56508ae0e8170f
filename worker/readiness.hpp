#pragma once
// stripe-worker's /readyz: a monitor thread checks every 250 ms that the broker answers and
// that Redis is reachable and fit to serve (redis_settings: no evicting policy), samples the
// dead-letter topic's size and its pending entries every 5 s, and keeps stripe_worker_ready up
// to date. Ready also needs an assigned partition and none backing off (the scheduler says).
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "common/kafka/kafka_producer.hpp"
#include "worker/partition_scheduler.hpp"
#include "worker/worker_config.hpp"
#include "worker/worker_metrics.hpp"

namespace stripe_sync::worker {

class DlqLedger;

class Readiness {
 public:
  Readiness(const WorkerConfig& config, KafkaProducer& dlq, const PartitionScheduler& scheduler,
            WorkerMetrics& metrics)
      : config_(config), dlq_(dlq), scheduler_(scheduler), metrics_(metrics) {}
  ~Readiness() { stop(); }

  void start();  // the monitor thread
  void stop();   // joins it; idempotent

  // From any thread; `reason` (when given) says what is missing.
  bool ready(std::string* reason = nullptr) const;

 private:
  void monitor_loop();
  // The dead-letter topic's size, and how much of it is pending (worker/dlq_ledger.hpp).
  void sample_dlq(DlqLedger& ledger, bool redis_up);

  const WorkerConfig& config_;
  KafkaProducer& dlq_;
  const PartitionScheduler& scheduler_;
  WorkerMetrics& metrics_;
  std::atomic<bool> redis_reachable_{false}, broker_reachable_{false};
  mutable std::mutex reason_mutex_;
  std::string redis_reason_;  // why the probe found Redis unfit (guarded by reason_mutex_)
  std::thread monitor_;
  std::mutex monitor_mutex_;
  std::condition_variable monitor_cv_;
  bool monitor_stop_ = false;
};

}  // namespace stripe_sync::worker
