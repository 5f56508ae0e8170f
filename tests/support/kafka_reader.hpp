#pragma once
// Reads back what a topic holds, through a real Kafka client (librdkafka consumer).
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace stripe_sync::test {

struct StoredMessage {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
};

// The number of messages in the topic (sum of high watermarks of its partitions).
std::int64_t topic_message_count(const std::string& bootstrap, const std::string& topic);

// Every message of the topic, from the beginning of each partition to its high watermark.
std::vector<StoredMessage> read_topic(const std::string& bootstrap, const std::string& topic,
                                      std::chrono::milliseconds deadline = std::chrono::seconds(20));

}  // namespace stripe_sync::test
