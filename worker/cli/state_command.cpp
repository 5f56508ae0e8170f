// stripe-sync state customer <id> and stripe-sync audit <id>: what Redis holds for a customer.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "common/core/config.hpp"
#include "common/billing/event_store.hpp"
#include "common/billing/state_reader.hpp"
#include "common/redis/redis_client.hpp"
#include "worker/cli/cli_commands.hpp"

namespace stripe_sync::cli {

namespace json = boost::json;

namespace {
const SettingSpec kStateSettings[] = {
    {"REDIS_URL", "redis://127.0.0.1:6379/0", "redis://[[user]:password@]host:port[/db]"},
    kRedisPrefixSetting,
    {"", "20", "audit: how many entries, newest first", false, false, "limit"},
};

// Fields kept as JSON text in Redis come back as JSON, not as strings in strings.
bool is_json_field(std::string_view name) { return name == "address" || name == "items"; }

json::value fields_to_json(const ObjectFields& fields) {
  if (fields.empty()) return nullptr;
  json::object o;
  for (const auto& [k, val] : fields) {
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
  Keys keys;
  std::string customer;
};

Loaded load(const std::vector<std::string>& args, const char* usage) {
  auto s = Settings::load(kStateSettings, args, ::getenv);
  if (s.help_requested()) {
    std::fputs(Settings::help_text(usage, kStateSettings).c_str(), stdout);
    std::exit(0);
  }
  if (s.positional().size() != 1) throw ConfigError(std::string("usage: ") + usage);
  auto redis = std::make_unique<RedisClient>(parse_redis_url(s.get("REDIS_URL")), std::chrono::seconds(5));
  Keys keys(s.get("REDIS_PREFIX"));
  std::string customer = s.positional()[0];
  return {std::move(s), std::move(redis), std::move(keys), std::move(customer)};
}

json::array members_of(const std::map<std::string, ObjectFields>& objects) {
  json::array out;
  for (const auto& [id, fields] : objects) out.push_back(fields_to_json(fields));  // by id
  return out;
}
}  // namespace

int run_state(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "customer") {
    throw ConfigError("usage: stripe-sync state customer <cus_id>");
  }
  auto l = load({args.begin() + 1, args.end()}, "stripe-sync state customer <cus_id>\n\n"
                "Prints the customer, their live subscriptions and payment methods as one JSON document.");
  auto state = read_customer_state(*l.redis, l.keys, l.customer, SyncFields::keep);
  if (!state) throw std::runtime_error(state.error().message);
  json::object doc;
  doc["customer"] = fields_to_json(state->customer);
  doc["subscriptions"] = members_of(state->subscriptions);
  doc["payment_methods"] = members_of(state->payment_methods);
  std::cout << json::serialize(doc) << "\n";
  return doc["customer"].is_null() && doc["subscriptions"].as_array().empty() ? 3 : 0;
}

int run_audit(const std::vector<std::string>& args) {
  auto l = load(args, "stripe-sync audit <cus_id> [--limit N]\n\n"
                "Prints the customer's audit trail, newest first, one JSON object a line.");
  std::string limit = std::to_string(l.settings.get_int("limit", 1, 1000000));
  auto entries = must(l.redis->command({"XREVRANGE", l.keys.audit(l.customer), "+", "-", "COUNT", limit}), *l.redis);
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
