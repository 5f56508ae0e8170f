#pragma once
// One batch of one partition, from consumed messages to durable outcomes: each message becomes a
// change record (or is ignored, or is bound for the dead-letter topic), the records are applied
// in one pipelined round trip through the one apply path, WAIT holds them until enough replicas
// have them, ties are settled at Stripe, and what can never apply is dead-lettered.
#include <librdkafka/rdkafka.h>

#include <string>
#include <vector>

#include "common/redis/redis_pool.hpp"
#include "worker/dead_letter.hpp"
#include "worker/revalidator.hpp"
#include "worker/worker_config.hpp"
#include "worker/worker_metrics.hpp"

namespace stripe_sync::worker {

class BatchApplier {
 public:
  // `revalidator` may be null (WORKER_REVALIDATE=0).
  BatchApplier(const WorkerConfig& config, RedisPool& redis, DeadLetterWriter& dead_letters, Revalidator* revalidator,
               WorkerMetrics& metrics, WorkerCounters& counters)
      : config_(config), redis_(redis), dead_letters_(dead_letters), revalidator_(revalidator), metrics_(metrics),
        counters_(counters) {}

  // True when every message of `batch` has a durable outcome (its offsets may be committed).
  // False when nothing durable can be said: retry it all (the processed markers make a second
  // apply of the same events harmless); `retry_code` says why (the Redis error class, or "dlq").
  bool apply(const std::vector<rd_kafka_message_t*>& batch, std::string& retry_code);

 private:
  const WorkerConfig& config_;
  RedisPool& redis_;
  DeadLetterWriter& dead_letters_;
  Revalidator* revalidator_;
  WorkerMetrics& metrics_;
  WorkerCounters& counters_;
};

}  // namespace stripe_sync::worker
