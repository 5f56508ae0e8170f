#pragma once
// Reads what a topic holds, from the start of each partition to its high watermark, without a
// consumer group (nothing is committed). For the ops CLI (dlq list / replay) and the tests.
#include <chrono>
#include <cstdint>
#include <string_view>
#include <utility>
#include <string>
#include <vector>

namespace stripe_sync {

struct StoredMessage {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, repeats kept
  // The last value of a header, or empty.
  std::string header(std::string_view name) const;
};

// The number of messages in the topic (sum of high watermarks of its partitions).
std::int64_t topic_message_count(const std::string& bootstrap, const std::string& topic);

// Every message of the topic, from the beginning of each partition to its high watermark.
std::vector<StoredMessage> read_topic(const std::string& bootstrap, const std::string& topic,
                                      std::chrono::milliseconds deadline = std::chrono::seconds(20));

}  // namespace stripe_sync
