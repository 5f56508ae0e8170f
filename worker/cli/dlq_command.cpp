// stripe-sync dlq list | dlq replay: what was dead-lettered, what became of it, and putting it
// back. Each entry's state (pending / replayed / resolved) is kept in Redis (worker/dlq_ledger.hpp).
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
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
#include "common/redis/redis_probe.hpp"
#include "worker/cli/cli_commands.hpp"
#include "worker/dlq_ledger.hpp"

namespace stripe_sync::cli {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {
const SettingSpec kDlqSettings[] = {
    {"KAFKA_BROKERS", "", "Kafka bootstrap servers, host:port[,host:port]", true},
    {"KAFKA_TOPIC", "stripe.events", "topic replayed events go back to"},
    {"KAFKA_DLQ_TOPIC", "stripe.events.dlq", "the dead-letter topic"},
    {"REDIS_URL", "redis://127.0.0.1:6379/0", "where each entry's state is kept: redis://[[user]:password@]host:port[/db]", false, true},
    kRedisPrefixSetting,
    kDedupeTtlSetting,
    kAuditMaxlenSetting,
    {"", "100", "list: how many entries at most (oldest first)", false, false, "limit"},
    {"", "", "list: only entries in this state: pending, replayed or resolved", false, false, "state"},
    {"", "", "list: print only how many entries there are (after --state)", false, false, "count", true},
    {"", "", "replay: only the pending entries (neither replayed nor resolved)", false, false, "pending", true},
    {"", "", "replay: only this event id (repeat for several)", false, false, "event-id", false, true},
    {"", "", "replay: only events of this type", false, false, "type"},
    {"", "", "replay: only events dead-lettered at or after this UTC time (2026-11-24T10:00:00Z)", false, false, "since"},
    {"", "", "replay: say what would be replayed, send nothing", false, false, "dry-run", true},
    {"LOG_LEVEL", "warn", "debug, info, warn or error"},
};

constexpr const char* kUsage =
    "stripe-sync dlq list [--limit N] [--state pending|replayed|resolved] [--count]\n"
    "       stripe-sync dlq replay [--pending] [--event-id ID]... [--type T] [--since ISO8601] [--dry-run]\n\n"
    "list prints one JSON object a dead-lettered event, with its state: pending, replayed (when,\n"
    "and by which command) or resolved (its outcome is durable in Redis after the replay).\n"
    "replay sends the original bytes, key and headers back to the events topic with\n"
    "source=replay (the worker dedupes by event id, so a replay of something already applied does\n"
    "nothing), records each entry as replayed, and says how many it sent.";

// When the entry was dead-lettered (its dlq-at-ms header), or nullopt when the header is missing
// or not a number: an entry written by hand lists and replays like any other.
std::optional<std::int64_t> dead_lettered_ms(const StoredMessage& m) {
  const std::string at = m.header("dlq-at-ms");
  std::int64_t ms = 0;
  auto [end, ec] = std::from_chars(at.data(), at.data() + at.size(), ms);
  if (at.empty() || ec != std::errc() || end != at.data() + at.size()) return std::nullopt;
  return ms;
}

// The state of each entry, from the records in Redis; nullopt when Redis could not be read.
using Records = std::optional<std::map<std::string, worker::DlqRecord>>;

worker::DlqState state_of(const StoredMessage& m, const std::map<std::string, worker::DlqRecord>& records) {
  auto it = records.find(worker::dlq_entry_id(m.partition, m.offset));
  return it == records.end() ? worker::DlqState::pending : it->second.state;
}

json::object describe(const StoredMessage& m, const Records& records) {
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
  auto at = dead_lettered_ms(m);
  o["dead_lettered_at"] = at ? rfc3339_utc_ms(*at) : std::string();
  o["dlq_partition"] = m.partition;
  o["dlq_offset"] = m.offset;
  if (!records) {
    o["state"] = "unknown";  // Redis was not reachable
    return o;
  }
  o["state"] = worker::to_string(state_of(m, *records));
  if (auto it = records->find(worker::dlq_entry_id(m.partition, m.offset)); it != records->end()) {
    const worker::DlqRecord& r = it->second;
    o["replayed_at"] = rfc3339_utc_ms(r.replayed_at_ms);
    o["replayed_by"] = r.replayed_by;
    if (r.state == worker::DlqState::resolved) {
      o["resolved_at"] = rfc3339_utc_ms(r.resolved_at_ms);
      o["outcome"] = r.outcome;
    }
  }
  return o;
}

// The records, with every replayed entry whose outcome is now durable moved to resolved and the
// records of entries the topic no longer holds dropped; nullopt (and why, on stderr) when Redis
// cannot be read.
Records load_records(worker::DlqLedger& ledger, const std::vector<StoredMessage>& messages) {
  auto records = ledger.records();
  if (!records) {
    std::cerr << "dlq: the entries' states are unknown: Redis: " << records.error().message << "\n";
    return std::nullopt;
  }
  if (auto resolved = ledger.resolve(messages, *records, unix_ms_now()); !resolved) {
    std::cerr << "dlq: resolutions not recorded: Redis: " << resolved.error().message << "\n";
  }
  if (Status forgot = ledger.forget_missing(messages, *records); !forgot) {
    std::cerr << "dlq: old records not dropped: Redis: " << forgot.error().message << "\n";
  }
  return std::move(*records);
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
  std::optional<worker::DlqState> wanted;
  if (s.is_set("state")) {
    wanted = worker::parse_dlq_state(s.get("state"));
    if (!wanted) throw ConfigError("--state must be pending, replayed or resolved, got '" + s.get("state") + "'");
  }
  auto messages = read_topic(s.get("KAFKA_BROKERS"), s.get("KAFKA_DLQ_TOPIC"));
  RedisClient redis(parse_redis_url(s.get("REDIS_URL")), 5s);
  worker::DlqLedger ledger(redis, store_config_from(s));
  Records records = load_records(ledger, messages);

  if (s.positional()[0] == "list") {
    if (wanted && !records) return 1;  // a state cannot be told without Redis (said above)
    auto limit = static_cast<std::size_t>(s.get_int("limit", 1, 100000000));
    std::size_t shown = 0;
    for (const auto& m : messages) {
      if (wanted && state_of(m, *records) != *wanted) continue;
      if (++shown <= limit && !s.get_bool("count")) std::cout << json::serialize(describe(m, records)) << "\n";
    }
    if (s.get_bool("count")) std::cout << shown << "\n";
    return 0;
  }
  // A replay is recorded, so it needs Redis; without it nothing is sent.
  if (!records) return 1;

  auto ids_list = s.get_list("event-id");
  std::set<std::string> ids(ids_list.begin(), ids_list.end());
  const std::string& type = s.get("type");
  std::int64_t since = s.is_set("since") ? parse_utc_ms(s.get("since")) : 0;
  bool dry_run = s.get_bool("dry-run"), only_pending = s.get_bool("pending");
  // What the records say replayed these: the selection as typed, never a setting.
  std::string by = "dlq replay";
  if (only_pending) by += " --pending";
  for (const auto& id : ids_list) by += " --event-id " + id;
  if (!type.empty()) by += " --type " + type;
  if (s.is_set("since")) by += " --since " + s.get("since");
  std::vector<const StoredMessage*> chosen;
  for (const auto& m : messages) {
    if (only_pending && state_of(m, *records) != worker::DlqState::pending) continue;
    if (!ids.empty() && !ids.count(m.header("stripe-event-id"))) continue;
    if (!type.empty() && m.header("stripe-event-type") != type) continue;
    auto at = dead_lettered_ms(m);
    if (since > 0 && (!at || *at < since)) continue;
    chosen.push_back(&m);
  }
  if (dry_run) {
    for (const auto* m : chosen) std::cout << json::serialize(describe(*m, records)) << "\n";
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
  std::size_t sent = 0, failed = 0, done = 0, unrecorded = 0;
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
        // Handlers run on this thread (ioc below), so the ledger is used by one thread.
        if (Status kept = ledger.replayed(*m, unix_ms_now(), by); !kept) {
          ++unrecorded;
          std::cerr << "replayed but not recorded (it still reads pending): " << m->header("stripe-event-id")
                    << ": Redis: " << kept.error().message << "\n";
        }
      } else {
        ++failed;
        std::cerr << "not replayed: " << m->header("stripe-event-id") << ": " << r.error << "\n";
      }
    });
  }
  while (done < chosen.size()) ioc.run_one_for(100ms);
  std::cout << "replayed " << sent << " of " << messages.size() << " dead-lettered events";
  if (failed) std::cout << " (" << failed << " failed)";
  if (unrecorded) std::cout << " (" << unrecorded << " not recorded)";
  std::cout << "\n";
  return failed || unrecorded ? 1 : 0;
}

}  // namespace stripe_sync::cli
