#include "worker/thin_fetcher.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/billing/event_extract.hpp"
#include "common/billing/snapshots.hpp"
#include "common/core/json_read.hpp"
#include "common/core/log.hpp"
#include "common/core/time.hpp"

namespace stripe_sync::worker {

ThinFetcher::ThinFetcher(StripeApi& stripe, RedisPool& redis, const StoreConfig& store, WorkerMetrics& metrics,
                         ThinFetcherOptions options)
    : stripe_(stripe), redis_(redis), store_(store), metrics_(metrics), options_(options) {}

ThinFetcher::~ThinFetcher() { stop(); }

void ThinFetcher::start() {
  thread_ = std::thread([this] { loop(); });
}

void ThinFetcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ThinFetcher::loop() {
  while (!stopping_.load()) {
    int claimed = run_once();
    if (claimed > 0) continue;
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, options_.idle, [this] { return stopping_.load(); });
  }
}

int ThinFetcher::run_once() {
  // The edge of this thread: nothing thrown here may end the process.
  try {
    auto client = redis_.acquire();
    FetchQueue queue(*client, store_.keys());
    const std::int64_t now = unix_ms_now();
    if (auto depth = queue.depth_and_oldest()) {
      metrics_.thin_queue_depth.set(static_cast<double>(depth->first));
      metrics_.thin_oldest_seconds.set(depth->second > 0 ? static_cast<double>(now - depth->second) / 1000.0 : 0.0);
    }
    auto claimed = queue.claim(now, options_.lease.count(), options_.batch);
    if (!claimed) {  // Redis down: the entries wait in Redis, nothing is lost
      log::debug("thin fetcher cannot claim now", {{"error", claimed.error().message}});
      return 0;
    }
    for (const ClaimedFetch& c : *claimed) {
      if (stopping_.load()) break;  // the lease brings what is left back
      Done d = fetch_one(c, *client);
      if (d == Done::retry) {
        const auto backoff = std::min<std::int64_t>(options_.backoff_max.count(),
                                                    options_.backoff_base.count() << std::min(c.attempts, 16));
        (void)queue.retry(c, unix_ms_now() + backoff);  // if Redis refuses, the lease ends it
      } else {
        (void)queue.done(c, unix_ms_now());  // likewise: a second fetch at worst
      }
    }
    return static_cast<int>(claimed->size());
  } catch (const std::exception& e) {
    log::error("thin fetcher pass failed", {{"error", e.what()}});
  } catch (...) {
    log::error("thin fetcher pass failed", {{"error", "unknown exception"}});
  }
  return 0;
}

ThinFetcher::Fetched ThinFetcher::fetch(const FetchRequest& r) {
  StripeResult res = stripe_.get(r.url, {}, r.context);
  if (r.type != kFetchEventType || !res.ok()) return {res, res.body, {}};
  // The notification's event. Which of its fields names the customer is not in Stripe's
  // published types for these notifications (thin-events.md, section 2): the customer is taken
  // from its related object when it has one, else from data.customer, as v1.invoice.upcoming
  // carries it; an event with neither can never be applied.
  boost::system::error_code ec;
  boost::json::value event = boost::json::parse(res.body, ec);
  if (ec || !event.is_object()) {
    res.error = StripeError::bad_answer;
    res.message = "Stripe's event is not a JSON object";
    return {res, {}, {}};
  }
  std::optional<std::string_view> customer;
  if (const auto* related = json_read::member(event, "related_object")) customer = json_read::string_at(*related, "id");
  if (!customer) {
    if (const auto* data = json_read::member(event, "data")) customer = json_read::string_at(*data, "customer");
  }
  if (!customer || !customer->starts_with("cus_")) return {res, {}, "the event names no customer"};
  boost::json::array items;
  StripeResult list = stripe_list_all(stripe_, "/v1/entitlements/active_entitlements", {{"customer", std::string(*customer)}}, items,
                                      r.context);
  if (!list.ok()) return {list, {}, {}};
  const bool livemode = json_read::bool_at(event, "livemode").value_or(false);
  return {list, entitlement_summary_json(*customer, items, livemode), {}};
}

ThinFetcher::Done ThinFetcher::fetch_one(const ClaimedFetch& c, RedisClient& redis) {
  const FetchRequest& r = c.request;
  if (r.url.empty()) {
    metrics_.thin_fetch(kThinDropped);
    log::warn("thin fetch dropped: unreadable request", {{"entry", r.entry}});
    return Done::dropped;
  }
  Fetched fetched = fetch(r);
  if (!fetched.unusable.empty()) {
    metrics_.thin_fetch(kThinDropped);
    log::warn("thin fetch dropped", {{"entry", r.entry}, {"detail", fetched.unusable}});
    return Done::dropped;
  }
  StripeResult& res = fetched.res;
  std::string object = std::move(fetched.object);
  std::string source_id = "fetch_" + std::to_string(res.date_unix) + "_" + r.id + "_" + c.seq;
  if (res.error == StripeError::not_found && res.date_unix > 0) {
    // Gone at Stripe: what its API answers for a deleted object.
    object = boost::json::serialize(boost::json::object{{"id", r.id}, {"object", r.type}, {"deleted", true}});
  } else if (!res.ok() || res.date_unix == 0) {
    metrics_.thin_fetch(kThinFailed);
    log::warn("thin fetch failed; will retry", {{"entry", r.entry}, {"object_id", r.id},
                                                {"error", res.ok() ? std::string("no Date header") : res.message},
                                                {"attempts", c.attempts + 1}});
    return Done::retry;
  }
  ChangeRecord rec;
  ExtractResult x = extract_snapshot(object, res.date_unix, source_id, "thin", rec, r.context);
  if (x.status == ExtractStatus::ignored || (x.status == ExtractStatus::permanent && res.error == StripeError::not_found)) {
    // A 404 of an object keyed by its customer (unknown now), or a kind not kept: nothing to do.
    metrics_.thin_fetch(kThinDropped);
    log::info("thin fetch: nothing to apply", {{"entry", r.entry}, {"detail", x.detail}});
    return Done::dropped;
  }
  if (x.status == ExtractStatus::permanent) {
    metrics_.thin_fetch(kThinFailed);
    log::warn("thin fetch: Stripe's answer cannot be read; will retry", {{"entry", r.entry}, {"detail", x.detail}});
    return Done::retry;
  }
  EventStore store(redis, store_);
  auto applied = store.apply(std::span(&rec, 1), unix_ms_now());
  if (!applied) {
    metrics_.thin_fetch(kThinFailed);
    log::warn("thin fetch: Redis cannot take it now; will retry", {{"entry", r.entry}, {"error", applied.error().message}});
    return Done::retry;
  }
  const ApplyResult& a = (*applied)[0];
  if (a.outcome == ApplyOutcome::failed) {
    metrics_.thin_fetch(kThinFailed);
    log::warn("thin fetch: the apply failed; will retry", {{"entry", r.entry}, {"error", a.error}});
    return Done::retry;
  }
  metrics_.thin_fetch(a.outcome == ApplyOutcome::applied ? kThinApplied : kThinNotNewer);
  log::debug("thin fetch applied", {{"customer", rec.key}, {"object_id", rec.object_id}, {"outcome", to_string(a.outcome)}});
  return Done::applied;
}

}  // namespace stripe_sync::worker
