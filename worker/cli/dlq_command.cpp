// stripe-sync dlq list | dlq replay: what was dead-lettered, and putting it back.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <set>

#include "common/core/config.hpp"
#include "common/kafka/kafka_producer.hpp"
#include "common/core/log.hpp"
#include "common/kafka/topic_reader.hpp"
#include "common/core/time.hpp"
#include "worker/cli/cli_commands.hpp"

namespace stripe_sync::cli {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {
const SettingSpec kDlqSettings[] = {
    {"KAFKA_BROKERS", "", "Kafka bootstrap servers, host:port[,host:port]", true},
    {"KAFKA_TOPIC", "stripe.events", "topic replayed events go back to"},
    {"KAFKA_DLQ_TOPIC", "stripe.events.dlq", "the dead-letter topic"},
    {"", "100", "list: how many entries at most (oldest first)", false, false, "limit"},
    {"", "", "replay: only this event id (repeat for several)", false, false, "event-id", false, true},
    {"", "", "replay: only events of this type", false, false, "type"},
    {"", "", "replay: only events dead-lettered at or after this UTC time (2026-11-24T10:00:00Z)", false, false, "since"},
    {"", "", "replay: say what would be replayed, send nothing", false, false, "dry-run", true},
    {"LOG_LEVEL", "warn", "debug, info, warn or error"},
};

constexpr const char* kUsage =
    "stripe-sync dlq list [--limit N]\n"
    "       stripe-sync dlq replay [--event-id ID]... [--type T] [--since ISO8601] [--dry-run]\n\n"
    "list prints one JSON object a dead-lettered event. replay sends the original bytes, key and\n"
    "headers back to the events topic with source=replay (the worker dedupes by event id, so a\n"
    "replay of something already applied does nothing) and says how many it sent.";

json::object describe(const StoredMessage& m) {
  json::object o;
  o["event_id"] = m.header("stripe-event-id");
  o["type"] = m.header("stripe-event-type");
  o["key"] = m.key;
  o["source"] = m.header("source");  // webhook, backfill, replay, thin
  // A thin notification says what it names (its replay is fetched again, not applied).
  if (std::string thin = m.header("stripe-thin-type"); !thin.empty()) {
    o["thin_type"] = thin;
    o["related_object"] = m.header("stripe-related-object");
  }
  o["reason"] = m.header("dlq-reason");
  o["error"] = m.header("dlq-error");
  o["source_partition"] = m.header("dlq-source-partition");
  o["source_offset"] = m.header("dlq-source-offset");
  std::string at = m.header("dlq-at-ms");
  o["dead_lettered_at"] = at.empty() ? std::string() : rfc3339_utc_ms(std::stoll(at));
  o["dlq_partition"] = m.partition;
  o["dlq_offset"] = m.offset;
  return o;
}
}  // namespace

// "2026-11-24T10:00:00Z" or "2026-11-24" as unix ms; throws ConfigError otherwise.
std::int64_t parse_utc_ms(const std::string& text) {
  auto t = parse_utc_time(text);
  if (!t) throw ConfigError("--since must be an ISO 8601 UTC time such as 2026-11-24T10:00:00Z, got '" + text + "'");
  return *t * 1000;
}

int run_dlq(const std::vector<std::string>& args) {
  auto s = Settings::load(kDlqSettings, args, ::getenv);
  if (s.help_requested()) {
    std::fputs(Settings::help_text(kUsage, kDlqSettings).c_str(), stdout);
    return 0;
  }
  log::configure(log::parse_level(s.get("LOG_LEVEL")), log::Format::json, "stripe-sync");
  if (s.positional().size() != 1 || (s.positional()[0] != "list" && s.positional()[0] != "replay")) {
    throw ConfigError("usage: stripe-sync dlq list|replay [options] (see --help)");
  }
  auto messages = read_topic(s.get("KAFKA_BROKERS"), s.get("KAFKA_DLQ_TOPIC"));

  if (s.positional()[0] == "list") {
    auto limit = static_cast<std::size_t>(s.get_int("limit", 1, 100000000));
    for (std::size_t i = 0; i < messages.size() && i < limit; ++i) {
      std::cout << json::serialize(describe(messages[i])) << "\n";
    }
    return 0;
  }

  auto ids_list = s.get_list("event-id");
  std::set<std::string> ids(ids_list.begin(), ids_list.end());
  const std::string& type = s.get("type");
  std::int64_t since = s.is_set("since") ? parse_utc_ms(s.get("since")) : 0;
  bool dry_run = s.get_bool("dry-run");
  std::vector<const StoredMessage*> chosen;
  for (const auto& m : messages) {
    if (!ids.empty() && !ids.count(m.header("stripe-event-id"))) continue;
    if (!type.empty() && m.header("stripe-event-type") != type) continue;
    std::string at = m.header("dlq-at-ms");
    if (since > 0 && (at.empty() || std::stoll(at) < since)) continue;
    chosen.push_back(&m);
  }
  if (dry_run) {
    for (const auto* m : chosen) std::cout << json::serialize(describe(*m)) << "\n";
    std::cout << "would replay " << chosen.size() << " of " << messages.size()
              << " dead-lettered events (dry run: nothing sent)\n";
    return 0;
  }

  ProducerConfig pc;
  pc.brokers = s.get("KAFKA_BROKERS");
  pc.topics = {s.get("KAFKA_TOPIC")};
  pc.client_id = "stripe-sync-replay";
  pc.message_timeout = 30s;
  KafkaProducer producer(pc);
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  std::size_t sent = 0, failed = 0, done = 0;
  for (const auto* m : chosen) {
    OutgoingMessage out;
    out.topic = pc.topics[0];
    out.key = m->key;
    out.value = m->value;
    for (const auto& [name, value] : m->headers) {
      if (name.rfind("dlq-", 0) == 0 || name == "source") continue;
      out.headers.push_back({name, value});
    }
    out.headers.push_back({"source", "replay"});
    producer.publish(std::move(out), ioc.get_executor(), [&, m](PublishResult r) {
      ++done;
      if (r.status == PublishStatus::ok) {
        ++sent;
      } else {
        ++failed;
        std::cerr << "not replayed: " << m->header("stripe-event-id") << ": " << r.error << "\n";
      }
    });
  }
  while (done < chosen.size()) ioc.run_one_for(100ms);
  std::cout << "replayed " << sent << " of " << messages.size() << " dead-lettered events";
  if (failed) std::cout << " (" << failed << " failed)";
  std::cout << "\n";
  return failed ? 1 : 0;
}

}  // namespace stripe_sync::cli
