#pragma once
// stripe-worker's settings: one plain struct, filled once from the environment and flags.
#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "common/core/config.hpp"
#include "common/billing/event_store.hpp"
#include "common/core/log.hpp"
#include "common/redis/redis_probe.hpp"

namespace stripe_sync::worker {

struct WorkerConfig {
  std::string kafka_brokers;
  std::string kafka_topic = "stripe.events";
  std::string kafka_dlq_topic = "stripe.events.dlq";
  std::string kafka_group = "stripe-sync";
  RedisEndpoint redis;
  StoreConfig store;
  int threads = 2;
  std::size_t batch_size = 64;                      // events per pipelined round trip
  std::size_t queue_max_bytes = 64u << 20;          // WORKER_QUEUE_MAX_BYTES: all queues together
  std::chrono::milliseconds redis_timeout{2000};
  bool redis_allow_eviction = false;                // REDIS_ALLOW_EVICTION
  int redis_wait_replicas = 0;                      // REDIS_WAIT_REPLICAS: WAIT before committing
  std::chrono::milliseconds redis_wait_timeout{1000};
  std::chrono::milliseconds fetch_wait{100};        // fetch.wait.max.ms
  std::chrono::milliseconds backoff_max{5000};      // cap of the Redis retry backoff
  std::chrono::milliseconds drain_timeout{10000};   // SIGTERM: how long queued events may take
  std::string metrics_listen = "127.0.0.1:9091";    // host:port of /metrics, /healthz, /readyz; "off"
  bool revalidate = false;                          // fetch ambiguous objects from Stripe
  Secret stripe_api_key;                            // for revalidation
  std::string stripe_api_base = "https://api.stripe.com";
  std::size_t stripe_max_response_bytes = 16 << 20;
  log::Level log_level = log::Level::info;
  log::Format log_format = log::Format::json;
};

std::span<const SettingSpec> worker_settings();
WorkerConfig worker_config_from(const Settings& settings);

}  // namespace stripe_sync::worker
