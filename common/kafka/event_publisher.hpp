#pragma once
// The seam between the HTTP side and Kafka: publish one message, learn asynchronously whether
// the broker has it. KafkaProducer is the real implementation; handler tests use a fake.
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace stripe_sync {

struct MessageHeader {
  std::string_view name;
  std::string_view value;
};

struct OutgoingMessage {
  std::string_view topic;
  std::string_view key;    // copied by the producer
  std::string_view value;  // NOT copied: `owner` keeps it alive until the completion runs
  std::vector<MessageHeader> headers;  // copied by the producer
  std::shared_ptr<const void> owner;
};

enum class PublishStatus {
  ok,
  timed_out,    // not acknowledged within the producer's message timeout: retryable
  unavailable,  // queue full, no broker, transport error: retryable
  too_large,    // the broker will never take it
  fatal,        // the producer is unusable (e.g. fenced idempotent producer)
};

struct PublishResult {
  PublishStatus status = PublishStatus::ok;
  std::string error;  // librdkafka's message, for logs
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  bool retryable() const {
    return status == PublishStatus::timed_out || status == PublishStatus::unavailable;
  }
};

using PublishHandler = std::function<void(PublishResult)>;

class EventPublisher {
 public:
  virtual ~EventPublisher() = default;
  // `done` runs exactly once, on `executor`, never inside publish() itself.
  virtual void publish(OutgoingMessage message, boost::asio::any_io_executor executor,
                       PublishHandler done) = 0;
};

}  // namespace stripe_sync
