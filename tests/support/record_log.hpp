#pragma once
// With STRIPE_SYNC_RESPONSE_LOG_DIR set (ctest sets it), the e2e tests record what they leave
// behind, for tests/records/validate_records.py to check against schemas/records/: every Redis
// key with its value, and the headers of Kafka messages they read.
#include <map>
#include <string>

#include "common/redis/redis_client.hpp"

namespace stripe_sync::test {

// Every key on every master, with its type and value (hash, set, sorted set, string, stream).
void record_redis_records(RedisClient& redis);

// One message's headers; `schema` is "kafka_headers" or "dlq_headers".
void record_kafka_headers(const std::string& schema, const std::map<std::string, std::string>& headers);

}  // namespace stripe_sync::test
