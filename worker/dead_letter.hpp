#pragma once
// The dead-letter topic (KAFKA_DLQ_TOPIC): a message that can never apply is produced there with
// its original key, value and headers plus dlq-reason, dlq-error, dlq-source-partition,
// dlq-source-offset and dlq-at-ms (DESIGN.md), and the caller waits for the broker's answer.
#include <librdkafka/rdkafka.h>

#include <string>

#include "common/core/result.hpp"
#include "common/kafka/event_publisher.hpp"

namespace stripe_sync::worker {

class DeadLetterWriter {
 public:
  DeadLetterWriter(EventPublisher& producer, std::string topic) : producer_(producer), topic_(std::move(topic)) {}
  // Ok once the broker has it; a transient Error (code "dlq", logged) when the produce failed:
  // the batch is retried.
  Status write(const rd_kafka_message_t* m, const std::string& reason, const std::string& error);

 private:
  EventPublisher& producer_;
  std::string topic_;
};

}  // namespace stripe_sync::worker
