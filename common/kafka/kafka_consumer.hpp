#pragma once
// A group consumer of one topic that owns its librdkafka handle (in the style of
// modern-cpp-kafka's KafkaConsumer): offsets are never committed automatically, only the ones
// the caller stores with commit(); a rebalance is handed to the caller's RebalanceHandler, and a
// revoke commits what was stored synchronously before the partitions go. Not thread-safe except
// where said: one thread polls (and so runs the rebalance callbacks); pause, resume, commit and
// the offset queries may come from others, as librdkafka allows.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "common/kafka/kafka_handles.hpp"

namespace stripe_sync::kafka {

struct ConsumerConfig {
  std::string brokers;
  std::string group;
  std::string topic;
  std::string client_id = "stripe-sync";
  std::chrono::milliseconds fetch_wait{100};        // fetch.wait.max.ms
  std::chrono::milliseconds session_timeout{6000};  // a dead member's partitions move this soon
  std::map<std::string, std::string> extra;         // further librdkafka properties
};

class RebalanceHandler {
 public:
  virtual ~RebalanceHandler() = default;
  // On the polling thread, inside poll() or close().
  virtual void on_assigned(std::span<const std::int32_t> partitions) = 0;
  // Must return once nothing more will be stored for these partitions.
  virtual void on_revoked(std::span<const std::int32_t> partitions) = 0;
};

class KafkaConsumer {
 public:
  // Throws ConfigError when librdkafka refuses a setting.
  KafkaConsumer(ConsumerConfig config, RebalanceHandler& rebalance);
  ~KafkaConsumer();  // close()s if still open
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  // Joins the group for the topic; false (logged) when librdkafka refuses.
  bool subscribe();
  // The next message, or null after `timeout`; errors other than end-of-partition are logged and
  // skipped (librdkafka retries them itself).
  MessagePtr poll(std::chrono::milliseconds timeout);

  void pause(std::int32_t partition);
  void resume(std::int32_t partition);
  // Stores `next_offset` (everything before it has a durable outcome) and commits it
  // asynchronously.
  void commit(std::int32_t partition, std::int64_t next_offset);
  // The high watermark as the fetcher last saw it (no round trip), when known.
  std::optional<std::int64_t> high_watermark(std::int32_t partition) const;
  // The consumer's position in the partition, when known.
  std::optional<std::int64_t> position(std::int32_t partition) const;

  // Leaves the group (revoking, so stored offsets are committed). Idempotent.
  void close();

 private:
  void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  PartitionListPtr list(std::int32_t partition) const;

  ConsumerConfig config_;
  RebalanceHandler& rebalance_;
  HandlePtr handle_;
  bool closed_ = false;
};

}  // namespace stripe_sync::kafka
