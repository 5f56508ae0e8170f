// The client against a Redis Cluster of real redis-server processes (3 masters, 3 replicas):
// found from one seed node, each command routed to its slot's master, MOVED and ASK followed
// while slots move, a master SIGKILLed under REDIS_WAIT_REPLICAS=1 losing nothing acknowledged.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "common/billing/event_extract.hpp"
#include "common/billing/event_store.hpp"
#include "common/redis/redis_cluster.hpp"
#include "common/redis/redis_pool.hpp"
#include "common/redis/redis_settings.hpp"
#include "common/stripe/stripe_rate_limit.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/redis_cluster.hpp"

namespace stripe_sync {
namespace {

using namespace std::chrono_literals;

class RedisClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new test::RedisCluster(3); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  // customer.updated for customer `c`, version `v` (a second per version).
  static ChangeRecord update(int c, int v) {
    ChangeRecord r;
    auto x = extract_change(test::read_fixture("events/customer.updated.json"), r);
    EXPECT_EQ(x.status, ExtractStatus::record);
    r.key = r.object_id = "cus_cl" + std::to_string(c);
    r.event_id = "evt_cl_" + std::to_string(c) + "_" + std::to_string(v);
    r.created = 1795500000 + v;
    r.has_previous = false;
    r.previous.clear();
    for (auto& [k, val] : r.fields) {
      if (k == "email") val = "v" + std::to_string(v) + "@example.com";
      if (k == "id") val = r.object_id;
    }
    return r;
  }

  static std::string email_of(RedisClient& redis, int c) {
    auto v = redis.command({"HGET", "stripe:{cus_cl" + std::to_string(c) + "}:customer", "email"});
    return v ? v->str : "<" + v.error().message + ">";
  }

  static test::RedisCluster* cluster_;
};
test::RedisCluster* RedisClusterTest::cluster_ = nullptr;

TEST_F(RedisClusterTest, KeySlotAgreesWithRedisItself) {
  auto node = cluster_->node(0).client();
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> len(0, 40), ch(32, 126);
  std::vector<std::string> keys{"", "{}", "{a}", "a{}b", "{{x}}", "stripe:{cus_1}:audit", "stripe:{acct_9/cus_2}:customer"};
  for (int i = 0; i < 500; ++i) {
    std::string k;
    for (int j = len(rng); j > 0; --j) k.push_back(static_cast<char>(ch(rng)));
    keys.push_back(k);
  }
  for (const auto& k : keys) {
    auto slot = node->command({"CLUSTER", "KEYSLOT", k});
    ASSERT_TRUE(slot);
    EXPECT_EQ(redis_key_slot(k), slot->integer) << k;
  }
}

TEST_F(RedisClusterTest, FindsTheClusterFromOneNodeAndRoutesEveryRecord) {
  RedisClient redis(cluster_->endpoint(), 2s);
  EventStore store(redis, StoreConfig{});
  std::vector<ChangeRecord> batch;
  for (int c = 0; c < 60; ++c) batch.push_back(update(c, 1));
  auto out = store.apply(batch, 1);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_TRUE(redis.is_cluster());
  for (const auto& r : *out) EXPECT_EQ(r.outcome, ApplyOutcome::applied) << r.error;
  // The customers are spread over all three masters, and any seed reads them back.
  std::set<int> masters;
  for (int c = 0; c < 60; ++c) masters.insert(cluster_->master_of(redis_key_slot("cus_cl" + std::to_string(c))));
  EXPECT_EQ(masters.size(), 3u);
  RedisClient other(cluster_->node(4).endpoint(), 2s);
  for (int c = 0; c < 60; ++c) EXPECT_EQ(email_of(other, c), "v1@example.com");
  EXPECT_TRUE(other.ping());
  auto every = other.on_every_master({"DBSIZE"});
  ASSERT_TRUE(every);
  EXPECT_EQ(every->size(), 3u);
  // The readiness probe and the settings check see every master.
  RedisProbe probe(cluster_->endpoint(), 1000ms, false, 0ms);
  EXPECT_TRUE(probe.check());
  auto settings = read_redis_settings(other);
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_TRUE(settings->evicting.empty());
  EXPECT_TRUE(settings->aof_off.empty());  // the test nodes run with AOF, as deploy/ does
  // Every master is read: with AOF off on all three, all three are named.
  ASSERT_TRUE(other.on_every_master({"CONFIG", "SET", "appendonly", "no"}));
  settings = read_redis_settings(other);
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->aof_off.size(), 3u);
  ASSERT_TRUE(other.on_every_master({"CONFIG", "SET", "appendonly", "yes"}));
}

TEST_F(RedisClusterTest, TheStripeBudgetIsOneBucketWhereverItsSlotLives) {
  RedisPool pool(cluster_->endpoint(), 2s);
  StripeRateConfig c;
  c.rate_per_s = 0.001;  // no refill within the test
  c.burst = 3;
  c.reserve = 0;
  c.max_wait = 0ms;
  StripeRateLimit limit(pool, c);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limit.acquire(StripePriority::normal)) << i;
  EXPECT_FALSE(limit.acquire(StripePriority::normal));  // the bucket is spent: it was one bucket
  RedisClient reader(cluster_->node(2).endpoint(), 2s);
  auto tokens = reader.command({"HGET", c.key, "tokens"});
  ASSERT_TRUE(tokens) << tokens.error().message;
  EXPECT_LT(std::stod(tokens->str), 1.0);
}

TEST_F(RedisClusterTest, AppliesEverythingWhileTwoThousandSlotsMove) {
  RedisClient redis(cluster_->endpoint(), 2s);
  EventStore store(redis, StoreConfig{});
  // Move 2,000 slots from the master of slot 0 to the master of slot 16383, during traffic.
  auto from = cluster_->node(cluster_->master_of(0)).client()->command({"CLUSTER", "MYID"});
  auto to = cluster_->node(cluster_->master_of(16383)).client()->command({"CLUSTER", "MYID"});
  ASSERT_TRUE(from && to);
  std::atomic<int> exit_status{-1};
  std::thread reshard([&] {
    // redis-cli gives up when the nodes briefly disagree on the configuration: then again.
    int status = -1;
    for (int attempt = 0; attempt < 5 && status != 0; ++attempt) {
      status = cluster_->cli({"reshard", "127.0.0.1:" + std::to_string(cluster_->node(0).port()), "--cluster-from",
                              from->str, "--cluster-to", to->str, "--cluster-slots", "2000", "--cluster-yes"});
      if (status != 0) std::this_thread::sleep_for(500ms);
    }
    exit_status = status;
  });
  constexpr int kCustomers = 300;
  int transient = 0, versions = 0;
  // Versions keep coming until the reshard is over, at least eight of them.
  for (int v = 1; v <= 8 || exit_status.load() < 0; ++v) {
    versions = v;
    std::vector<ChangeRecord> batch;
    for (int c = 0; c < kCustomers; ++c) batch.push_back(update(c, v));
    for (;;) {  // as the worker does: a transient failure retries the batch, markers dedupe it
      auto out = store.apply(batch, 1);
      if (out) {
        for (const auto& r : *out) ASSERT_NE(r.outcome, ApplyOutcome::failed) << r.error;
        break;
      }
      ASSERT_TRUE(out.error().transient()) << out.error().message;
      ++transient;
      std::this_thread::sleep_for(20ms);
    }
  }
  reshard.join();
  EXPECT_EQ(exit_status.load(), 0) << cluster_->last_output().substr(0, 3000);
  ASSERT_TRUE(test::eventually([&] { return cluster_->healthy(); }, 30s));
  RedisClient reader(cluster_->node(1).endpoint(), 2s);
  for (int c = 0; c < kCustomers; ++c) {
    EXPECT_EQ(email_of(reader, c), "v" + std::to_string(versions) + "@example.com") << c;
    auto audit = reader.command({"XLEN", "stripe:{cus_cl" + std::to_string(c) + "}:audit"});
    ASSERT_TRUE(audit);
    EXPECT_EQ(audit->integer, versions) << c;  // one entry an event, none twice
  }
  RecordProperty("transient_retries", transient);
}

TEST_F(RedisClusterTest, AMasterKilledAfterWaitLosesNothingAcknowledged) {
  RedisClient redis(cluster_->endpoint(), 2s);
  EventStore store(redis, StoreConfig{});
  constexpr int kBase = 1000, kCustomers = 40;
  // Write and WAIT for one replica, as the worker does before committing offsets.
  std::vector<ChangeRecord> batch;
  for (int c = kBase; c < kBase + kCustomers; ++c) batch.push_back(update(c, 1));
  auto out = store.apply(batch, 1);
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_TRUE(redis.wait_replicas(1, 2000ms));
  // SIGKILL the master of the first customer: its replica is promoted.
  int victim = cluster_->master_of(redis_key_slot("cus_cl" + std::to_string(kBase)));
  ASSERT_GE(victim, 0);
  cluster_->node(static_cast<std::size_t>(victim)).kill();
  // Readiness says so until the replica has taken over.
  RedisProbe probe(cluster_->node(static_cast<std::size_t>((victim + 1) % 6)).endpoint(), 500ms, false);
  EXPECT_FALSE(probe.check());
  // The next batch fails transiently until the failover is done, then applies on the new master.
  std::vector<ChangeRecord> next;
  for (int c = kBase; c < kBase + kCustomers; ++c) next.push_back(update(c, 2));
  ASSERT_TRUE(test::eventually(
      [&] {
        auto r = store.apply(next, 1);
        return r && redis.wait_replicas(0, 0ms);
      },
      30s));
  EXPECT_TRUE(test::eventually([&] { return probe.check().ok(); }, 30s));
  // The old master comes back, as a replica of the promoted one.
  cluster_->node(static_cast<std::size_t>(victim)).start();
  ASSERT_TRUE(test::eventually([&] { return cluster_->healthy(); }, 30s));
  ASSERT_TRUE(test::eventually(
      [&] {
        auto role = cluster_->node(static_cast<std::size_t>(victim)).client()->command({"ROLE"});
        return role && !role->elements.empty() && role->elements[0].str == "slave";
      },
      30s))
      << cluster_->node(static_cast<std::size_t>(victim)).client()->command({"CLUSTER", "NODES"})->str;
  RedisClient reader(cluster_->node(static_cast<std::size_t>((victim + 1) % 6)).endpoint(), 2s);
  for (int c = kBase; c < kBase + kCustomers; ++c) {
    EXPECT_EQ(email_of(reader, c), "v2@example.com") << c;
    auto audit = reader.command({"XLEN", "stripe:{cus_cl" + std::to_string(c) + "}:audit"});
    ASSERT_TRUE(audit);
    EXPECT_EQ(audit->integer, 2) << c;
  }
}

}  // namespace
}  // namespace stripe_sync
