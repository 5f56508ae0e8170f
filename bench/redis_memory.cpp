// Redis memory per event: applies N events for C customers through the one apply path
// (event_extract, EventStore, apply_change.lua) to the redis-server at HOST:PORT, then reports
// used_memory's growth per event and per customer, and what each class of key holds (MEMORY
// USAGE of every key, by kind): the processed markers, the audit streams, the records.
// Each customer's events alternate customer.updated and customer.subscription.updated, spread
// evenly over DAYS days in increasing `created`, as a month of a real account would be.
//   redis_memory HOST PORT EVENTS CUSTOMERS DAYS       (bench/redis_memory.sh runs it)
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "common/billing/event_extract.hpp"
#include "common/billing/event_store.hpp"
#include "common/redis/redis_client.hpp"

namespace {

using namespace stripe_sync;

boost::json::object fixture(const std::string& type) {
  std::ifstream in(std::string(STRIPE_SYNC_FIXTURES_DIR) + "/events/" + type + ".json");
  std::ostringstream ss;
  ss << in.rdbuf();
  return boost::json::parse(ss.str()).as_object();
}

long long used_memory(RedisClient& redis) {
  auto info = redis.command({"INFO", "memory"});
  if (!info || info->is_error()) throw std::runtime_error("INFO memory failed");
  auto at = info->str.find("used_memory:");
  return std::stoll(info->str.substr(at + 12));
}

// The kind of one of our keys, from its last parts (common/billing/keys.hpp).
std::string kind_of(const std::string& key) {
  if (key.find("}:event") != std::string::npos) return "processed markers";
  if (key.size() > 6 && key.compare(key.size() - 6, 6, ":audit") == 0) return "audit streams";
  return "records and indexes";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: redis_memory HOST PORT EVENTS CUSTOMERS DAYS\n";
    return 2;
  }
  RedisEndpoint endpoint;
  endpoint.host = argv[1];
  endpoint.port = static_cast<std::uint16_t>(std::stoi(argv[2]));
  const long n = std::stol(argv[3]), customers = std::stol(argv[4]), days = std::stol(argv[5]);
  RedisClient redis(endpoint, std::chrono::seconds(30));
  StoreConfig config;
  EventStore store(redis, config);
  const long long before = used_memory(redis);

  const auto customer_tmpl = fixture("customer.updated"), sub_tmpl = fixture("customer.subscription.updated");
  const long per_customer = std::max(1L, n / customers);
  const std::int64_t start = 1795500000, spacing = std::max<std::int64_t>(1, days * 86400 / per_customer);
  std::vector<ChangeRecord> batch;
  std::map<std::string, long> outcomes;
  for (long i = 0; i < n; ++i) {
    const long c = i % customers, k = i / customers;
    const bool sub = k % 2 == 1;
    auto ev = sub ? sub_tmpl : customer_tmpl;
    const std::string cus = "cus_mem" + std::to_string(c);
    ev["id"] = "evt_mem" + std::to_string(i) + "_" + std::to_string(1000000000 + i);  // Stripe's ids are ~28 chars
    ev["created"] = start + k * spacing;
    auto& obj = ev["data"].as_object()["object"].as_object();
    if (sub) {
      obj["id"] = "sub_mem" + std::to_string(c);
      obj["customer"] = cus;
      obj["status"] = k % 4 == 1 ? "past_due" : "active";
    } else {
      obj["id"] = cus;
      obj["email"] = cus + "-" + std::to_string(k) + "@example.com";
    }
    ChangeRecord r;
    if (extract_change(boost::json::serialize(ev), r).status != ExtractStatus::record) {
      std::cerr << "a generated event was not a record\n";
      return 1;
    }
    batch.push_back(std::move(r));
    if (batch.size() == 256 || i + 1 == n) {
      auto results = store.apply(batch, (start + k * spacing) * 1000);
      if (!results) {
        std::cerr << "apply failed: " << results.error().message << "\n";
        return 1;
      }
      for (const auto& res : *results) ++outcomes[std::string(to_string(res.outcome))];
      batch.clear();
    }
  }
  const long long after = used_memory(redis);

  // Every key's MEMORY USAGE, by kind.
  std::map<std::string, std::pair<long long, long>> by_kind;
  std::string cursor = "0";
  do {
    auto page = redis.command({"SCAN", cursor, "COUNT", "1000"});
    if (!page || page->is_error()) throw std::runtime_error("SCAN failed");
    cursor = page->elements[0].str;
    std::vector<std::vector<std::string_view>> usage;
    for (const auto& key : page->elements[1].elements) usage.push_back({"MEMORY", "USAGE", key.str, "SAMPLES", "0"});
    if (usage.empty()) continue;
    auto sizes = redis.pipeline(usage);
    if (!sizes) throw std::runtime_error("MEMORY USAGE failed");
    for (std::size_t j = 0; j < sizes->size(); ++j) {
      auto& slot = by_kind[kind_of(page->elements[1].elements[j].str)];
      slot.first += (*sizes)[j].integer;
      ++slot.second;
    }
  } while (cursor != "0");

  std::cout << "events: " << n << " (" << customers << " customers, " << days << " days)";
  for (const auto& [o, count] : outcomes) std::cout << ", " << o << " " << count;
  std::cout << "\nused_memory growth: " << (after - before) << " B, " << (after - before) / n << " B per event, "
            << (after - before) / customers << " B per customer\n";
  for (const auto& [kind, v] : by_kind) {
    std::cout << kind << ": " << v.second << " keys, " << v.first << " B, " << v.first / n << " B per event, "
              << v.first / customers << " B per customer\n";
  }
  return 0;
}
