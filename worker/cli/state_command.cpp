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
#include "common/billing/customer_document.hpp"
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

}  // namespace

int run_state(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "customer") {
    throw ConfigError("usage: stripe-sync state customer <cus_id>");
  }
  auto l = load({args.begin() + 1, args.end()}, "stripe-sync state customer <cus_id>\n\n"
                "Prints the customer's synced state as one typed JSON document, the same one\n"
                "GET /api/payment/customers/{id} answers: the customer, live subscriptions, payment\n"
                "methods, active entitlements, newest invoices, and _sync. Exit 3: no such customer.");
  auto doc = read_customer_document(*l.redis, l.keys, l.customer);
  if (!doc) throw std::runtime_error(doc.error().message);
  if (!*doc) {
    std::cout << "null\n";
    return 3;
  }
  std::cout << json::serialize(**doc) << "\n";
  return 0;
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
