// stripe-sync backfill: pages through Stripe's event list (GET /v1/events, newest first) and
// produces every event to the events topic with source=backfill, as the webhook would have.
// With --thin it pages the thin list (GET /v2/core/events, following next_page_url) and produces
// each as a thin notification: the worker queues a fetch of its related object.
// Running it twice is harmless: the worker dedupes by event id (thin: by notification id).
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <memory>
#include <optional>

#include "common/core/config.hpp"
#include "common/billing/envelope.hpp"
#include "common/billing/event_store.hpp"
#include "common/billing/keys.hpp"
#include "common/billing/event_message.hpp"
#include "common/kafka/kafka_producer.hpp"
#include "common/core/log.hpp"
#include "common/redis/redis_client.hpp"
#include "common/redis/redis_pool.hpp"
#include "common/redis/redis_probe.hpp"
#include "common/stripe/stripe_client.hpp"
#include "common/stripe/stripe_rate_limit.hpp"
#include "common/core/time.hpp"
#include "worker/cli/cli_commands.hpp"

namespace stripe_sync::cli {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const SettingSpec kSettings[] = {
    {"KAFKA_BROKERS", "", "Kafka bootstrap servers, host:port[,host:port]", true},
    {"KAFKA_TOPIC", "stripe.events", "topic the events are produced to"},
    {"STRIPE_API_KEY", "", "Stripe secret or restricted key with read access to events", true, true},
    {"STRIPE_API_BASE", "https://api.stripe.com", "Stripe's API origin"},
    {"STRIPE_CA_FILE", "", "an extra CA certificate file to trust (the system store is always used)"},
    {"REDIS_URL", "", "when set: the request budget shared with the other processes, and --undelivered's cursor"},
    kRedisPrefixSetting,
    {"", "", "events created at or after this: ISO 8601 UTC (2026-11-24T10:00:00Z) or a duration back "
             "from now (90m, 6h, 3d)", false, false, "since"},
    {"", "", "only events of this type (repeat for several)", false, false, "type", false, true},
    {"", "", "only events Stripe has not delivered (delivery_success=false); without --since it continues "
             "from the cursor kept in Redis (REDIS_URL), or the last 30 days the first time",
     false, false, "undelivered", true},
    {"", "", "page the thin events of an event destination (GET /v2/core/events) instead of the snapshot "
             "events; each becomes a fetch of its related object", false, false, "thin", true},
    {"", "", "print the events that would be produced; produce nothing", false, false, "dry-run", true},
    {"LOG_LEVEL", "warn", "debug, info, warn or error"},
};

constexpr const char* kUsage =
    "stripe-sync backfill --since <ISO8601|duration> [--type T]... [--thin] [--dry-run]\n"
    "       stripe-sync backfill --undelivered [--since ...] [--type T]...\n\n"
    "Pages through Stripe's GET /v1/events (100 a page, 429s and Stripe-Should-Retry respected) and\n"
    "produces each event to KAFKA_TOPIC with source=backfill. Safe to run twice: the worker keeps\n"
    "each event id once and version stamps keep the newest state. Stripe keeps 30 days of events.\n"
    "--undelivered remembers where it got to in Redis, so a scheduled run fills gaps by itself.\n"
    "--thin pages GET /v2/core/events (types are v1.customer.updated and so on), following\n"
    "next_page_url, and produces each event as a thin notification (source=thin).";

constexpr std::int64_t kStripeRetentionS = 30 * 24 * 3600;
// The cursor is set this far before the run's start (Stripe's clock): an event created during
// the run, or a little before, is listed again next time rather than missed.
constexpr std::int64_t kCursorOverlapS = 300;

std::int64_t now_s() { return unix_ms_now() / 1000; }

// "90m", "6h", "3d", "45s", "2w" back from now, or an ISO 8601 UTC time; unix seconds.
std::int64_t parse_since(const std::string& text, std::int64_t now) {
  if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) {
    char* end = nullptr;
    long long n = std::strtoll(text.c_str(), &end, 10);
    if (end && end[0] != '\0' && end[1] == '\0' && n >= 0) {
      std::int64_t unit = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : end[0] == 'd' ? 86400
                        : end[0] == 'w' ? 7 * 86400 : 0;
      if (unit) return now - n * unit;
    }
  }
  try {
    return parse_utc_ms(text) / 1000;
  } catch (const ConfigError&) {
    throw ConfigError("--since must be an ISO 8601 UTC time (2026-11-24T10:00:00Z) or a duration (90m, 6h, 3d), got '" +
                      text + "'");
  }
}

std::string cursor_key(const std::string& prefix) { return Keys(prefix).backfill_cursor(); }

struct Totals {
  std::size_t listed = 0, produced = 0, failed = 0, unreadable = 0, pages = 0;
};

}  // namespace

int run_backfill(const std::vector<std::string>& args) {
  auto loaded = command_settings(kSettings, kUsage, args);
  if (!loaded) return 0;
  const Settings& s = *loaded;
  const bool undelivered = s.get_bool("undelivered");
  const bool dry_run = s.get_bool("dry-run");
  const bool thin = s.get_bool("thin");
  if (thin && undelivered) throw ConfigError("--thin cannot be used with --undelivered: /v2/core/events has no delivery filter");
  const std::int64_t started_s = now_s();

  std::optional<RedisPool> redis;
  if (!s.get("REDIS_URL").empty()) redis.emplace(parse_redis_url(s.get("REDIS_URL")), 2000ms);
  if (undelivered && !redis) throw ConfigError("--undelivered keeps its cursor in Redis: set REDIS_URL");

  std::int64_t since = 0;
  if (s.is_set("since")) {
    since = parse_since(s.get("since"), started_s);
  } else if (undelivered) {
    auto client = redis->acquire();
    auto v = client->command({"GET", cursor_key(s.get("REDIS_PREFIX"))});
    if (!v) throw std::runtime_error("Redis is not reachable: " + client->last_error());
    since = v->type == RedisValue::Type::string ? std::strtoll(v->str.c_str(), nullptr, 10)
                                                : started_s - kStripeRetentionS;
  } else {
    throw ConfigError("--since is required (or --undelivered); see --help");
  }

  StripeClientConfig sc;
  sc.api_base = s.get("STRIPE_API_BASE");
  sc.api_key = s.get("STRIPE_API_KEY");
  sc.ca_file = s.get("STRIPE_CA_FILE");
  sc.max_retries = 8;  // a long run meets 429s; each is waited out, not fatal
  StripeClient direct(sc);
  std::optional<StripeRateLimit> budget;
  std::optional<RateLimitedStripe> limited;
  if (redis) {
    budget.emplace(*redis, stripe_budget_config(sc.api_key, s.get("REDIS_PREFIX")));
    limited.emplace(direct, *budget, StripePriority::normal);
  }
  StripeApi& stripe = limited ? static_cast<StripeApi&>(*limited) : direct;

  std::optional<KafkaProducer> producer;
  ProducerConfig pc;
  pc.brokers = s.get("KAFKA_BROKERS");
  pc.topics = {s.get("KAFKA_TOPIC")};
  pc.client_id = "stripe-sync-backfill";
  pc.message_timeout = 60s;
  pc.linger = 5ms;
  if (!dry_run) producer.emplace(pc);

  // v2 takes the time as an RFC 3339 string (thin-events.md, section 5), v1 as unix seconds.
  std::string path = thin ? "/v2/core/events" : "/v1/events";
  json::object query{{"created", json::object{{"gte", thin ? json::value(rfc3339_utc_ms(since * 1000)) : json::value(since)}}},
                     {"limit", thin ? 20 : 100}};
  auto types = s.get_list("type");
  if (!types.empty()) {
    json::array a;
    for (const auto& t : types) a.emplace_back(t);
    query["types"] = std::move(a);
  }
  if (undelivered) query["delivery_success"] = false;

  const bool tty = ::isatty(STDERR_FILENO) == 1;
  Totals totals;
  std::int64_t stripe_clock = 0;  // Date of the first answer: where the next --undelivered starts
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  for (;;) {
    StripeResult r = stripe.get(path, query);
    if (!r.ok()) {
      std::cerr << "\nstripe-sync backfill: listing events failed after " << r.attempts << " attempt(s): "
                << to_string(r.error) << " (HTTP " << r.status << ") " << r.message << "\n";
      std::cout << "backfill stopped: " << totals.produced << " of " << totals.listed
                << " listed events produced; run it again (it is safe to repeat)\n";
      return 1;
    }
    if (stripe_clock == 0) stripe_clock = r.date_unix ? r.date_unix : now_s();
    boost::system::error_code ec;
    json::value page = json::parse(r.body, ec);
    const json::array* data = nullptr;
    if (!ec && page.is_object()) {
      if (auto* d = page.as_object().if_contains("data"); d && d->is_array()) data = &d->as_array();
    }
    if (!data) {
      std::cerr << "\nstripe-sync backfill: Stripe's answer is not an event list\n";
      return 1;
    }
    ++totals.pages;
    // A page is newest first: produce it oldest first, and wait for the broker before the next.
    std::deque<std::string> bodies;
    std::size_t pending = 0;
    for (auto it = data->rbegin(); it != data->rend(); ++it) {
      ++totals.listed;
      std::string body = json::serialize(*it);
      Envelope envelope;
      if (!read_envelope(body, envelope)) {
        ++totals.unreadable;
        log::warn("event from the list skipped: not a readable event");
        continue;
      }
      if (dry_run) {
        std::cout << json::serialize(json::object{{"event_id", envelope.id}, {"type", envelope.type},
                                                   {"created", envelope.created},
                                                   {"customer", envelope.partition_key()}})
                  << "\n";
        continue;
      }
      bodies.push_back(std::move(body));
      auto key = std::make_shared<std::string>(envelope.partition_key());
      auto env = std::make_shared<Envelope>(std::move(envelope));
      EventHeaders headers;
      OutgoingMessage m = event_message(pc.topics[0], *env, *key, bodies.back(), unix_ms_now(), "backfill", headers);
      ++pending;
      producer->publish(std::move(m), ioc.get_executor(), [&, env, key](PublishResult pr) {
        --pending;
        if (pr.status == PublishStatus::ok) {
          ++totals.produced;
        } else {
          ++totals.failed;
          log::error("event not produced", {{"event_id", env->id}, {"customer", *key}, {"error", pr.error}});
        }
      });
    }
    while (pending > 0) ioc.run_one_for(100ms);
    if (tty) {
      std::fprintf(stderr, "\rbackfill: page %zu, %zu events listed, %zu produced, %zu failed", totals.pages,
                   totals.listed, totals.produced, totals.failed);
      std::fflush(stderr);
    }
    const auto& o = page.as_object();
    if (thin) {
      // v2 pages by next_page_url (null on the last page), a path on the same API: anything else
      // is refused rather than followed with the key.
      const json::value* next = o.if_contains("next_page_url");
      if (next == nullptr || !next->is_string()) break;
      std::string_view url = next->as_string();
      if (!url.starts_with("/v2/core/events?") || data->empty()) {
        std::cerr << "\nstripe-sync backfill: Stripe's next_page_url is not a page of /v2/core/events\n";
        return 1;
      }
      path = std::string(url);
      query = {};
      continue;
    }
    bool more = o.if_contains("has_more") && o.at("has_more").is_bool() && o.at("has_more").as_bool();
    if (!more || data->empty() || !data->back().is_object() || !data->back().as_object().if_contains("id")) break;
    query["starting_after"] = data->back().as_object().at("id");
  }
  if (tty) std::fputs("\n", stderr);

  std::cout << (dry_run ? "backfill (dry run): " : "backfill: ") << totals.listed << " events listed, "
            << totals.produced << " produced, " << totals.failed << " failed, " << totals.unreadable
            << " unreadable, " << totals.pages << " page(s), created since " << rfc3339_utc_ms(since * 1000)
            << "\n";
  const bool complete = totals.failed == 0 && totals.unreadable == 0;
  if (undelivered && complete && !dry_run) {
    auto client = redis->acquire();
    std::string next = std::to_string(stripe_clock - kCursorOverlapS);
    if (!client->command({"SET", cursor_key(s.get("REDIS_PREFIX")), next})) {
      std::cerr << "stripe-sync backfill: the cursor could not be saved: " << client->last_error() << "\n";
      return 1;
    }
    std::cout << "cursor: the next --undelivered run starts at " << rfc3339_utc_ms(std::stoll(next) * 1000)
              << "\n";
  }
  return complete ? 0 : 1;
}

}  // namespace stripe_sync::cli
