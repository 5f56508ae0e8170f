#pragma once
// The idempotent, acks=all Kafka producer. Delivery reports are taken off librdkafka's threads
// and posted to the executor the caller named, so a request's completion runs on that request's
// strand. Who takes them: a poll thread of the producer's own, or, given an io_context, that
// context's threads (librdkafka signals an eventfd when reports are waiting; a handler there
// polls), which saves a thread hop and a wake-up per report on the ingress's hot path.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/kafka/event_publisher.hpp"

namespace boost::asio {
class io_context;
}

namespace stripe_sync {

struct ProducerConfig {
  std::string brokers;                              // bootstrap.servers
  std::vector<std::string> topics;                  // every topic this producer writes to
  std::chrono::milliseconds message_timeout{5000};  // delivery deadline (message.timeout.ms)
  std::chrono::milliseconds linger{1};              // linger.ms: batching vs latency
  std::size_t max_message_bytes = 1 << 20;          // message.max.bytes
  std::string client_id = "stripe-sync";
  std::map<std::string, std::string> extra;         // further librdkafka properties
};

class KafkaProducer final : public EventPublisher {
 public:
  // Throws ConfigError when librdkafka refuses the configuration.
  explicit KafkaProducer(const ProducerConfig& config);
  // Reports are served on `reports_on`'s threads. The context must outlive the producer; it
  // need not be running when the producer is destroyed (the destructor polls for itself).
  KafkaProducer(const ProducerConfig& config, boost::asio::io_context& reports_on);
  ~KafkaProducer() override;  // flushes for at most 1 s, then purges

  void publish(OutgoingMessage message, boost::asio::any_io_executor executor,
               PublishHandler done) override;

  // Waits up to `deadline` for every queued message to be delivered; what remains is purged
  // (its handlers run with timed_out). Returns the number of messages that were purged.
  int flush(std::chrono::milliseconds deadline);

  // Asks a broker for metadata (a blocking round trip: never call it on an I/O thread).
  bool broker_reachable(std::chrono::milliseconds timeout);

  // The offsets each partition of `topic` holds now, [low, high); empty for a topic that does
  // not exist; nullopt when the broker does not answer within `timeout` (blocking, like
  // broker_reachable).
  struct PartitionOffsets {
    std::int32_t partition = 0;
    std::int64_t low = 0, high = 0;
  };
  std::optional<std::vector<PartitionOffsets>> watermarks(const std::string& topic, std::chrono::milliseconds timeout);
  // Messages currently held by `topic` (high minus low watermark, summed over its partitions).
  std::optional<std::int64_t> messages_in(const std::string& topic, std::chrono::milliseconds timeout);

  std::size_t in_flight() const;

 private:
  void create(const ProducerConfig& config);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stripe_sync
