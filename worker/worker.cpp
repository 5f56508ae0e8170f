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
#include "common/kafka/kafka_consumer.hpp"
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
#include "worker/batch_applier.hpp"
#include "worker/dead_letter.hpp"
#include "worker/partition_scheduler.hpp"
#include "worker/readiness.hpp"
#include "worker/thin_fetcher.hpp"
#include "worker/revalidator.hpp"

namespace stripe_sync::worker {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// The scheduler's requests, carried out on our consumer.
class ConsumerControl final : public PartitionControl {
 public:
  explicit ConsumerControl(std::unique_ptr<kafka::KafkaConsumer>& consumer) : consumer_(consumer) {}
  void pause(std::int32_t partition) override { consumer_->pause(partition); }
  void resume(std::int32_t partition) override { consumer_->resume(partition); }
  void commit(std::int32_t partition, std::int64_t next_offset) override { consumer_->commit(partition, next_offset); }

 private:
  std::unique_ptr<kafka::KafkaConsumer>& consumer_;  // made after the scheduler, used once running
};

}  // namespace

struct Worker::Impl final : kafka::RebalanceHandler {
  explicit Impl(const WorkerConfig& c)
      : config(c), pool(static_cast<std::size_t>(c.threads)), redis(c.redis, c.redis_timeout), metrics(registry) {
    ProducerConfig pc;
    pc.brokers = c.kafka_brokers;
    pc.topics = {c.kafka_dlq_topic};
    pc.client_id = "stripe-worker-dlq";
    pc.message_timeout = 30s;
    dlq = std::make_unique<KafkaProducer>(pc);
    if (!c.stripe_api_key.empty()) {
      StripeClientConfig sc;
      sc.api_base = c.stripe_api_base;
      sc.api_key = c.stripe_api_key;
      sc.max_response_bytes = c.stripe_max_response_bytes;
      sc.metrics = &registry;
      stripe_client = std::make_unique<StripeClient>(sc);
      // Revalidation spends the deployment's one Stripe budget, like the portal and backfill.
      stripe_budget = std::make_unique<StripeRateLimit>(redis, stripe_budget_config(c.stripe_api_key, c.store.prefix, &registry));
      stripe = std::make_unique<RateLimitedStripe>(*stripe_client, *stripe_budget, StripePriority::normal);
      if (c.revalidate) revalidator = std::make_unique<Revalidator>(*stripe, redis, c.store, metrics);
      // Thin notifications' fetches: queued by every worker, drained by those with a key.
      thin_fetcher = std::make_unique<ThinFetcher>(*stripe, redis, config.store, metrics);
    }
    dead_letters = std::make_unique<DeadLetterWriter>(*dlq, c.kafka_dlq_topic);
    applier = std::make_unique<BatchApplier>(config, redis, *dead_letters, revalidator.get(), metrics, counters);
    SchedulerOptions so;
    so.batch_size = c.batch_size;
    so.max_queued_bytes = c.queue_max_bytes;
    so.backoff_max = c.backoff_max;
    scheduler = std::make_unique<PartitionScheduler>(
        pool, control,
        [this](const std::vector<const QueuedMessage*>& batch, std::string& retry_code) {
          std::vector<rd_kafka_message_t*> raw;
          raw.reserve(batch.size());
          for (const QueuedMessage* m : batch) raw.push_back(m->raw.get());
          return applier->apply(raw, retry_code);
        },
        so, metrics, counters);
    kafka::ConsumerConfig cc;
    cc.brokers = c.kafka_brokers;
    cc.group = c.kafka_group;
    cc.topic = c.kafka_topic;
    cc.client_id = "stripe-worker";
    cc.fetch_wait = c.fetch_wait;
    consumer = std::make_unique<kafka::KafkaConsumer>(cc, *this);
    readiness = std::make_unique<Readiness>(config, *dlq, *scheduler, metrics);
    registry.add_collector([this](std::string& out) { render_lag(out); });
  }

  // stripe_worker_consumer_lag: per assigned partition, the broker's high watermark (as last
  // seen by the fetcher, no round trip) minus the oldest offset not yet durable here.
  void render_lag(std::string& out) {
    std::vector<std::pair<std::string, double>> samples;
    for (auto [id, next] : scheduler->positions()) {
      auto high = consumer->high_watermark(id);
      if (!high) continue;
      if (next < 0) next = consumer->position(id).value_or(-1);
      if (next < 0) continue;
      samples.emplace_back("partition=\"" + std::to_string(id) + "\"", static_cast<double>(std::max<std::int64_t>(0, *high - next)));
    }
    metrics::render_gauge_family(out, "stripe_worker_consumer_lag",
                                 "Messages of an assigned partition not yet applied (high watermark minus the oldest "
                                 "offset not durable here)",
                                 samples);
  }

  // --- the poll thread ---------------------------------------------------------------------

  void poll_loop() {
    if (!consumer->subscribe()) return;
    while (running.load()) {
      kafka::MessagePtr m = consumer->poll(100ms);
      if (!m) continue;
      QueuedMessage q;
      q.partition = m->partition;
      q.offset = m->offset;
      q.bytes = m->len + m->key_len;
      q.raw = std::move(m);
      scheduler->enqueue(std::move(q));
    }
  }

  // kafka::RebalanceHandler, on the poll thread (inside poll or close).
  void on_assigned(std::span<const std::int32_t> partitions) override { scheduler->assign(partitions); }
  // Lets a batch in progress finish and abandons what is queued (it was not committed, and the
  // next owner fetches it again); the consumer then commits what is durable.
  void on_revoked(std::span<const std::int32_t> partitions) override {
    scheduler->revoke(partitions, std::chrono::steady_clock::now() + config.redis_timeout * 3);
  }

  WorkerConfig config;
  asio::thread_pool pool;
  std::unique_ptr<KafkaProducer> dlq;
  // With STRIPE_API_KEY: the client, the shared budget, and the two together; the revalidator
  // (WORKER_REVALIDATE=1) and the thin path's fetcher use them.
  std::unique_ptr<StripeClient> stripe_client;
  std::unique_ptr<StripeRateLimit> stripe_budget;
  std::unique_ptr<RateLimitedStripe> stripe;
  std::unique_ptr<Revalidator> revalidator;
  std::unique_ptr<ThinFetcher> thin_fetcher;
  std::unique_ptr<DeadLetterWriter> dead_letters;
  std::unique_ptr<BatchApplier> applier;
  ConsumerControl control{consumer};  // binds to `consumer` below: used only once it exists
  std::unique_ptr<PartitionScheduler> scheduler;
  // After the scheduler, so it goes first: closing it revokes into the scheduler.
  std::unique_ptr<kafka::KafkaConsumer> consumer;
  RedisPool redis;
  std::atomic<bool> running{false};
  std::thread poller;
  WorkerCounters counters;
  metrics::Registry registry;
  WorkerMetrics metrics;
  std::unique_ptr<Readiness> readiness;
  bool stopped = false;
};

Worker::Worker(const WorkerConfig& config) : impl_(std::make_unique<Impl>(config)) {}

Worker::~Worker() { stop(); }

void Worker::start() {
  impl_->running = true;
  impl_->poller = std::thread([this] { impl_->poll_loop(); });
  impl_->readiness->start();
  if (impl_->thin_fetcher) impl_->thin_fetcher->start();
  log::info("worker started", {{"group", impl_->config.kafka_group}, {"topic", impl_->config.kafka_topic},
                               {"threads", impl_->config.threads}});
}

void Worker::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->running = false;
  if (impl_->thin_fetcher) impl_->thin_fetcher->stop();  // a fetch in flight finishes; its lease keeps the rest
  if (impl_->poller.joinable()) impl_->poller.join();
  // Apply what was fetched (Redis permitting), bounded; the rest is simply not committed.
  auto until = std::chrono::steady_clock::now() + impl_->config.drain_timeout;
  while (!impl_->scheduler->queues_empty() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(20ms);
  }
  impl_->consumer->close();  // revokes: commits what is durable
  impl_->pool.join();
  impl_->readiness->stop();
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

bool Worker::ready(std::string* reason) const { return impl_->readiness->ready(reason); }

std::string Worker::metrics_text() const { return impl_->registry.render(); }

}  // namespace stripe_sync::worker
