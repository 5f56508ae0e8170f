#pragma once
// The worker's series (README.md, "Metrics"), resolved once at start: counting an event is an
// index into a table of counters (no registry lookup, no lock, no label string). Event counters
// are labelled by type and outcome; a type the worker does not keep is counted as type="other",
// so request data never becomes a label.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/core/metrics.hpp"

namespace stripe_sync::worker {

// Totals of this process's life, for its last log line and the tests.
struct WorkerCounters {
  std::atomic<std::uint64_t> applied{0}, stale{0}, ambiguous{0}, duplicate{0}, ignored{0},
      dead_lettered{0}, redis_retries{0};
};

enum Outcome { kApplied, kStale, kAmbiguous, kDuplicate, kIgnored, kDeadLettered, kOutcomes };

// The order of WorkerMetrics::revalidations.
enum RevalidationOutcome { kRevalidated, kFetchFailed, kNotFound, kNotNewer, kRevalidationOutcomes };

// Thin notifications: queued (a new fetch), coalesced (one was already queued), ignored (names
// nothing we keep), duplicate (this notification was queued before). Fetches: applied,
// not_newer, failed (retried later), dropped.
enum ThinNotificationOutcome { kThinQueued, kThinCoalesced, kThinIgnored, kThinDuplicate, kThinNotificationOutcomes };
enum ThinFetchOutcome { kThinApplied, kThinNotNewer, kThinFailed, kThinDropped, kThinFetchOutcomes };

class WorkerMetrics {
 public:
  explicit WorkerMetrics(metrics::Registry& r);

  void event(std::string_view type, Outcome o) {
    auto it = types_.find(type);
    std::size_t t = it == types_.end() ? types_.size() : it->second;
    events_[t * kOutcomes + o]->inc();
  }
  metrics::Counter& retry(std::string_view code) {
    auto it = redis_retries.find(code);
    return *(it != redis_retries.end() ? it->second : unknown_retries);
  }

  metrics::Histogram& apply_seconds;
  metrics::Histogram& end_to_end_seconds;
  metrics::Histogram& event_age_seconds;
  metrics::Gauge& assigned;
  metrics::Gauge& retrying;
  metrics::Gauge& dlq_messages;
  metrics::Gauge& dlq_pending;
  metrics::Gauge& ready_gauge;
  metrics::Gauge& thin_queue_depth;
  metrics::Gauge& thin_oldest_seconds;
  std::vector<metrics::Counter*> revalidations;  // by RevalidationOutcome
  void thin_notification(ThinNotificationOutcome o) { thin_notifications_[o]->inc(); }
  void thin_fetch(ThinFetchOutcome o) { thin_fetches_[o]->inc(); }
  // A snapshot event's api_version: the pinned one, or any other (never the string as a label).
  void api_version(std::string_view v) { api_versions_[v == pinned_version_ ? 0 : 1]->inc(); }

 private:
  std::map<std::string_view, metrics::Counter*> redis_retries;  // by class: fixed at start
  metrics::Counter* unknown_retries = nullptr;                   // class="unknown"
  std::unordered_map<std::string_view, std::size_t> types_;      // handled type -> row
  std::vector<metrics::Counter*> events_;                        // (types + "other") x outcomes
  std::vector<metrics::Counter*> thin_notifications_, thin_fetches_;
  std::string_view pinned_version_;
  metrics::Counter* api_versions_[2] = {};  // pinned, other
};

}  // namespace stripe_sync::worker
