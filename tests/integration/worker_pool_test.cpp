// The worker's engine in this process (so ThreadSanitizer sees every thread of it): a consumer
// in a group on librdkafka's mock cluster, the pool applying partitions in parallel to a real
// redis-server; Redis goes away, and while the partitions are paused a second worker joins and
// leaves (two rebalances); /metrics is scraped all along. Every event must end applied once, in
// the newest state.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <atomic>
#include <thread>

#include "common/billing/envelope.hpp"
#include "common/billing/event_message.hpp"
#include "common/kafka/kafka_producer.hpp"
#include "common/kafka/mock_cluster.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/redis_server.hpp"
#include "worker/worker.hpp"

namespace stripe_sync {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int kCustomers = 60;
constexpr int kUpdates = 20;  // per customer, one a second

class WorkerPool : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<MockKafkaCluster>(3);
    cluster_->create_topic("stripe.events", 6);
    cluster_->create_topic("stripe.events.dlq", 1);
    redis_ = std::make_unique<test::RedisServer>(/*persistent=*/true);
  }

  worker::WorkerConfig config() const {
    worker::WorkerConfig c;
    c.kafka_brokers = cluster_->bootstrap_servers();
    c.redis = redis_->endpoint();
    c.redis_timeout = 500ms;
    c.backoff_max = 1000ms;
    c.threads = 4;
    c.batch_size = 16;
    return c;
  }

  // Every customer's updates, produced in order of creation (as Stripe would send them).
  void produce_all() {
    ProducerConfig pc;
    pc.brokers = cluster_->bootstrap_servers();
    pc.topics = {"stripe.events"};
    KafkaProducer producer(pc);
    json::object base = json::parse(test::read_fixture("events/customer.updated.json")).as_object();
    boost::asio::io_context ioc;
    std::vector<std::string> bodies;
    bodies.reserve(kCustomers * kUpdates);
    std::atomic<int> ok{0};
    for (int u = 0; u < kUpdates; ++u) {
      for (int c = 0; c < kCustomers; ++c) {
        json::object ev = base;
        ev["id"] = "evt_pool_" + std::to_string(c) + "_" + std::to_string(u);
        ev["created"] = 1795500000 + u;
        json::object& data = ev["data"].as_object();
        data.erase("previous_attributes");
        data["object"].as_object()["id"] = "cus_pool" + std::to_string(c);
        data["object"].as_object()["email"] = "v" + std::to_string(u) + "@example.com";
        bodies.push_back(json::serialize(ev));
        Envelope env;
        ASSERT_TRUE(read_envelope(bodies.back(), env));
        EventHeaders headers;
        std::string key = env.partition_key();
        producer.publish(event_message("stripe.events", env, key, bodies.back(), 1795500000000, "webhook", headers),
                         ioc.get_executor(), [&](PublishResult r) { ok += r.status == PublishStatus::ok; });
      }
    }
    auto work = boost::asio::make_work_guard(ioc);  // delivery reports are posted here
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (ok.load() < kCustomers * kUpdates && std::chrono::steady_clock::now() < until) ioc.run_one_for(100ms);
    ASSERT_EQ(ok.load(), kCustomers * kUpdates);
  }

  std::int64_t markers() {
    auto c = redis_->client();
    std::int64_t n = 0;
    for (int i = 0; i < kCustomers; ++i) {
      // Each customer's processed markers: the hashes of its events' days.
      auto v = c->command({"EVAL", "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do n = n + redis.call('HLEN', k) end return n",
                           "0", "stripe:{cus_pool" + std::to_string(i) + "}:events:*"});
      if (!v) return -1;
      n += v->integer;
    }
    return n;
  }

  std::unique_ptr<MockKafkaCluster> cluster_;
  std::unique_ptr<test::RedisServer> redis_;
};

TEST_F(WorkerPool, PartitionsPausedOnRedisAndMovedByTwoRebalancesAreAllAppliedOnceInOrder) {
  produce_all();
  worker::Worker a(config());
  std::atomic<bool> scraping{true};
  std::thread scraper([&] {  // /metrics and /readyz read the pool's state from another thread
    while (scraping.load()) {
      std::string text = a.registry().render();
      std::string why;
      a.ready(&why);
      EXPECT_NE(text.find("stripe_worker_assigned_partitions"), std::string::npos);
      std::this_thread::sleep_for(5ms);
    }
  });
  const std::int64_t total = kCustomers * kUpdates;
  auto gauge = [](worker::Worker& w, const std::string& name) {
    std::string text = w.registry().render();
    auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(text.substr(at + name.size() + 2));
  };
  // Redis is away: `a` gets every partition, pauses each and retries. While they are paused, `b` joins and
  // leaves: two rebalances move the paused partitions away and back. librdkafka keeps a paused
  // partition paused across a re-assignment, so `a` must resume what it is given.
  redis_->stop();
  a.start();
  ASSERT_TRUE(test::eventually([&] { return gauge(a, "stripe_worker_retrying_partitions") >= 6; }, 60s));
  {
    auto cb = config();
    cb.drain_timeout = 1000ms;
    worker::Worker b(cb);
    b.start();
    ASSERT_TRUE(test::eventually([&] { return gauge(b, "stripe_worker_assigned_partitions") > 0; }, 60s));
    b.stop();  // leaves: its partitions come back to `a`
  }
  redis_->start();
  ASSERT_TRUE(test::eventually([&] { return markers() == total; }, 120s)) << markers() << " of " << total;
  scraping = false;
  scraper.join();
  a.stop();

  auto c = redis_->client();
  for (int i = 0; i < kCustomers; ++i) {
    std::string cus = "cus_pool" + std::to_string(i);
    EXPECT_EQ(c->command({"HGET", "stripe:{" + cus + "}:customer", "email"})->str,
              "v" + std::to_string(kUpdates - 1) + "@example.com")
        << cus;
    // One audit entry per event: nothing applied twice, nothing lost.
    EXPECT_EQ(c->command({"XLEN", "stripe:{" + cus + "}:audit"})->integer, kUpdates) << cus;
  }
  EXPECT_GT(a.counters().applied.load(), 0u);
}

}  // namespace
}  // namespace stripe_sync

namespace stripe_sync {
namespace {

// Redis full (OOM under noeviction), then demoted (READONLY): the worker keeps every batch,
// dead-letters nothing, counts each class, and applies everything once Redis takes writes again.
TEST_F(WorkerPool, OomAndReadonlyWindowsAreRetriedNotDeadLettered) {
  produce_all();
  auto admin = redis_->client();
  ASSERT_TRUE(admin->command({"CONFIG", "SET", "maxmemory", "1"}));
  worker::Worker w(config());
  auto series = [&](const std::string& name) {
    std::string text = w.registry().render();
    auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + name.size() + 2));
  };
  w.start();
  ASSERT_TRUE(test::eventually([&] { return series(R"(stripe_worker_redis_retries_total{class="oom"})") >= 2; }, 60s));
  std::string why;
  EXPECT_FALSE(w.ready(&why));
  ASSERT_TRUE(admin->command({"REPLICAOF", "127.0.0.1", std::to_string(test::free_port())}));
  ASSERT_TRUE(test::eventually([&] { return series(R"(stripe_worker_redis_retries_total{class="readonly"})") >= 2; }, 60s));
  EXPECT_EQ(markers(), 0);  // nothing was written meanwhile
  ASSERT_TRUE(admin->command({"REPLICAOF", "NO", "ONE"}));
  ASSERT_TRUE(admin->command({"CONFIG", "SET", "maxmemory", "0"}));
  const std::int64_t total = kCustomers * kUpdates;
  ASSERT_TRUE(test::eventually([&] { return markers() == total; }, 120s)) << markers() << " of " << total;
  EXPECT_TRUE(test::eventually([&] { return w.ready(&why); }, 10s)) << why;
  w.stop();
  EXPECT_EQ(w.counters().dead_lettered.load(), 0u);
  EXPECT_EQ(w.counters().applied.load(), static_cast<std::uint64_t>(total));
}

}  // namespace
}  // namespace stripe_sync

namespace stripe_sync {
namespace {

// REDIS_WAIT_REPLICAS=1 on a Redis without a replica: every batch applies, but WAIT sees no
// replica, so no offset is committed and the worker is not ready. Once a replica has the data,
// the retried batches (duplicates now) commit, and each event is in the audit exactly once.
TEST_F(WorkerPool, WaitReplicasHoldsEveryCommitUntilAReplicaHasTheBatch) {
  produce_all();
  auto c = config();
  c.redis_wait_replicas = 1;
  c.redis_wait_timeout = 100ms;
  worker::Worker w(c);
  auto text = [&] { return w.registry().render(); };
  auto lag = [&] {  // the sum of stripe_worker_consumer_lag over the assigned partitions; -1: none yet
    std::string t = text();
    double sum = -1;
    for (std::size_t at = t.find("\nstripe_worker_consumer_lag{"); at != std::string::npos;
         at = t.find("\nstripe_worker_consumer_lag{", at + 1)) {
      sum = std::max(sum, 0.0) + std::stod(t.substr(t.find("} ", at) + 2));
    }
    return sum;
  };
  w.start();
  const std::string waits = R"(stripe_worker_redis_retries_total{class="wait_replicas"} )";
  ASSERT_TRUE(test::eventually([&] {
    std::string t = text();
    auto at = t.find(waits);
    return at != std::string::npos && std::stod(t.substr(at + waits.size())) >= 6;
  }, 60s));
  std::string why;
  EXPECT_FALSE(w.ready(&why));
  EXPECT_GT(lag(), 0) << "an offset was committed without a replica";
  test::RedisServer replica;
  ASSERT_TRUE(replica.client()->command({"REPLICAOF", "127.0.0.1", std::to_string(redis_->port())}));
  const std::int64_t total = kCustomers * kUpdates;
  ASSERT_TRUE(test::eventually([&] { return lag() == 0; }, 120s)) << lag();
  EXPECT_TRUE(test::eventually([&] { return w.ready(&why); }, 10s)) << why;
  w.stop();
  EXPECT_EQ(w.counters().dead_lettered.load(), 0u);
  EXPECT_EQ(markers(), total);
  auto r = replica.client();
  for (int i = 0; i < kCustomers; ++i) {
    auto audit = r->command({"XLEN", "stripe:{cus_pool" + std::to_string(i) + "}:audit"});  // read on the replica
    ASSERT_TRUE(audit);
    EXPECT_EQ(audit->integer, kUpdates) << i;
  }
}

}  // namespace
}  // namespace stripe_sync
