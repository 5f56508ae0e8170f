#include "worker/worker.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "common/event_extract.hpp"
#include "common/event_store.hpp"
#include "common/kafka_handles.hpp"
#include "common/kafka_producer.hpp"
#include "common/log.hpp"
#include "common/redis_pool.hpp"

namespace stripe_sync::worker {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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
  std::chrono::milliseconds backoff{0};
  std::unique_ptr<asio::steady_timer> timer;
};

struct Worker::Impl {
  explicit Impl(const WorkerConfig& c)
      : config(c), pool(static_cast<std::size_t>(c.threads)), redis(c.redis, c.redis_timeout) {
    ProducerConfig pc;
    pc.brokers = c.kafka_brokers;
    pc.topics = {c.kafka_dlq_topic};
    pc.client_id = "stripe-worker-dlq";
    pc.message_timeout = 30s;
    dlq = std::make_unique<KafkaProducer>(pc);
    make_consumer();
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
      }
      log::info("partitions assigned", {{"count", parts->cnt}});
      rd_kafka_assign(rk, parts);
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
    for (int i = 0; i < parts->cnt; ++i) partitions.erase(parts->elems[i].partition);
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

    bool durable = process_batch(batch);

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
    state->backoff = 0ms;
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
  bool process_batch(const std::vector<rd_kafka_message_t*>& batch) {
    std::vector<ChangeRecord> records;
    std::vector<const rd_kafka_message_t*> record_msgs;
    struct Dead {
      const rd_kafka_message_t* msg;
      std::string reason, error;
    };
    std::vector<Dead> dead;
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
        log::debug("event type not kept", {{"event_id", r.event_id}, {"type", r.event_type}});
      } else {
        dead.push_back({m, x.reason, x.detail});
      }
    }
    if (!records.empty()) {
      std::optional<std::vector<ApplyResult>> results;
      std::string error;
      {
        auto client = redis.acquire();
        EventStore store(*client, config.store);
        results = store.apply(records, now_ms());
        if (!results) error = client->last_error();
      }
      if (!results) {
        log::warn("redis unavailable; will retry", {{"error", error}, {"partition", batch.front()->partition},
                                                    {"offset", batch.front()->offset}});
        return false;
      }
      for (std::size_t i = 0; i < records.size(); ++i) {
        const ApplyResult& res = (*results)[i];
        const ChangeRecord& r = records[i];
        switch (res.outcome) {
          case ApplyOutcome::applied: counters.applied++; break;
          case ApplyOutcome::stale: counters.stale++; break;
          case ApplyOutcome::ambiguous: counters.ambiguous++; break;
          case ApplyOutcome::duplicate: counters.duplicate++; break;
          case ApplyOutcome::failed: dead.push_back({record_msgs[i], "script_error", res.error}); continue;
        }
        log::debug("event applied", {{"event_id", r.event_id}, {"customer", r.key},
                                     {"outcome", to_string(res.outcome)},
                                     {"partition", record_msgs[i]->partition},
                                     {"offset", record_msgs[i]->offset}});
      }
    }
    for (const auto& d : dead) {
      if (!dead_letter(d.msg, d.reason, d.error)) return false;
    }
    return true;
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
  std::mutex mutex;  // guards `partitions` and every PartitionState
  std::condition_variable idle_cv;
  std::map<std::int32_t, std::shared_ptr<PartitionState>> partitions;
  RedisPool redis;
  std::atomic<bool> running{false};
  std::thread poller;
  WorkerCounters counters;
  bool stopped = false;
};

Worker::Worker(const WorkerConfig& config) : impl_(std::make_unique<Impl>(config)) {}

Worker::~Worker() { stop(); }

void Worker::start() {
  impl_->running = true;
  impl_->poller = std::thread([this] { impl_->poll_loop(); });
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
  const auto& c = impl_->counters;
  log::info("worker stopped", {{"applied", static_cast<std::int64_t>(c.applied.load())},
                               {"stale", static_cast<std::int64_t>(c.stale.load())},
                               {"ambiguous", static_cast<std::int64_t>(c.ambiguous.load())},
                               {"duplicate", static_cast<std::int64_t>(c.duplicate.load())},
                               {"ignored", static_cast<std::int64_t>(c.ignored.load())},
                               {"dead_lettered", static_cast<std::int64_t>(c.dead_lettered.load())}});
}

const WorkerCounters& Worker::counters() const { return impl_->counters; }

}  // namespace stripe_sync::worker
