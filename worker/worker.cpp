#include "worker/worker.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <unordered_map>
#include <random>
#include <thread>
#include <vector>

#include "common/core/error_body.hpp"
#include "common/billing/event_extract.hpp"
#include "common/billing/event_store.hpp"
#include "common/kafka/kafka_handles.hpp"
#include "common/kafka/kafka_producer.hpp"
#include "common/core/log.hpp"
#include "common/redis/redis_pool.hpp"
#include "common/redis/redis_client.hpp"
#include "common/redis/redis_errors.hpp"
#include "common/redis/redis_settings.hpp"
#include "common/stripe/stripe_client.hpp"
#include "common/stripe/stripe_rate_limit.hpp"
#include "common/core/time.hpp"

namespace stripe_sync::worker {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::int64_t now_ms() { return unix_ms_now(); }

std::string header(const rd_kafka_message_t* m, const char* name) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(hdrs, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  return std::string(static_cast<const char*>(value), size);
}

// A partition's queue is paused at kPauseAt batches and resumed below kResumeBelow batches.
constexpr std::size_t kPauseAt = 32;
constexpr std::size_t kResumeBelow = 4;

double seconds_since_ms(std::int64_t then_ms, std::int64_t now) {
  return static_cast<double>(now - then_ms) / 1000.0;
}

enum Outcome { kApplied, kStale, kAmbiguous, kDuplicate, kIgnored, kDeadLettered, kOutcomes };
constexpr std::string_view kOutcomeNames[kOutcomes] = {"applied",   "stale",   "ambiguous",
                                                       "duplicate", "ignored", "dead_lettered"};

// The worker's series (README.md, "Metrics"). Event counters are labelled by type and outcome;
// a type the worker does not keep is counted as type="other", so request data never becomes a
// label. Each series is registered the first time it is counted (an atomic pointer, no lock on
// the hot path after that).
class WorkerMetrics {
 public:
  explicit WorkerMetrics(metrics::Registry& r)
      : registry(r),
        apply_seconds(r.histogram("stripe_worker_apply_seconds",
                                  "Time of one pipelined apply of a batch of one partition to Redis, seconds")),
        end_to_end_seconds(r.histogram(
            "stripe_worker_end_to_end_seconds",
            "Time from ingress-received-ms (the webhook's arrival) to its outcome being durable in Redis, seconds",
            {}, long_buckets())),
        event_age_seconds(r.histogram("stripe_worker_event_age_seconds",
                                      "Age of an event (from its created) when its outcome is durable, seconds", {},
                                      {1, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400, 259200, 2592000})),
        assigned(r.gauge("stripe_worker_assigned_partitions", "Partitions of the topic assigned to this worker")),
        retrying(r.gauge("stripe_worker_retrying_partitions",
                         "Assigned partitions paused while their batch waits to be retried")),
        dlq_messages(r.gauge("stripe_worker_dlq_messages",
                             "Messages held by the dead-letter topic (sampled every 5 s; -1 until known)")),
        ready_gauge(r.gauge("stripe_worker_ready", "1 while /readyz answers 200")) {
    dlq_messages.set(-1);
    // Every class is registered at start, so a scrape shows the zeros and no retry builds a label.
    for (std::string_view code : kRedisErrorCodes) {
      redis_retries.emplace(code, &r.counter("stripe_worker_redis_retries_total",
                                             "Batches kept and retried after a backoff, by the Redis error class "
                                             "that stopped them (class=\"dlq\": the dead-letter produce failed)",
                                             "class=\"" + std::string(code) + "\""));
    }
    redis_retries.emplace("dlq", &r.counter("stripe_worker_redis_retries_total", "", "class=\"dlq\""));
    unknown_retries = redis_retries.find("unknown")->second;  // registered just above
    for (std::string_view t : handled_types()) types_.emplace(t, types_.size());
    slots_ = std::make_unique<std::atomic<metrics::Counter*>[]>((types_.size() + 1) * kOutcomes);
    for (std::size_t i = 0; i < (types_.size() + 1) * kOutcomes; ++i) slots_[i].store(nullptr);
    for (const char* o : {"applied", "failed", "not_found", "not_newer"}) {
      revalidations.push_back(&r.counter("stripe_worker_revalidations_total",
                                         "Objects fetched from Stripe after an ambiguous event, by outcome",
                                         std::string("outcome=\"") + o + "\""));
    }
  }

  void event(std::string_view type, Outcome o) {
    auto it = types_.find(type);
    std::size_t t = it == types_.end() ? types_.size() : it->second;
    auto& slot = slots_[t * kOutcomes + o];
    metrics::Counter* c = slot.load(std::memory_order_acquire);
    if (!c) {
      std::string labels = "type=\"" + std::string(it == types_.end() ? "other" : type) + "\",outcome=\"" +
                           std::string(kOutcomeNames[o]) + "\"";
      c = &registry.counter("stripe_worker_events_total", "Events by type and outcome", labels);
      slot.store(c, std::memory_order_release);
    }
    c->inc();
  }

  // Fine between 1 ms and 100 ms, where a healthy pipeline is (bench/e2e.sh reads its p50 and
  // p99 from these), then long enough for a backlog drained after an outage.
  static std::vector<double> long_buckets() {
    return {0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03,
            0.04,   0.05,  0.075, 0.1,   0.15,  0.25,  0.5,    1,    2.5,   5,    10,   30,
            60,     300,   3600};
  }

  metrics::Registry& registry;
  metrics::Histogram& apply_seconds;
  metrics::Histogram& end_to_end_seconds;
  metrics::Histogram& event_age_seconds;
  std::map<std::string_view, metrics::Counter*> redis_retries;  // by class: fixed at start
  metrics::Counter* unknown_retries = nullptr;                   // class="unknown"
  metrics::Counter& retry(std::string_view code) {
    auto it = redis_retries.find(code);
    return *(it != redis_retries.end() ? it->second : unknown_retries);
  }
  metrics::Gauge& assigned;
  metrics::Gauge& retrying;
  metrics::Gauge& dlq_messages;
  metrics::Gauge& ready_gauge;
  std::vector<metrics::Counter*> revalidations;  // applied, failed, not_found, not_newer

 private:
  std::unordered_map<std::string_view, std::size_t> types_;
  std::unique_ptr<std::atomic<metrics::Counter*>[]> slots_;
};

}  // namespace

// One assigned partition. The queue holds fetched messages not yet durable; one drain at a
// time runs per partition (scheduled), which keeps the partition's order.
struct PartitionState {
  std::int32_t partition = -1;
  std::deque<kafka::MessagePtr> queue;
  bool scheduled = false;  // a drain is queued, running, or waiting on its backoff timer
  bool busy = false;       // a batch is being applied right now
  bool paused = false;
  bool revoked = false;
  std::int64_t committed = -1;  // next offset after the last durable event, once known
  std::chrono::milliseconds backoff{0};
  std::unique_ptr<asio::steady_timer> timer;
};

struct Worker::Impl {
  explicit Impl(const WorkerConfig& c)
      : config(c), pool(static_cast<std::size_t>(c.threads)), redis(c.redis, c.redis_timeout), metrics(registry) {
    ProducerConfig pc;
    pc.brokers = c.kafka_brokers;
    pc.topics = {c.kafka_dlq_topic};
    pc.client_id = "stripe-worker-dlq";
    pc.message_timeout = 30s;
    dlq = std::make_unique<KafkaProducer>(pc);
    if (c.revalidate) {
      StripeClientConfig sc;
      sc.api_base = c.stripe_api_base;
      sc.api_key = c.stripe_api_key;
      sc.max_response_bytes = c.stripe_max_response_bytes;
      sc.metrics = &registry;
      stripe_client = std::make_unique<StripeClient>(sc);
      // Revalidation spends the deployment's one Stripe budget, like the portal and backfill.
      stripe_budget = std::make_unique<StripeRateLimit>(redis, stripe_budget_config(c.stripe_api_key, c.store.prefix));
      stripe = std::make_unique<RateLimitedStripe>(*stripe_client, *stripe_budget, StripePriority::normal);
    }
    make_consumer();
    registry.add_collector([this](std::string& out) { render_lag(out); });
  }

  // stripe_worker_consumer_lag: per assigned partition, the broker's high watermark (as last
  // seen by the fetcher, no round trip) minus the oldest offset not yet durable here.
  void render_lag(std::string& out) {
    std::vector<std::pair<std::string, double>> samples;
    std::lock_guard lock(mutex);
    for (auto& [id, p] : partitions) {
      std::int64_t low = 0, high = -1;
      if (rd_kafka_get_watermark_offsets(consumer.get(), config.kafka_topic.c_str(), id, &low, &high) ||
          high < 0) {
        continue;
      }
      std::int64_t next = !p->queue.empty() ? p->queue.front()->offset : p->committed;
      if (next < 0) {
        kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(list.get(), config.kafka_topic.c_str(), id);
        if (rd_kafka_position(consumer.get(), list.get()) == RD_KAFKA_RESP_ERR_NO_ERROR) next = list->elems[0].offset;
      }
      if (next < 0) continue;
      samples.emplace_back("partition=\"" + std::to_string(id) + "\"", static_cast<double>(std::max<std::int64_t>(0, high - next)));
    }
    metrics::render_gauge_family(out, "stripe_worker_consumer_lag",
                                 "Messages of an assigned partition not yet applied (high watermark minus the oldest "
                                 "offset not durable here)",
                                 samples);
  }

  // The monitor thread: broker and Redis reachability for /readyz, and the DLQ's size.
  void monitor_loop() {
    RedisProbe probe(config.redis, std::chrono::milliseconds(500), config.redis_allow_eviction);
    bool reported_ready = false;
    auto next_dlq = std::chrono::steady_clock::now();
    std::unique_lock lock(monitor_mutex);
    while (!monitor_stop) {
      lock.unlock();
      Status redis_status = probe.check();
      bool redis_up = redis_status.ok();
      {
        std::lock_guard l(redis_reason_mutex);
        redis_reason = redis_up                                      ? std::string()
                       : redis_status.error().code == "connection" ? "Redis is not reachable: " + redis_status.error().message
                                                                   : "Redis is not fit to serve: " + redis_status.error().message;
      }
      bool broker_up = dlq->broker_reachable(std::chrono::milliseconds(500));
      if (broker_up && std::chrono::steady_clock::now() >= next_dlq) {
        if (auto n = dlq->messages_in(config.kafka_dlq_topic, std::chrono::milliseconds(1000))) metrics.dlq_messages.set(*n);
        next_dlq = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      }
      redis_reachable.store(redis_up);
      broker_reachable.store(broker_up);
      std::string why;
      bool now_ready = ready(&why);
      metrics.ready_gauge.set(now_ready ? 1 : 0);
      if (now_ready != reported_ready) {
        reported_ready = now_ready;
        if (now_ready) log::info("ready");
        else log::warn("not ready", {{"reason", why}});
      }
      lock.lock();
      monitor_cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return monitor_stop; });
    }
  }

  bool ready(std::string* reason = nullptr) {
    auto no = [&](const char* why) {
      if (reason) *reason = why;
      return false;
    };
    if (!broker_reachable.load()) return no("the Kafka broker is not reachable");
    if (!redis_reachable.load()) {
      std::lock_guard l(redis_reason_mutex);
      if (reason) *reason = redis_reason;
      return false;
    }
    std::lock_guard lock(mutex);
    if (partitions.empty()) return no("no partition is assigned to this worker");
    for (auto& [id, p] : partitions)
      if (p->backoff.count() > 0) return no("a partition is paused: its batch could not be written to Redis");
    return true;
  }

  void make_consumer() {
    kafka::ConfPtr conf(rd_kafka_conf_new());
    kafka::set_conf(conf.get(), "bootstrap.servers", config.kafka_brokers);
    kafka::set_conf(conf.get(), "group.id", config.kafka_group);
    kafka::set_conf(conf.get(), "client.id", "stripe-worker");
    // Offsets move only when we say an event's outcome is durable in Redis.
    kafka::set_conf(conf.get(), "enable.auto.commit", "false");
    kafka::set_conf(conf.get(), "enable.auto.offset.store", "false");
    kafka::set_conf(conf.get(), "auto.offset.reset", "earliest");
    kafka::set_conf(conf.get(), "session.timeout.ms", "6000");
    kafka::set_conf(conf.get(), "heartbeat.interval.ms", "1000");
    kafka::set_conf(conf.get(), "reconnect.backoff.max.ms", "1000");
    // What librdkafka prefetches beyond our own queues (its default is 64 MiB).
    kafka::set_conf(conf.get(), "queued.max.messages.kbytes", "16384");
    // Real Kafka answers a fetch as soon as there is data (fetch.min.bytes=1), so this bounds
    // only idle polling; librdkafka's mock broker holds an empty fetch for all of it.
    kafka::set_conf(conf.get(), "fetch.wait.max.ms", std::to_string(config.fetch_wait.count()));
    kafka::route_logs(conf.get());
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_rebalance_cb(conf.get(), [](rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                                  rd_kafka_topic_partition_list_t* parts, void* opaque) {
      static_cast<Impl*>(opaque)->on_rebalance(rk, err, parts);
    });
    char err[512];
    consumer.reset(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err));
    if (!consumer) throw ConfigError(std::string("cannot create Kafka consumer: ") + err);
    conf.release();
    rd_kafka_poll_set_consumer(consumer.get());
  }

  // --- the poll thread ---------------------------------------------------------------------

  void poll_loop() {
    kafka::PartitionListPtr topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), config.kafka_topic.c_str(), RD_KAFKA_PARTITION_UA);
    if (auto e = rd_kafka_subscribe(consumer.get(), topics.get())) {
      log::error("cannot subscribe", {{"topic", config.kafka_topic}, {"error", rd_kafka_err2str(e)}});
      return;
    }
    while (running.load()) {
      kafka::MessagePtr m(rd_kafka_consumer_poll(consumer.get(), 100));
      if (!m) continue;
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          log::warn("consumer error", {{"error", rd_kafka_message_errstr(m.get())}});
        }
        continue;
      }
      enqueue(std::move(m));
    }
  }

  void enqueue(kafka::MessagePtr m) {
    std::lock_guard lock(mutex);
    auto it = partitions.find(m->partition);
    if (it == partitions.end() || it->second->revoked) return;  // not ours any more
    PartitionState& p = *it->second;
    p.queue.push_back(std::move(m));
    // Back-pressure: stop fetching a partition whose queue is long; the drain resumes it once
    // the queue is short again. The wide gap matters: a pause makes librdkafka drop what it
    // prefetched for the partition and fetch it again on resume.
    if (p.queue.size() >= kPauseAt * config.batch_size && !p.paused) set_paused(p, true);
    schedule(p);
  }

  // Caller holds `mutex`.
  void schedule(PartitionState& p) {
    if (p.scheduled || p.queue.empty()) return;
    p.scheduled = true;
    asio::post(pool, [this, id = p.partition] { drain(id); });
  }

  // Caller holds `mutex`.
  void set_paused(PartitionState& p, bool pause) {
    kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), config.kafka_topic.c_str(), p.partition);
    if (pause) rd_kafka_pause_partitions(consumer.get(), list.get());
    else rd_kafka_resume_partitions(consumer.get(), list.get());
    p.paused = pause;
  }

  // Runs on librdkafka's poll thread (inside rd_kafka_consumer_poll or consumer_close).
  void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      {
        std::lock_guard lock(mutex);
        for (int i = 0; i < parts->cnt; ++i) {
          auto s = std::make_shared<PartitionState>();
          s->partition = parts->elems[i].partition;
          partitions[s->partition] = s;
        }
        metrics.assigned.set(static_cast<std::int64_t>(partitions.size()));
      }
      log::info("partitions assigned", {{"count", parts->cnt}});
      rd_kafka_assign(rk, parts);
      // A partition paused here before a rebalance (Redis down) stays paused inside librdkafka
      // when it comes back to us, while its new state says it is not: it would never be fetched
      // again. Every assigned partition starts resumed.
      rd_kafka_resume_partitions(rk, parts);
      return;
    }
    // Revoked: let a batch in progress finish, abandon what is queued (it was not committed
    // and will be fetched again by the next owner), commit what is durable, then let go.
    std::unique_lock lock(mutex);
    for (int i = 0; i < parts->cnt; ++i) {
      auto it = partitions.find(parts->elems[i].partition);
      if (it == partitions.end()) continue;
      it->second->revoked = true;
      if (it->second->timer) it->second->timer->cancel();
    }
    auto deadline = std::chrono::steady_clock::now() + config.redis_timeout * 3;
    idle_cv.wait_until(lock, deadline, [&] {
      for (int i = 0; i < parts->cnt; ++i) {
        auto it = partitions.find(parts->elems[i].partition);
        if (it != partitions.end() && it->second->busy) return false;
      }
      return true;
    });
    for (int i = 0; i < parts->cnt; ++i) {
      auto it = partitions.find(parts->elems[i].partition);
      if (it == partitions.end()) continue;
      if (it->second->backoff.count() > 0) metrics.retrying.add(-1);
      partitions.erase(it);
    }
    metrics.assigned.set(static_cast<std::int64_t>(partitions.size()));
    lock.unlock();
    rd_kafka_commit(rk, nullptr, 0);  // stored offsets of durable events, synchronously
    log::info("partitions revoked", {{"count", parts->cnt}});
    rd_kafka_assign(rk, nullptr);
  }

  // --- pool threads --------------------------------------------------------------------------

  void drain(std::int32_t id) {
    std::vector<rd_kafka_message_t*> batch;
    std::shared_ptr<PartitionState> state;
    {
      std::lock_guard lock(mutex);
      auto it = partitions.find(id);
      if (it == partitions.end()) return;
      state = it->second;
      if (state->revoked || state->queue.empty()) {
        state->scheduled = false;
        idle_cv.notify_all();
        return;
      }
      state->busy = true;
      for (std::size_t i = 0; i < state->queue.size() && i < config.batch_size; ++i) {
        batch.push_back(state->queue[i].get());  // stays owned by the queue until durable
      }
    }

    std::string retry_code;
    bool durable = process_batch(batch, retry_code);

    std::lock_guard lock(mutex);
    state->busy = false;
    idle_cv.notify_all();
    if (state->revoked) {
      state->scheduled = false;
      return;
    }
    if (!durable) {
      // Redis unreachable (or the DLQ): keep the batch, stop fetching, retry after a backoff.
      counters.redis_retries++;
      metrics.retry(retry_code).inc();
      if (state->backoff.count() == 0) metrics.retrying.add(1);
      if (!state->paused) set_paused(*state, true);
      auto cap = config.backoff_max;
      state->backoff = std::min(cap, std::max(100ms, state->backoff * 2));
      std::uniform_int_distribution<long> jitter(0, state->backoff.count() / 2);
      auto wait = state->backoff / 2 + std::chrono::milliseconds(jitter(rng()));
      state->timer = std::make_unique<asio::steady_timer>(pool, wait);
      state->timer->async_wait([this, id](boost::system::error_code ec) {
        if (!ec) drain(id);
        else {
          std::lock_guard l(mutex);
          if (auto it = partitions.find(id); it != partitions.end()) it->second->scheduled = false;
          idle_cv.notify_all();
        }
      });
      return;
    }
    if (state->backoff.count() > 0) metrics.retrying.add(-1);
    state->backoff = 0ms;
    state->committed = batch.back()->offset + 1;
    // Durable: store the next offset and commit it, then forget the messages.
    kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), config.kafka_topic.c_str(), id)->offset =
        batch.back()->offset + 1;
    rd_kafka_offsets_store(consumer.get(), list.get());
    rd_kafka_commit(consumer.get(), list.get(), 1);
    for (std::size_t i = 0; i < batch.size(); ++i) state->queue.pop_front();
    if (state->paused && state->queue.size() < kResumeBelow * config.batch_size) set_paused(*state, false);
    state->scheduled = false;
    schedule(*state);
    idle_cv.notify_all();
  }

  static std::mt19937& rng() {
    thread_local std::mt19937 gen{std::random_device{}()};
    return gen;
  }

  // Applies one batch of one partition. False when nothing durable can be said (retry it all:
  // the processed markers make a second apply of the same events harmless).
  // `retry_code` says why (the Redis error class, or "dlq").
  bool process_batch(const std::vector<rd_kafka_message_t*>& batch, std::string& retry_code) {
    std::vector<ChangeRecord> records;
    std::vector<const rd_kafka_message_t*> record_msgs;
    struct Dead {
      const rd_kafka_message_t* msg;
      std::string reason, error;
    };
    std::vector<Dead> dead;
    std::vector<const ChangeRecord*> ambiguous;
    records.reserve(batch.size());
    for (const auto* m : batch) {
      ChangeRecord r;
      std::string_view value(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
      ExtractResult x = extract_change(value, r);
      if (x.status == ExtractStatus::record) {
        if (std::string src = header(m, "source"); !src.empty()) r.source = src;
        records.push_back(std::move(r));
        record_msgs.push_back(m);
      } else if (x.status == ExtractStatus::ignored) {
        counters.ignored++;
        metrics.event(r.event_type, kIgnored);
        log::debug("event type not kept", {{"event_id", r.event_id}, {"type", r.event_type}});
      } else {
        dead.push_back({m, x.reason, x.detail});
      }
    }
    if (!records.empty()) {
      const auto started = std::chrono::steady_clock::now();
      auto client = redis.acquire();
      EventStore store(*client, config.store);
      auto results = store.apply(records, now_ms());
      // REDIS_WAIT_REPLICAS: the offsets move only once enough replicas hold what was written,
      // so a master lost right after this batch cannot take events Kafka no longer keeps for us.
      Status replicated = results ? client->wait_replicas(config.redis_wait_replicas, config.redis_wait_timeout)
                                  : Status(Ok{});
      metrics.apply_seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      if (!results || !replicated) {
        const Error& e = !results ? results.error() : replicated.error();
        retry_code = e.code;
        log::warn("redis cannot take the batch now; will retry",
                  {{"class", e.code}, {"error", e.message}, {"partition", batch.front()->partition},
                   {"offset", batch.front()->offset}, {"event_id", records.front().event_id}});
        return false;
      }
      const std::int64_t done_ms = now_ms();
      for (std::size_t i = 0; i < records.size(); ++i) {
        const ApplyResult& res = (*results)[i];
        const ChangeRecord& r = records[i];
        switch (res.outcome) {
          case ApplyOutcome::applied: counters.applied++; metrics.event(r.event_type, kApplied); break;
          case ApplyOutcome::stale: counters.stale++; metrics.event(r.event_type, kStale); break;
          case ApplyOutcome::ambiguous:
            counters.ambiguous++;
            metrics.event(r.event_type, kAmbiguous);
            break;
          case ApplyOutcome::duplicate: counters.duplicate++; metrics.event(r.event_type, kDuplicate); break;
          case ApplyOutcome::failed: dead.push_back({record_msgs[i], "script_error", res.error}); continue;
        }
        // Ambiguous, or decided by previous_attributes on a tie: Stripe has the answer.
        if (stripe && (res.outcome == ApplyOutcome::ambiguous || res.tie)) ambiguous.push_back(&r);
        if (std::string received = header(record_msgs[i], "ingress-received-ms"); !received.empty()) {
          std::int64_t ms = std::strtoll(received.c_str(), nullptr, 10);
          if (ms > 0) metrics.end_to_end_seconds.observe(seconds_since_ms(ms, done_ms));
        }
        if (r.created > 0) metrics.event_age_seconds.observe(seconds_since_ms(r.created * 1000, done_ms));
        log::debug("event applied", {{"event_id", r.event_id}, {"customer", r.key},
                                     {"outcome", to_string(res.outcome)},
                                     {"partition", record_msgs[i]->partition},
                                     {"offset", record_msgs[i]->offset}});
      }
    }
    // Before the dead letters, so that a batch retried for a revalidation produces none twice.
    for (const ChangeRecord* r : ambiguous) {
      if (auto held = revalidate(*r)) {
        // Redis refused the snapshot: the batch is held like any Redis failure, and its retry
        // answers duplicate with the tie kept in the marker, so the revalidation runs again.
        retry_code = held->code;
        log::warn("redis cannot take a revalidation now; will retry the batch",
                  {{"class", held->code}, {"error", held->message}, {"event_id", r->event_id},
                   {"customer", r->key}});
        return false;
      }
    }
    for (const auto& d : dead) {
      if (!dead_letter(d.msg, d.reason, d.error)) {
        retry_code = "dlq";
        return false;
      }
    }
    return true;
  }

  // WORKER_REVALIDATE: the event tied with the stored state (same second and rank), so which is
  // newer was decided by previous_attributes or not at all: fetch the object from Stripe and
  // apply that snapshot (stamped with Stripe's Date). A failed fetch leaves the object marked
  // `_revalidate` for the next ambiguous event or a portal return to settle; the event itself is
  // already durable. A snapshot Redis refuses is returned as that error: the caller holds the
  // batch, since a transient Redis failure must not drop the settlement of a tie.
  std::optional<Error> revalidate(const ChangeRecord& r) {
    enum { kRevalidated, kFetchFailed, kNotFound, kNotNewer };  // revalidations[] order
    if (r.key.find('/') != std::string::npos) return std::nullopt;  // Connect: needs the account's context
    StripeResult res;
    std::string object;
    auto find_in = [&](const boost::json::array& items) {
      for (const auto& item : items) {
        if (item.is_object() && item.as_object().if_contains("id") && item.at("id") == boost::json::value(r.object_id)) {
          object = boost::json::serialize(item);
        }
      }
    };
    boost::json::array items;
    switch (r.kind) {
      case ObjectKind::customer:
        res = stripe->get("/v1/customers/" + r.object_id);
        if (res.ok()) object = res.body;
        break;
      case ObjectKind::subscription:
        res = stripe_list_all(*stripe, "/v1/subscriptions", {{"customer", r.key}, {"status", "all"}}, items);
        find_in(items);
        break;
      case ObjectKind::payment_method:
        res = stripe_list_all(*stripe, "/v1/customers/" + r.key + "/payment_methods", {}, items);
        find_in(items);
        break;
      default:
        return std::nullopt;  // portal records are ours, not Stripe's objects
    }
    auto outcome = [&](int o, const char* message, std::string_view detail) -> std::optional<Error> {
      metrics.revalidations[o]->inc();
      log::info(message, {{"event_id", r.event_id}, {"customer", r.key}, {"object_id", r.object_id},
                          {"detail", detail}});
      return std::nullopt;
    };
    if (!res.ok() && res.error != StripeError::not_found) {
      return outcome(kFetchFailed, "revalidation failed", to_string(res.error));
    }
    if (object.empty() || res.date_unix == 0) {
      return outcome(res.date_unix == 0 && !object.empty() ? kFetchFailed : kNotFound, "revalidation found nothing to apply",
                     res.date_unix == 0 ? "no Date header" : "not in Stripe's answer");
    }
    ChangeRecord snap;
    if (extract_snapshot(object, res.date_unix, "reval_" + r.event_id, "revalidate", snap).status !=
        ExtractStatus::record) {
      return outcome(kFetchFailed, "revalidation failed", "Stripe's object could not be read");
    }
    auto client = redis.acquire();
    EventStore store(*client, config.store);
    auto applied = store.apply(std::span(&snap, 1), now_ms());
    if (!applied) {
      outcome(kFetchFailed, "revalidation failed", "Redis unavailable");
      return applied.error();
    }
    ApplyOutcome o = (*applied)[0].outcome;
    return outcome(o == ApplyOutcome::applied ? kRevalidated : kNotNewer, "revalidated from Stripe", to_string(o));
  }

  // Produces the original key, value and headers plus dlq-* headers; waits for the broker.
  bool dead_letter(const rd_kafka_message_t* m, const std::string& reason, const std::string& error) {
    std::string partition = std::to_string(m->partition), offset = std::to_string(m->offset),
                at = std::to_string(now_ms());
    OutgoingMessage out;
    out.topic = config.kafka_dlq_topic;
    out.key = std::string_view(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
    out.value = std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
        out.headers.push_back({name, std::string_view(static_cast<const char*>(value), size)});
      }
    }
    out.headers.push_back({"dlq-reason", reason});
    out.headers.push_back({"dlq-error", error});
    out.headers.push_back({"dlq-source-partition", partition});
    out.headers.push_back({"dlq-source-offset", offset});
    out.headers.push_back({"dlq-at-ms", at});
    std::promise<PublishResult> done;
    auto result = done.get_future();
    // The value is borrowed from the consumed message, which outlives this wait.
    dlq->publish(std::move(out), asio::system_executor(),
                 [&done](PublishResult r) { done.set_value(std::move(r)); });
    PublishResult r = result.get();
    std::string event_id = header(m, "stripe-event-id");
    if (r.status != PublishStatus::ok) {
      log::error("dead-letter produce failed; will retry", {{"event_id", event_id}, {"error", r.error}});
      return false;
    }
    counters.dead_lettered++;
    metrics.event(header(m, "stripe-event-type"), kDeadLettered);
    log::warn("event dead-lettered", {{"event_id", event_id}, {"reason", reason}, {"error", error},
                                      {"partition", m->partition}, {"offset", m->offset}});
    return true;
  }

  bool queues_empty() {
    std::lock_guard lock(mutex);
    for (auto& [id, p] : partitions)
      if (!p->queue.empty()) return false;
    return true;
  }

  WorkerConfig config;
  asio::thread_pool pool;
  kafka::HandlePtr consumer;
  std::unique_ptr<KafkaProducer> dlq;
  // WORKER_REVALIDATE only: the client, the shared budget, and the two together.
  std::unique_ptr<StripeClient> stripe_client;
  std::unique_ptr<StripeRateLimit> stripe_budget;
  std::unique_ptr<RateLimitedStripe> stripe;
  std::mutex mutex;  // guards `partitions` and every PartitionState
  std::condition_variable idle_cv;
  std::map<std::int32_t, std::shared_ptr<PartitionState>> partitions;
  RedisPool redis;
  std::atomic<bool> running{false};
  std::thread poller;
  WorkerCounters counters;
  metrics::Registry registry;
  WorkerMetrics metrics;
  std::atomic<bool> redis_reachable{false}, broker_reachable{false};
  std::mutex redis_reason_mutex;
  std::string redis_reason;  // why the probe found Redis unfit (guarded by redis_reason_mutex)
  std::thread monitor;
  std::mutex monitor_mutex;
  std::condition_variable monitor_cv;
  bool monitor_stop = false;
  bool stopped = false;
};

Worker::Worker(const WorkerConfig& config) : impl_(std::make_unique<Impl>(config)) {}

Worker::~Worker() { stop(); }

void Worker::start() {
  impl_->running = true;
  impl_->poller = std::thread([this] { impl_->poll_loop(); });
  impl_->monitor = std::thread([this] { impl_->monitor_loop(); });
  log::info("worker started", {{"group", impl_->config.kafka_group}, {"topic", impl_->config.kafka_topic},
                               {"threads", impl_->config.threads}});
}

void Worker::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->running = false;
  if (impl_->poller.joinable()) impl_->poller.join();
  // Apply what was fetched (Redis permitting), bounded; the rest is simply not committed.
  auto until = std::chrono::steady_clock::now() + impl_->config.drain_timeout;
  while (!impl_->queues_empty() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(20ms);
  }
  rd_kafka_consumer_close(impl_->consumer.get());  // revokes: commits what is durable
  impl_->pool.join();
  {
    std::lock_guard lock(impl_->monitor_mutex);
    impl_->monitor_stop = true;
  }
  impl_->monitor_cv.notify_all();
  if (impl_->monitor.joinable()) impl_->monitor.join();
  const auto& c = impl_->counters;
  log::info("worker stopped", {{"applied", static_cast<std::int64_t>(c.applied.load())},
                               {"stale", static_cast<std::int64_t>(c.stale.load())},
                               {"ambiguous", static_cast<std::int64_t>(c.ambiguous.load())},
                               {"duplicate", static_cast<std::int64_t>(c.duplicate.load())},
                               {"ignored", static_cast<std::int64_t>(c.ignored.load())},
                               {"dead_lettered", static_cast<std::int64_t>(c.dead_lettered.load())}});
}

const WorkerCounters& Worker::counters() const { return impl_->counters; }

metrics::Registry& Worker::registry() { return impl_->registry; }

bool Worker::ready(std::string* reason) const { return impl_->ready(reason); }

StatusAnswer status_route(Worker& w, std::string_view path) {
  StatusAnswer a;
  if (path == "/healthz") {
    a.body = R"({"status":"ok"})";
  } else if (path == "/readyz") {
    std::string why;
    if (w.ready(&why)) {
      a.body = R"({"status":"ready"})";
    } else {
      a.status = 503;
      a.body = error_body(ErrorCode::upstream_unavailable, why, unix_ms_now());
    }
  } else if (path == "/metrics") {
    a.content_type = "text/plain; version=0.0.4; charset=utf-8";
    a.body = w.registry().render();
  } else {
    a.status = 404;
    a.body = error_body(ErrorCode::not_found, "no such route", unix_ms_now());
  }
  return a;
}

}  // namespace stripe_sync::worker
