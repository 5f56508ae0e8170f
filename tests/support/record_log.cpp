#include "tests/support/record_log.hpp"

#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace stripe_sync::test {

namespace json = boost::json;

namespace {

void append(const json::object& line) {
  static const char* dir = std::getenv("STRIPE_SYNC_RESPONSE_LOG_DIR");
  if (dir == nullptr || *dir == '\0') return;
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::filesystem::create_directories(dir);
  std::ofstream out(std::string(dir) + "/records-" + std::to_string(::getpid()) + ".jsonl", std::ios::app);
  out << json::serialize(line) << "\n";
}

json::object pairs(const RedisValue& flat) {
  json::object o;
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) o[flat.elements[i].str] = flat.elements[i + 1].str;
  return o;
}

}  // namespace

void record_redis_records(RedisClient& redis) {
  if (std::getenv("STRIPE_SYNC_RESPONSE_LOG_DIR") == nullptr) return;
  auto keys = redis.on_every_master({"KEYS", "*"});
  if (!keys) return;
  for (const auto& [node, reply] : *keys) {
    for (const auto& k : reply.elements) {
      const std::string& key = k.str;
      auto type = redis.command({"TYPE", key});
      if (!type || type->is_error()) continue;
      json::object line{{"key", key}, {"type", type->str}};
      Result<RedisValue> v = Error{ErrorClass::permanent, "type", "unknown"};
      if (type->str == "hash") {
        v = redis.command({"HGETALL", key});
        if (v) line["value"] = pairs(*v);
      } else if (type->str == "set") {
        v = redis.command({"SMEMBERS", key});
        json::array members;
        if (v) for (const auto& m : v->elements) members.push_back(json::string(m.str));
        line["value"] = members;
      } else if (type->str == "zset") {
        v = redis.command({"ZRANGE", key, "0", "-1", "WITHSCORES"});
        json::object scores;
        if (v) for (std::size_t i = 0; i + 1 < v->elements.size(); i += 2) scores[v->elements[i].str] = std::stod(v->elements[i + 1].str);
        line["value"] = scores;
      } else if (type->str == "string") {
        v = redis.command({"GET", key});
        if (v) line["value"] = v->str;
      } else if (type->str == "stream") {
        v = redis.command({"XRANGE", key, "-", "+"});
        json::array entries;
        if (v) for (const auto& e : v->elements) if (e.elements.size() == 2) entries.push_back(pairs(e.elements[1]));
        line["value"] = entries;
      }
      if (!v || v->is_error()) continue;  // gone in between (a marker's TTL): nothing to check
      append(line);
    }
  }
}

void record_kafka_headers(const std::string& schema, const std::map<std::string, std::string>& headers) {
  json::object value;
  for (const auto& [k, v] : headers) value[k] = v;
  append(json::object{{"kafka", schema}, {"value", value}});
}

}  // namespace stripe_sync::test
