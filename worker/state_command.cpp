// stripe-sync state customer <id> and stripe-sync audit <id>: what Redis holds for a customer.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "common/config.hpp"
#include "common/redis_client.hpp"
#include "worker/cli_commands.hpp"

namespace stripe_sync::cli {

namespace json = boost::json;

namespace {
const SettingSpec kStateSettings[] = {
    {"REDIS_URL", "redis://127.0.0.1:6379/0", "redis://[[user]:password@]host:port[/db]"},
    {"REDIS_PREFIX", "stripe:", "prefix of every Redis key"},
    {"", "20", "audit: how many entries, newest first", false, false, "limit"},
};

// Fields kept as JSON text in Redis come back as JSON, not as strings in strings.
bool is_json_field(std::string_view name) { return name == "address" || name == "items"; }

json::value hash_to_json(const RedisValue& v) {
  if (v.type != RedisValue::Type::array || v.elements.empty()) return nullptr;
  json::object o;
  for (std::size_t i = 0; i + 1 < v.elements.size(); i += 2) {
    const std::string& k = v.elements[i].str;
    const std::string& val = v.elements[i + 1].str;
    if (is_json_field(k) && !val.empty()) {
      boost::system::error_code ec;
      json::value parsed = json::parse(val, ec);
      o[k] = ec ? json::value(val) : parsed;
    } else {
      o[k] = val;
    }
  }
  return o;
}

RedisValue must(Result<RedisValue> v, const RedisClient& c) {
  if (!v) throw std::runtime_error(c.last_error());
  if (v->is_error()) throw std::runtime_error("Redis: " + v->str);
  return std::move(*v);
}

struct Loaded {
  Settings settings;
  std::unique_ptr<RedisClient> redis;
  std::string base;  // "stripe:{cus_...}:"
};

Loaded load(const std::vector<std::string>& args, const char* usage) {
  auto s = Settings::load(kStateSettings, args, ::getenv);
  if (s.help_requested()) {
    std::fputs(Settings::help_text(usage, kStateSettings).c_str(), stdout);
    std::exit(0);
  }
  if (s.positional().size() != 1) throw ConfigError(std::string("usage: ") + usage);
  auto redis = std::make_unique<RedisClient>(parse_redis_url(s.get("REDIS_URL")), std::chrono::seconds(5));
  std::string base = s.get("REDIS_PREFIX") + "{" + s.positional()[0] + "}:";
  return {std::move(s), std::move(redis), std::move(base)};
}

json::array members_of(RedisClient& redis, const std::string& base, const std::string& set,
                       const std::string& kind) {
  json::array out;
  auto ids = must(redis.command({"SMEMBERS", base + set}), redis);
  std::vector<std::string> sorted;
  for (const auto& e : ids.elements) sorted.push_back(e.str);
  std::sort(sorted.begin(), sorted.end());
  for (const auto& id : sorted) {
    out.push_back(hash_to_json(must(redis.command({"HGETALL", base + kind + ":" + id}), redis)));
  }
  return out;
}
}  // namespace

int run_state(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "customer") {
    throw ConfigError("usage: stripe-sync state customer <cus_id>");
  }
  auto l = load({args.begin() + 1, args.end()}, "stripe-sync state customer <cus_id>\n\n"
                "Prints the customer, their live subscriptions and payment methods as one JSON document.");
  json::object doc;
  doc["customer"] = hash_to_json(must(l.redis->command({"HGETALL", l.base + "customer"}), *l.redis));
  doc["subscriptions"] = members_of(*l.redis, l.base, "subscriptions", "subscription");
  doc["payment_methods"] = members_of(*l.redis, l.base, "payment_methods", "payment_method");
  std::cout << json::serialize(doc) << "\n";
  return doc["customer"].is_null() && doc["subscriptions"].as_array().empty() ? 3 : 0;
}

int run_audit(const std::vector<std::string>& args) {
  auto l = load(args, "stripe-sync audit <cus_id> [--limit N]\n\n"
                "Prints the customer's audit trail, newest first, one JSON object a line.");
  std::string limit = std::to_string(l.settings.get_int("limit", 1, 1000000));
  auto entries = must(l.redis->command({"XREVRANGE", l.base + "audit", "+", "-", "COUNT", limit}), *l.redis);
  for (const auto& e : entries.elements) {
    json::object o;
    o["id"] = e.elements[0].str;
    const auto& kv = e.elements[1].elements;
    for (std::size_t i = 0; i + 1 < kv.size(); i += 2) o[kv[i].str] = kv[i + 1].str;
    std::cout << json::serialize(o) << "\n";
  }
  return 0;
}

}  // namespace stripe_sync::cli
