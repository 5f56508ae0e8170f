#include "worker/worker_config.hpp"

#include "common/core/process_main.hpp"

namespace stripe_sync::worker {

namespace {
const SettingSpec kSettings[] = {
    {"KAFKA_BROKERS", "", "Kafka bootstrap servers, host:port[,host:port]", true},
    {"KAFKA_TOPIC", "stripe.events", "topic of verified Stripe events"},
    {"KAFKA_DLQ_TOPIC", "stripe.events.dlq", "dead-letter topic for events that can never apply"},
    {"KAFKA_GROUP", "stripe-sync", "consumer group"},
    {"REDIS_URL", "redis://127.0.0.1:6379/0", "redis://[[user]:password@]host:port[/db][,host:port...]: one server, or any nodes of a Redis Cluster (found by itself; database 0 only)"},
    {"REDIS_ALLOW_EVICTION", "0", "1: accept a Redis whose maxmemory-policy evicts keys (it can silently drop billing state and dedupe markers)"},
    {"REDIS_WAIT_REPLICAS", "0", "after each batch, WAIT until this many replicas of every node written have it before committing offsets"},
    {"REDIS_WAIT_TIMEOUT_MS", "1000", "how long that WAIT may take; fewer replicas by then: the batch is retried, nothing committed"},
    kRedisPrefixSetting,
    {"WORKER_THREADS", "2", "threads applying events (partitions run in parallel, each in order)"},
    {"WORKER_BATCH", "64", "events of one partition applied per pipelined Redis round trip"},
    {"WORKER_QUEUE_MAX_BYTES", "67108864", "bytes of fetched events all partitions' queues may hold together; a partition past its share is paused (librdkafka prefetches up to 16 MiB more)"},
    kDedupeTtlSetting,
    kAuditMaxlenSetting,
    {"REDIS_TIMEOUT_MS", "2000", "Redis connect and command timeout"},
    {"WORKER_FETCH_WAIT_MS", "100", "longest a fetch waits at the broker for new events (fetch.wait.max.ms); the embedded broker always waits this long on an empty partition, so local runs use 5"},
    {"WORKER_METRICS_LISTEN", "127.0.0.1:9091", "host:port serving /metrics, /healthz and /readyz; off to disable"},
    {"WORKER_REVALIDATE", "0", "1: when an event ties with a different stored one, fetch the object from Stripe"},
    {"STRIPE_API_KEY", "", "Stripe secret key (sk_...): WORKER_REVALIDATE=1 and the thin path's fetches need it", false, true},
    {"STRIPE_API_BASE", "https://api.stripe.com", "Stripe's API origin"},
    {"STRIPE_MAX_RESPONSE_BYTES", "16777216", "largest answer read from Stripe; a larger one is a failed attempt"},
    {"LOG_LEVEL", "info", "debug, info, warn or error"},
    {"LOG_FORMAT", "json", "json (one object a line) or text"},
};
}  // namespace

std::span<const SettingSpec> worker_settings() { return kSettings; }

WorkerConfig worker_config_from(const Settings& s) {
  WorkerConfig c;
  c.kafka_brokers = s.get("KAFKA_BROKERS");
  c.kafka_topic = s.get("KAFKA_TOPIC");
  c.kafka_dlq_topic = s.get("KAFKA_DLQ_TOPIC");
  c.kafka_group = s.get("KAFKA_GROUP");
  c.redis = parse_redis_url(s.get("REDIS_URL"));
  c.store = store_config_from(s);
  c.threads = static_cast<int>(s.get_int("WORKER_THREADS", 1, 256));
  c.batch_size = static_cast<std::size_t>(s.get_int("WORKER_BATCH", 1, 10000));
  c.queue_max_bytes = static_cast<std::size_t>(s.get_int("WORKER_QUEUE_MAX_BYTES", 1 << 20, 1LL << 34));
  c.redis_timeout = s.get_ms("REDIS_TIMEOUT_MS", 50, 60000);
  c.redis_allow_eviction = s.get_bool("REDIS_ALLOW_EVICTION");
  c.redis_wait_replicas = static_cast<int>(s.get_int("REDIS_WAIT_REPLICAS", 0, 16));
  c.redis_wait_timeout = s.get_ms("REDIS_WAIT_TIMEOUT_MS", 1, 60000);
  c.fetch_wait = s.get_ms("WORKER_FETCH_WAIT_MS", 1, 10000);
  c.metrics_listen = s.get("WORKER_METRICS_LISTEN");
  if (c.metrics_listen != "off") parse_host_port(c.metrics_listen, "WORKER_METRICS_LISTEN");
  c.revalidate = s.get_bool("WORKER_REVALIDATE");
  c.stripe_api_key = s.get("STRIPE_API_KEY");
  c.stripe_api_base = s.get("STRIPE_API_BASE");
  c.stripe_max_response_bytes = static_cast<std::size_t>(s.get_int("STRIPE_MAX_RESPONSE_BYTES", 4096, 1LL << 30));
  if (c.revalidate && c.stripe_api_key.empty()) {
    throw ConfigError("WORKER_REVALIDATE=1 needs STRIPE_API_KEY (--stripe-api-key)");
  }
  read_log_settings(s, c.log_level, c.log_format);
  return c;
}

}  // namespace stripe_sync::worker
