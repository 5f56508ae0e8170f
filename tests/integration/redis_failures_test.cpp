// Each transient class of Redis error reply, made by a real redis-server the way production
// meets it, seen through the one apply path: the batch fails as a whole with the right class
// (so the worker retries it and dead-letters nothing), nothing of it is half-written, and once
// the condition ends the same batch applies.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <thread>

#include "common/billing/event_extract.hpp"
#include "common/core/config.hpp"
#include "common/billing/event_store.hpp"
#include "common/redis/redis_errors.hpp"
#include "common/redis/redis_settings.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/redis_server.hpp"

namespace stripe_sync {
namespace {

using namespace std::chrono_literals;

constexpr const char* kCustomer = "stripe:{cus_Rx7Example001}:customer";

class RedisFailures : public ::testing::Test {
 protected:
  void SetUp() override {
    admin_ = redis_.client();
    client_ = redis_.client();
    store_ = std::make_unique<EventStore>(*client_, StoreConfig{});
    auto x = extract_change(test::read_fixture("events/customer.created.json"), record_);
    ASSERT_EQ(x.status, ExtractStatus::record) << x.detail;
  }

  void admin(std::vector<std::string_view> argv) {
    auto r = admin_->command(argv);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_FALSE(r->is_error()) << r->str;
  }

  // The apply fails as a whole, transient, with this class; nothing of the record is written
  // (checked unless the server cannot answer reads either).
  void expect_refused(const std::string& code, bool check_nothing_written = true) {
    auto out = store_->apply(std::span(&record_, 1), 1);
    ASSERT_FALSE(out) << "applied although Redis should refuse with " << code;
    EXPECT_EQ(out.error().code, code) << out.error().message;
    EXPECT_TRUE(out.error().transient());
    if (!check_nothing_written) return;
    auto exists = admin_->command({"EXISTS", kCustomer, "stripe:{cus_Rx7Example001}:audit",
                                   store_->keys(record_).marker});
    ASSERT_TRUE(exists);
    EXPECT_EQ(exists->integer, 0) << "half written under " << code;
  }

  void expect_applied() {
    auto out = store_->apply(std::span(&record_, 1), 1);
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(out->front().outcome, ApplyOutcome::applied);
  }

  test::RedisServer redis_;
  std::unique_ptr<RedisClient> admin_, client_;
  std::unique_ptr<EventStore> store_;
  ChangeRecord record_;
};

TEST_F(RedisFailures, OomRefusesTheScriptBeforeItWritesAnything) {
  admin({"CONFIG", "SET", "maxmemory", "1"});
  expect_refused("oom");
  admin({"CONFIG", "SET", "maxmemory", "0"});
  expect_applied();
}

TEST_F(RedisFailures, ADemotedNodeAnswersReadonly) {
  std::string nowhere = std::to_string(test::free_port());
  admin({"REPLICAOF", "127.0.0.1", nowhere});
  expect_refused("readonly");
  admin({"REPLICAOF", "NO", "ONE"});
  expect_applied();
}

TEST_F(RedisFailures, AReplicaWithoutItsMasterAnswersMasterdownToReads) {
  std::string nowhere = std::to_string(test::free_port());
  admin({"CONFIG", "SET", "replica-serve-stale-data", "no"});
  admin({"REPLICAOF", "127.0.0.1", nowhere});
  // A write meets READONLY first; a read (the portal's, the CLI's) meets MASTERDOWN.
  auto read = client_->pipeline({{"HGETALL", kCustomer}, {"SMEMBERS", "stripe:{cus_Rx7Example001}:subscriptions"}});
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, "masterdown") << read.error().message;
  expect_refused("readonly", /*check_nothing_written=*/false);
  admin({"REPLICAOF", "NO", "ONE"});
  auto exists = admin_->command({"EXISTS", kCustomer});
  ASSERT_TRUE(exists);
  EXPECT_EQ(exists->integer, 0);
  expect_applied();
}

TEST_F(RedisFailures, AFailingSnapshotAnswersMisconf) {
  // The snapshot directory vanishes under Redis, so BGSAVE fails, and with
  // stop-writes-on-bgsave-error (the default) Redis refuses writes.
  // `dir` is a protected setting in Redis 7: this server may change it.
  redis_.stop();
  redis_.start_with({"--enable-protected-configs", "yes"}, /*wait_ready=*/true);
  admin_ = redis_.client();
  client_ = redis_.client();
  store_ = std::make_unique<EventStore>(*client_, StoreConfig{});
  auto dir = std::filesystem::temp_directory_path() / ("stripe-sync-misconf-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  admin({"CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"});
  admin({"CONFIG", "SET", "save", "3600 1"});  // the refusal applies only with save points
  admin({"CONFIG", "SET", "dir", dir.string()});
  std::filesystem::remove_all(dir);
  admin({"BGSAVE"});
  ASSERT_TRUE(test::eventually([&] {
    auto info = admin_->command({"INFO", "persistence"});
    return info && info->str.find("rdb_last_bgsave_status:err") != std::string::npos;
  }, 10s));
  expect_refused("misconf");
  std::filesystem::create_directories(dir);
  admin({"CONFIG", "SET", "dir", dir.string()});  // Redis sits in the deleted one: move it back in
  admin({"BGSAVE"});
  ASSERT_TRUE(test::eventually([&] {
    auto info = admin_->command({"INFO", "persistence"});
    return info && info->str.find("rdb_last_bgsave_status:ok") != std::string::npos;
  }, 10s));
  expect_applied();
  std::filesystem::remove_all(dir);
}

TEST_F(RedisFailures, TooFewReplicasAnswersNoreplicas) {
  admin({"CONFIG", "SET", "min-replicas-to-write", "1"});
  expect_refused("noreplicas");
  admin({"CONFIG", "SET", "min-replicas-to-write", "0"});
  expect_applied();
}

TEST_F(RedisFailures, ALongScriptMakesRedisBusy) {
  admin({"CONFIG", "SET", "busy-reply-threshold", "50"});
  // Another client runs a read-only script for two seconds; past 50 ms Redis answers BUSY.
  std::thread busy([this] {
    auto other = redis_.client();
    auto r = other->command({"EVAL", "local t = redis.call('TIME')[1] + 2 while tonumber(redis.call('TIME')[1]) < t do end return 1", "0"});
    (void)r;
  });
  // Once Redis answers BUSY to a PING, the script has run past the threshold.
  bool saw_busy = test::eventually([&] {
    auto pong = admin_->command({"PING"});
    return !pong && pong.error().code == "busy";
  }, 5s);
  EXPECT_TRUE(saw_busy);
  if (saw_busy) expect_refused("busy", /*check_nothing_written=*/false);  // reads are refused too
  busy.join();
  expect_applied();  // applied, not duplicate: nothing was written while Redis was busy
}

TEST_F(RedisFailures, ARestartedRedisAnswersLoadingUntilItsDataIsIn) {
  // 20,000 keys at 200 µs each: about 4 s of LOADING. Redis answers clients while loading only
  // between reads of loading-process-events-interval-bytes (2 MB by default): made small here.
  admin({"DEBUG", "POPULATE", "20000", "filler", "512"});
  admin({"SAVE"});
  redis_.stop();
  redis_.start_with({"--key-load-delay", "200", "--loading-process-events-interval-bytes", "1024"},
                    /*wait_ready=*/false);
  bool saw_loading = test::eventually([&] {
    auto out = store_->apply(std::span(&record_, 1), 1);
    return !out && out.error().code == "loading";
  }, 10s);
  EXPECT_TRUE(saw_loading);
  ASSERT_TRUE(test::eventually([&] { return static_cast<bool>(store_->apply(std::span(&record_, 1), 1)); }, 30s));
  auto dbsize = redis_.client()->command({"DBSIZE"});
  ASSERT_TRUE(dbsize);
  EXPECT_GE(dbsize->integer, 20000);
}

TEST_F(RedisFailures, AFullServerAnswersMaxClients) {
  admin({"CONFIG", "SET", "maxclients", "1"});
  // admin_ holds the one connection; the store's client connects afresh and is refused.
  auto out = store_->apply(std::span(&record_, 1), 1);
  ASSERT_FALSE(out);
  EXPECT_TRUE(out.error().code == "maxclients" || out.error().code == "connection") << out.error().message;
  admin({"CONFIG", "SET", "maxclients", "100"});
  ASSERT_TRUE(test::eventually([&] { return static_cast<bool>(store_->apply(std::span(&record_, 1), 1)); }, 5s));
}

TEST_F(RedisFailures, WrongtypeOnOurKeyIsTheRecordsOwnPermanentFailure) {
  admin({"SET", kCustomer, "not a hash"});
  auto out = store_->apply(std::span(&record_, 1), 1);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->front().outcome, ApplyOutcome::failed);
  EXPECT_EQ(classify_redis_error(out->front().error).cls, ErrorClass::permanent);
}

TEST_F(RedisFailures, AnEvictingPolicyIsRefusedUnlessAllowed) {
  admin({"CONFIG", "SET", "maxmemory-policy", "volatile-lru"});
  auto report = read_redis_settings(*client_);
  ASSERT_TRUE(report) << report.error().message;
  auto refused = refuse_eviction(*report, false);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("volatile-lru"), std::string::npos);
  EXPECT_TRUE(refuse_eviction(*report, true));
  EXPECT_THROW(check_redis_at_start(redis_.endpoint(), false), ConfigError);
  EXPECT_NO_THROW(check_redis_at_start(redis_.endpoint(), true));
  admin({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  report = read_redis_settings(*client_);
  ASSERT_TRUE(report);
  EXPECT_TRUE(refuse_eviction(*report, false));
  EXPECT_EQ(report->aof_off.size(), 1u);  // the test server runs without appendonly

  RedisProbe probe(redis_.endpoint(), 500ms, false, 0ms);
  EXPECT_TRUE(probe.check());
  admin({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"});
  auto unfit = probe.check();
  ASSERT_FALSE(unfit);
  EXPECT_EQ(unfit.error().code, "eviction");
}

}  // namespace
}  // namespace stripe_sync
