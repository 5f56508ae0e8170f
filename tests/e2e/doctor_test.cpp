// stripe-sync doctor against the real parts: the embedded broker, a real redis-server and the
// stand-in Stripe. A healthy deployment passes; then each check is broken once and must fail (or
// warn, where the issue is advice), and no secret may reach the output.
#include <gtest/gtest.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <mutex>
#include <string>
#include <vector>

#include "common/billing/event_extract.hpp"
#include "common/stripe/stripe_client.hpp"
#include "tests/support/fake_stripe.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/stack.hpp"

namespace stripe_sync {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kSecret = "whsec_DOCTORCHECK_0123456789";
constexpr const char* kKey = "sk_test_DOCTORCHECK_0123456789";
constexpr const char* kUrl = "https://billing.example.com/webhooks/stripe";

struct DoctorRun {
  int status = -1;
  std::string out;
  bool has(const std::string& level, const std::string& check) const {
    std::string l = level + std::string(5 - level.size(), ' ') + check + ":";
    return out.find("\n" + l) != std::string::npos || out.rfind(l, 0) == 0;
  }
};

class Doctor : public ::testing::Test {
 protected:
  Doctor()
      : stripe_([this](const test::FakeRequest& q) { return answer(q); }),
        stack_({STRIPE_SYNC_CLI, STRIPE_INGRESS_BIN, STRIPE_WORKER_BIN}, kSecret) {}
  // No worker: it would refuse, rightly, the evicting Redis these tests make on purpose.

  test::FakeResponse answer(const test::FakeRequest& q) {
    std::lock_guard lock(mutex_);
    if (q.headers.count("authorization") && q.headers.at("authorization") != std::string("Bearer ") + kKey) {
      return {401, test::stripe_error_body("invalid_request_error", "Invalid API Key provided")};
    }
    json::array events;
    for (std::string_view t : handled_types())
      if (t != dropped_type_) events.emplace_back(t);
    json::object endpoint{{"id", "we_doctor"},          {"object", "webhook_endpoint"}, {"url", kUrl},
                          {"status", "enabled"},         {"enabled_events", events},     {"api_version", api_version_},
                          {"created", 1795500000},       {"livemode", false},            {"metadata", json::object{}},
                          {"description", nullptr},      {"application", nullptr}};
    json::object list{{"object", "list"}, {"url", "/v1/webhook_endpoints"}, {"has_more", false},
                      {"data", json::array{endpoint}}};
    return {200, json::serialize(list), {{"Date", test::http_date(test::unix_now() + skew_s_)}}};
  }

  // stripe-sync doctor with the deployment's settings, `changes` applied over them.
  DoctorRun doctor(std::vector<std::string> changes = {}) {
    std::vector<std::string> env{"STRIPE_WEBHOOK_SECRET=" + std::string(kSecret),
                                 "STRIPE_API_KEY=" + std::string(kKey),
                                 "STRIPE_API_BASE=" + stripe_.base_url(),
                                 "STRIPE_MODE=test",
                                 "WEBHOOK_URL=" + std::string(kUrl),
                                 "KAFKA_BROKERS=" + stack_.bootstrap(),
                                 "REDIS_URL=" + stack_.redis_url()};
    for (const auto& c : changes) {
      const std::string name = c.substr(0, c.find('=') + 1);
      std::erase_if(env, [&](const std::string& e) { return e.rfind(name, 0) == 0; });
      env.push_back(c);
    }
    test::ChildProcess p({STRIPE_SYNC_CLI, "doctor"}, env);
    p.close_stdin();
    DoctorRun r;
    r.out = p.read_all_stdout(60s);
    r.status = p.wait(30s).value_or(-1);
    for (const char* secret : {kSecret, kKey, "whsec_not-quite", "sk_live_DOCTOR"}) {
      EXPECT_EQ(r.out.find(secret), std::string::npos) << "a secret in doctor's output:\n" << r.out;
    }
    return r;
  }

  std::string redis(std::vector<std::string_view> argv) {
    auto v = stack_.redis().client()->command(argv);
    return v ? v->str : "<io error>";
  }

  std::mutex mutex_;
  std::string dropped_type_;
  std::string api_version_ = std::string(kStripeApiVersion);
  std::int64_t skew_s_ = 0;
  test::FakeStripe stripe_;
  test::Stack stack_;
};

TEST_F(Doctor, AHealthyDeploymentPassesEveryCheck) {
  ASSERT_EQ(redis({"CONFIG", "SET", "stream-node-max-bytes", "8192"}), "OK");  // as deploy/ sets it
  DoctorRun r = doctor();
  EXPECT_EQ(r.status, 0) << r.out;
  for (const char* check : {"settings.webhook_secret", "settings.stripe_key", "kafka.reachable", "redis.reachable",
                            "redis.version", "redis.maxmemory_policy", "redis.stream_node_max_bytes",
                            "redis.scripts", "stripe.key", "stripe.clock",
                            "stripe.endpoint_events", "stripe.endpoint_version"}) {
    EXPECT_TRUE(r.has("ok", check)) << check << ":\n" << r.out;
  }
  EXPECT_NE(r.out.find("kafka.topic.stripe.events:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("doctor: no check failed"), std::string::npos) << r.out;
  EXPECT_TRUE(stripe_.violations().empty()) << stripe_.violations().front();
}

TEST_F(Doctor, EachBrokenSettingFailsItsCheckWithoutPrintingIt) {
  DoctorRun r = doctor({"STRIPE_WEBHOOK_SECRET=" + std::string(kSecret) + ",not_a_secret_2"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.has("fail", "settings.webhook_secret")) << r.out;
  EXPECT_NE(r.out.find("entry 2 of 2"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("not_a_secret_2"), std::string::npos) << r.out;
  r = doctor({"STRIPE_WEBHOOK_SECRET=mysecret123"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.has("fail", "settings.webhook_secret")) << r.out;
  EXPECT_NE(r.out.find("entry 1 of 1"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("mysecret123"), std::string::npos) << r.out;

  r = doctor({"STRIPE_MODE=live"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.has("fail", "settings.stripe_key")) << r.out;
  r = doctor({"STRIPE_API_KEY=pk_test_DOCTORCHECK"});
  EXPECT_TRUE(r.has("fail", "settings.stripe_key")) << r.out;

  r = doctor({"WEBHOOK_ALLOWED_CIDRS=10.0.0.0/8,10.0.0.0/33"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.has("fail", "settings.WEBHOOK_ALLOWED_CIDRS")) << r.out;
}

TEST_F(Doctor, KafkaUnreachableOrAMissingTopicFails) {
  DoctorRun r = doctor({"KAFKA_BROKERS=127.0.0.1:1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.has("fail", "kafka.reachable")) << r.out;
  r = doctor({"KAFKA_DLQ_TOPIC=stripe.events.nowhere"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.has("fail", "kafka.topic.stripe.events.nowhere")) << r.out;
}

TEST_F(Doctor, RedisThatEvictsCannotBeReachedOrRefusesScriptsFails) {
  ASSERT_EQ(redis({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"}), "OK");
  DoctorRun r = doctor();
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.has("fail", "redis.maxmemory_policy")) << r.out;
  ASSERT_EQ(redis({"CONFIG", "SET", "maxmemory-policy", "noeviction"}), "OK");

  r = doctor({"REDIS_URL=redis://127.0.0.1:1/0"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.has("fail", "redis.reachable")) << r.out;

  // A user that may not load scripts: the worker could not apply anything.
  ASSERT_EQ(redis({"ACL", "SETUSER", "doctor", "on", ">doctorpw", "~*", "+@all", "-script"}), "OK");
  std::string url = stack_.redis_url();
  url.replace(url.find("redis://") + 8, 0, "doctor:doctorpw@");
  r = doctor({"REDIS_URL=" + url});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.has("fail", "redis.scripts")) << r.out;
  EXPECT_EQ(r.out.find("doctorpw"), std::string::npos) << r.out;

  ASSERT_EQ(redis({"CONFIG", "SET", "appendonly", "no"}), "OK");
  r = doctor();
  EXPECT_TRUE(r.has("warn", "redis.appendonly")) << r.out;

  // Redis's default node size: advice, not a failure.
  ASSERT_EQ(redis({"CONFIG", "SET", "stream-node-max-bytes", "4096"}), "OK");
  r = doctor();
  EXPECT_TRUE(r.has("warn", "redis.stream_node_max_bytes")) << r.out;
  EXPECT_NE(r.out.find("4096 on "), std::string::npos) << r.out;
  // A user that may not read the configuration: doctor says it cannot tell.
  ASSERT_EQ(redis({"ACL", "SETUSER", "noconfig", "on", ">noconfigpw", "~*", "+@all", "-config"}), "OK");
  url = stack_.redis_url();
  url.replace(url.find("redis://") + 8, 0, "noconfig:noconfigpw@");
  ASSERT_EQ(redis({"CONFIG", "SET", "stream-node-max-bytes", "8192"}), "OK");
  r = doctor({"REDIS_URL=" + url});
  EXPECT_TRUE(r.has("warn", "redis.stream_node_max_bytes")) << r.out;
  EXPECT_NE(r.out.find("not told"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("noconfigpw"), std::string::npos) << r.out;
}

TEST_F(Doctor, AClusterWithAnUncoveredSlotFails) {
  test::RedisCluster cluster;
  DoctorRun r = doctor({"REDIS_URL=" + cluster.url()});
  EXPECT_TRUE(r.has("ok", "redis.cluster")) << r.out;
  EXPECT_TRUE(r.has("ok", "redis.scripts")) << r.out;
  // One slot taken away from its master: the cluster no longer serves every key.
  const int owner = cluster.master_of(100);
  ASSERT_GE(owner, 0);
  auto v = cluster.node(static_cast<std::size_t>(owner)).client()->command({"CLUSTER", "DELSLOTS", "100"});
  ASSERT_TRUE(v && v->str == "OK") << (v ? v->str : "io error");
  r = doctor({"REDIS_URL=" + cluster.url()});
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_TRUE(r.has("fail", "redis.cluster")) << r.out;
}

TEST_F(Doctor, StripeRefusingTheKeyAClockAwayAndAnEndpointThatIsNotOursAreReported) {
  DoctorRun r = doctor({"STRIPE_API_KEY=sk_test_DOCTOR_wrong_key"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.has("fail", "stripe.key")) << r.out;

  skew_s_ = 120;
  r = doctor();
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.has("fail", "stripe.clock")) << r.out;
  skew_s_ = 0;

  r = doctor({"WEBHOOK_URL=https://other.example.com/hook"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.has("fail", "stripe.endpoint")) << r.out;

  dropped_type_ = "invoice.paid";
  api_version_ = "2024-06-20";
  r = doctor();
  EXPECT_EQ(r.status, 0) << r.out;  // advice, not a failure
  EXPECT_TRUE(r.has("warn", "stripe.endpoint_events")) << r.out;
  EXPECT_NE(r.out.find("1 handled type(s) not sent: invoice.paid"), std::string::npos) << r.out;
  EXPECT_TRUE(r.has("warn", "stripe.endpoint_version")) << r.out;
  EXPECT_TRUE(stripe_.violations().empty()) << stripe_.violations().front();
}

}  // namespace
}  // namespace stripe_sync
