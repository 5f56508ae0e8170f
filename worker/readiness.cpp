#include "worker/readiness.hpp"

#include "common/core/log.hpp"
#include "common/redis/redis_probe.hpp"
#include "common/redis/redis_settings.hpp"
#include "worker/dlq_ledger.hpp"

namespace stripe_sync::worker {

void Readiness::start() { monitor_ = std::thread([this] { monitor_loop(); }); }

void Readiness::stop() {
  {
    std::lock_guard lock(monitor_mutex_);
    monitor_stop_ = true;
  }
  monitor_cv_.notify_all();
  if (monitor_.joinable()) monitor_.join();
}

void Readiness::monitor_loop() {
  RedisProbe probe(config_.redis, std::chrono::milliseconds(500), config_.redis_allow_eviction);
  RedisClient ledger_redis(config_.redis, std::chrono::milliseconds(1000));
  DlqLedger ledger(ledger_redis, config_.store);
  bool reported_ready = false;
  auto next_dlq = std::chrono::steady_clock::now();
  std::unique_lock lock(monitor_mutex_);
  while (!monitor_stop_) {
    lock.unlock();
    Status redis_status = probe.check();
    bool redis_up = redis_status.ok();
    {
      std::lock_guard l(reason_mutex_);
      redis_reason_ = redis_up                                      ? std::string()
                     : redis_status.error().code == "connection" ? "Redis is not reachable: " + redis_status.error().message
                                                                 : "Redis is not fit to serve: " + redis_status.error().message;
    }
    bool broker_up = dlq_.broker_reachable(std::chrono::milliseconds(500));
    if (broker_up && std::chrono::steady_clock::now() >= next_dlq) {
      sample_dlq(ledger, redis_up);
      next_dlq = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
    redis_reachable_.store(redis_up);
    broker_reachable_.store(broker_up);
    std::string why;
    bool now_ready = ready(&why);
    metrics_.ready_gauge.set(now_ready ? 1 : 0);
    if (now_ready != reported_ready) {
      reported_ready = now_ready;
      if (now_ready) log::info("ready");
      else log::warn("not ready", {{"reason", why}});
    }
    lock.lock();
    monitor_cv_.wait_for(lock, std::chrono::milliseconds(250), [&] { return monitor_stop_; });
  }
}

void Readiness::sample_dlq(DlqLedger& ledger, bool redis_up) {
  auto spans = dlq_.watermarks(config_.kafka_dlq_topic, std::chrono::milliseconds(1000));
  if (!spans) return;
  std::int64_t held = 0;
  for (const auto& s : *spans) held += s.high - s.low;
  metrics_.dlq_messages.set(held);
  if (!redis_up) return;  // the pending count keeps its last value
  if (auto ids = ledger.record_ids()) {
    metrics_.dlq_pending.set(pending_count(*spans, *ids));
  } else {
    log::debug("dead-letter records not read", {{"error", ids.error().message}});
  }
}

bool Readiness::ready(std::string* reason) const {
  auto no = [&](const char* why) {
    if (reason) *reason = why;
    return false;
  };
  if (!broker_reachable_.load()) return no("the Kafka broker is not reachable");
  if (!redis_reachable_.load()) {
    std::lock_guard l(reason_mutex_);
    if (reason) *reason = redis_reason_;
    return false;
  }
  if (scheduler_.assigned() == 0) return no("no partition is assigned to this worker");
  if (scheduler_.any_backing_off()) return no("a partition is paused: its batch could not be written to Redis");
  return true;
}

}  // namespace stripe_sync::worker
