#include "worker/batch_applier.hpp"

#include <chrono>
#include <cstdlib>

#include "common/billing/envelope.hpp"
#include "common/billing/event_extract.hpp"
#include "common/billing/fetch_queue.hpp"
#include "common/billing/event_store.hpp"
#include "common/core/log.hpp"
#include "common/core/time.hpp"
#include "common/kafka/message_headers.hpp"
#include "common/redis/redis_errors.hpp"

namespace stripe_sync::worker {

namespace {
double seconds_since_ms(std::int64_t then_ms, std::int64_t now) { return static_cast<double>(now - then_ms) / 1000.0; }
}  // namespace

bool BatchApplier::apply(const std::vector<rd_kafka_message_t*>& batch, std::string& retry_code) {
  std::vector<ChangeRecord> records;
  std::vector<const rd_kafka_message_t*> record_msgs;
  struct Dead {
    const rd_kafka_message_t* msg;
    std::string reason, error;
  };
  std::vector<Dead> dead;
  std::vector<const ChangeRecord*> ambiguous;
  std::vector<FetchRequest> fetches;  // thin notifications: objects to fetch, not records
  records.reserve(batch.size());
  for (const auto* m : batch) {
    ChangeRecord r;
    std::string_view value(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
    if (!kafka::header_value(m, "stripe-thin-type").empty()) {
      Envelope env;
      if (auto read = read_envelope(value, env); !read || !env.thin) {
        dead.push_back({m, "invalid_thin", read ? "not a thin notification" : read.detail});
      } else if (auto request = fetch_request_of(env)) {
        fetches.push_back(std::move(*request));
      } else {
        counters_.ignored++;
        metrics_.thin_notification(kThinIgnored);
        log::debug("thin notification names nothing kept", {{"event_id", env.id}, {"type", env.type}});
      }
      continue;
    }
    ExtractResult x = extract_change(value, r);
    if (x.status == ExtractStatus::record) {
      if (std::string src = kafka::header_value(m, "source"); !src.empty()) r.source = src;
      records.push_back(std::move(r));
      record_msgs.push_back(m);
    } else if (x.status == ExtractStatus::ignored) {
      counters_.ignored++;
      metrics_.event(r.event_type, kIgnored);
      log::debug("event type not kept", {{"event_id", r.event_id}, {"type", r.event_type}});
    } else {
      dead.push_back({m, x.reason, x.detail});
    }
  }
  if (!records.empty()) {
    const auto started = std::chrono::steady_clock::now();
    auto client = redis_.acquire();
    EventStore store(*client, config_.store);
    auto results = store.apply(records, unix_ms_now());
    // REDIS_WAIT_REPLICAS: the offsets move only once enough replicas hold what was written,
    // so a master lost right after this batch cannot take events Kafka no longer keeps for us.
    Status replicated = results ? client->wait_replicas(config_.redis_wait_replicas, config_.redis_wait_timeout)
                                : Status(Ok{});
    metrics_.apply_seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!results || !replicated) {
      const Error& e = !results ? results.error() : replicated.error();
      retry_code = e.code;
      log::warn("redis cannot take the batch now; will retry",
                {{"class", e.code}, {"error", e.message}, {"partition", batch.front()->partition},
                 {"offset", batch.front()->offset}, {"event_id", records.front().event_id}});
      return false;
    }
    const std::int64_t done_ms = unix_ms_now();
    for (std::size_t i = 0; i < records.size(); ++i) {
      const ApplyResult& res = (*results)[i];
      const ChangeRecord& r = records[i];
      switch (res.outcome) {
        case ApplyOutcome::applied: counters_.applied++; metrics_.event(r.event_type, kApplied); break;
        case ApplyOutcome::stale: counters_.stale++; metrics_.event(r.event_type, kStale); break;
        case ApplyOutcome::ambiguous:
          counters_.ambiguous++;
          metrics_.event(r.event_type, kAmbiguous);
          break;
        case ApplyOutcome::duplicate: counters_.duplicate++; metrics_.event(r.event_type, kDuplicate); break;
        case ApplyOutcome::failed: dead.push_back({record_msgs[i], "script_error", res.error}); continue;
      }
      if (!r.api_version.empty()) metrics_.api_version(r.api_version);
      // Ambiguous, or decided by previous_attributes on a tie: Stripe has the answer.
      if (revalidator_ && (res.outcome == ApplyOutcome::ambiguous || res.tie)) ambiguous.push_back(&r);
      if (std::string received = kafka::header_value(record_msgs[i], "ingress-received-ms"); !received.empty()) {
        std::int64_t ms = std::strtoll(received.c_str(), nullptr, 10);
        if (ms > 0) metrics_.end_to_end_seconds.observe(seconds_since_ms(ms, done_ms));
      }
      if (r.created > 0) metrics_.event_age_seconds.observe(seconds_since_ms(r.created * 1000, done_ms));
      log::debug("event applied", {{"event_id", r.event_id}, {"customer", r.key},
                                   {"outcome", to_string(res.outcome)},
                                   {"partition", record_msgs[i]->partition},
                                   {"offset", record_msgs[i]->offset}});
    }
  }
  // Thin notifications: their fetches are queued durably (one entry per object) before the
  // offsets move; the fetcher does the rest.
  if (!fetches.empty()) {
    auto client = redis_.acquire();
    FetchQueue queue(*client, config_.store.keys());
    std::vector<std::vector<std::string>> args;
    const std::int64_t now = unix_ms_now();
    for (const auto& f : fetches) args.push_back(queue.enqueue_command(f, now, config_.store.dedupe_ttl_s));
    std::vector<std::vector<std::string_view>> commands;
    for (const auto& a : args) commands.emplace_back(a.begin(), a.end());
    auto queued = client->pipeline(commands);
    Status replicated = queued ? client->wait_replicas(config_.redis_wait_replicas, config_.redis_wait_timeout)
                               : Status(Ok{});
    if (!queued || !replicated) {
      const Error& e = !queued ? queued.error() : replicated.error();
      retry_code = e.code;
      log::warn("redis cannot queue the thin fetches now; will retry", {{"class", e.code}, {"error", e.message}});
      return false;
    }
    for (const RedisValue& v : *queued) {
      if (v.is_error()) {
        retry_code = classify_redis_error(v.str).code;
        log::warn("redis refused a thin fetch; will retry", {{"class", retry_code}, {"error", v.str}});
        return false;
      }
      metrics_.thin_notification(v.integer == 0 ? kThinDuplicate : v.integer == 1 ? kThinQueued : kThinCoalesced);
    }
  }
  // Before the dead letters, so that a batch retried for a revalidation produces none twice.
  for (const ChangeRecord* r : ambiguous) {
    if (Status settled = revalidator_->settle(*r); !settled) {
      const Error& held = settled.error();
      // Redis refused the snapshot: the batch is held like any Redis failure, and its retry
      // answers duplicate with the tie kept in the marker, so the revalidation runs again.
      retry_code = held.code;
      log::warn("redis cannot take a revalidation now; will retry the batch",
                {{"class", held.code}, {"error", held.message}, {"event_id", r->event_id},
                 {"customer", r->key}});
      return false;
    }
  }
  for (const auto& d : dead) {
    if (Status written = dead_letters_.write(d.msg, d.reason, d.error); !written) {
      retry_code = written.error().code;
      return false;
    }
    counters_.dead_lettered++;
    metrics_.event(kafka::header_value(d.msg, "stripe-event-type"), kDeadLettered);
  }
  return true;
}

}  // namespace stripe_sync::worker
