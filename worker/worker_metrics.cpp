#include "worker/worker_metrics.hpp"

#include <string>

#include "common/billing/event_extract.hpp"
#include "common/redis/redis_errors.hpp"
#include "common/stripe/stripe_client.hpp"

namespace stripe_sync::worker {

namespace {
constexpr std::string_view kOutcomeNames[kOutcomes] = {"applied",   "stale",   "ambiguous",
                                                       "duplicate", "ignored", "dead_lettered"};

// Fine between 1 ms and 100 ms, where a healthy pipeline is (bench/e2e.sh reads its p50 and
// p99 from these), then long enough for a backlog drained after an outage.
std::vector<double> long_buckets() {
  return {0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03,
          0.04,   0.05,  0.075, 0.1,   0.15,  0.25,  0.5,    1,    2.5,   5,    10,   30,
          60,     300,   3600};
}
}  // namespace

WorkerMetrics::WorkerMetrics(metrics::Registry& r)
    : apply_seconds(r.histogram("stripe_worker_apply_seconds",
                                "Time of one pipelined apply of a batch of one partition to Redis, seconds")),
      end_to_end_seconds(r.histogram(
          "stripe_worker_end_to_end_seconds",
          "Time from ingress-received-ms (the webhook's arrival) to its outcome being durable in Redis, seconds", {},
          long_buckets())),
      event_age_seconds(r.histogram("stripe_worker_event_age_seconds",
                                    "Age of an event (from its created) when its outcome is durable, seconds", {},
                                    {1, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400, 259200, 2592000})),
      assigned(r.gauge("stripe_worker_assigned_partitions", "Partitions of the topic assigned to this worker")),
      retrying(r.gauge("stripe_worker_retrying_partitions",
                       "Assigned partitions paused while their batch waits to be retried")),
      dlq_messages(r.gauge("stripe_worker_dlq_messages",
                           "Messages held by the dead-letter topic (sampled every 5 s; -1 until known)")),
      dlq_pending(r.gauge("stripe_worker_dlq_pending",
                          "Dead-lettered entries neither replayed nor resolved (sampled every 5 s; -1 until known)")),
      ready_gauge(r.gauge("stripe_worker_ready", "1 while /readyz answers 200")),
      thin_queue_depth(r.gauge("stripe_worker_thin_queue_depth",
                               "Objects waiting in the thin path's fetch queue (sampled by the fetcher)")),
      thin_oldest_seconds(r.gauge("stripe_worker_thin_oldest_seconds",
                                  "Age of the oldest entry of the thin path's fetch queue, seconds (0 when empty)")) {
  dlq_messages.set(-1);
  dlq_pending.set(-1);
  // Every class is registered at start, so a scrape shows the zeros and no retry builds a label.
  for (std::string_view code : kRedisErrorCodes) {
    redis_retries.emplace(code, &r.counter("stripe_worker_redis_retries_total",
                                           "Batches kept and retried after a backoff, by the Redis error class "
                                           "that stopped them (class=\"dlq\": the dead-letter produce failed)",
                                           "class=\"" + std::string(code) + "\""));
  }
  redis_retries.emplace("dlq", &r.counter("stripe_worker_redis_retries_total", "", "class=\"dlq\""));
  unknown_retries = redis_retries.find("unknown")->second;  // registered just above
  std::vector<std::string_view> names = handled_types();
  for (std::string_view t : names) types_.emplace(t, types_.size());
  names.push_back("other");
  for (std::string_view t : names) {
    for (std::string_view o : kOutcomeNames) {
      events_.push_back(&r.counter("stripe_worker_events_total", "Events by type and outcome",
                                   "type=\"" + std::string(t) + "\",outcome=\"" + std::string(o) + "\""));
    }
  }
  for (const char* o : {"queued", "coalesced", "ignored", "duplicate"}) {
    thin_notifications_.push_back(&r.counter("stripe_worker_thin_notifications_total",
                                             "Thin notifications by outcome (coalesced: its object was already queued)",
                                             std::string("outcome=\"") + o + "\""));
  }
  for (const char* o : {"applied", "not_newer", "failed", "dropped"}) {
    thin_fetches_.push_back(&r.counter("stripe_worker_thin_fetches_total",
                                       "Fetches of the thin path's queue by outcome (failed ones stay queued)",
                                       std::string("outcome=\"") + o + "\""));
  }
  // Stripe renders an event in the version of the account or endpoint: a version other than the
  // one stripe-sync pins is read by the field tables' older shapes, and worth an operator's look.
  pinned_version_ = kStripeApiVersion;
  for (std::size_t i = 0; i < 2; ++i) {
    api_versions_[i] = &r.counter("stripe_worker_event_api_versions_total",
                                  "Snapshot events by the API version Stripe rendered them in: the pinned one, or other",
                                  "api_version=\"" + std::string(i == 0 ? kStripeApiVersion : "other") + "\"");
  }
  for (const char* o : {"applied", "failed", "not_found", "not_newer"}) {
    revalidations.push_back(&r.counter("stripe_worker_revalidations_total",
                                       "Objects fetched from Stripe after an ambiguous event, by outcome",
                                       std::string("outcome=\"") + o + "\""));
  }
}

}  // namespace stripe_sync::worker
