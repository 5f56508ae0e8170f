#pragma once
// The headers of a consumed message, read in one place: by the worker (routing, metrics, the
// dead-letter copy) and the topic reader (dlq list / replay).
#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stripe_sync::kafka {

// The last value of header `name`, or empty when the message has none.
std::string header_value(const rd_kafka_message_t* m, const char* name);

// Every header in order, repeats kept, as views into the message (valid while it lives).
std::vector<std::pair<std::string_view, std::string_view>> headers_of(const rd_kafka_message_t* m);

}  // namespace stripe_sync::kafka
