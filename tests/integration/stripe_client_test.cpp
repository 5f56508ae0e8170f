// StripeClient against the local stand-in for Stripe's API (plain HTTP on loopback).
#include "common/stripe/stripe_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "tests/support/fake_stripe.hpp"
#include "tests/support/redis_server.hpp"

namespace stripe_sync {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
constexpr const char* kKey = "sk_test_client_secret_key_123";

StripeClientConfig config_for(const test::FakeStripe& fake) {
  StripeClientConfig c;
  c.api_base = fake.base_url();
  c.api_key = kKey;
  c.timeout = 2000ms;
  c.backoff_base = 10ms;
  c.backoff_max = 50ms;
  return c;
}

std::string customer_json(const std::string& id) {
  return json::serialize(json::object{{"id", id}, {"object", "customer"}, {"email", "a@example.com"}});
}

TEST(StripeClient, GetSendsTheKeyTheVersionAndTheQuery) {
  test::FakeStripe fake([](const test::FakeRequest&) { return test::FakeResponse{200, customer_json("cus_1")}; });
  StripeClient client(config_for(fake));
  auto r = client.get("/v1/subscriptions", {{"customer", "cus_1"}, {"status", "all"}, {"limit", 100}});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body).at("id").as_string(), "cus_1");
  EXPECT_EQ(r.date_unix, 1795500000);  // the fake's Date header, Stripe's clock
  EXPECT_EQ(r.request_id, "req_fake1");
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].path, "/v1/subscriptions");
  EXPECT_EQ(reqs[0].param("status"), "all");
  EXPECT_EQ(reqs[0].param("limit"), "100");
  EXPECT_EQ(reqs[0].headers.at("authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(reqs[0].headers.at("stripe-version"), "2026-10-28.endive");
  EXPECT_EQ(fake.violations(), std::vector<std::string>{});
}

TEST(StripeClient, PostIsFormEncodedWithAnIdempotencyKey) {
  test::FakeStripe fake([](const test::FakeRequest&) {
    return test::FakeResponse{200, R"({"id":"bps_1","object":"billing_portal.session","url":"https://billing.stripe.com/p/session/x"})"};
  });
  StripeClient client(config_for(fake));
  json::object params{{"customer", "cus_1"},
                      {"return_url", "https://app.example.com/return?s=1&a=b"},
                      {"flow_data", json::object{{"type", "payment_method_update"},
                                                 {"after_completion", json::object{{"type", "redirect"},
                                                                                   {"redirect", json::object{{"return_url", "https://app.example.com/x"}}}}}}}};
  auto r = client.post("/v1/billing_portal/sessions", params);
  ASSERT_TRUE(r.ok()) << r.message;
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].param("flow_data[type]"), "payment_method_update");
  EXPECT_EQ(reqs[0].param("flow_data[after_completion][redirect][return_url]"), "https://app.example.com/x");
  EXPECT_EQ(reqs[0].param("return_url"), "https://app.example.com/return?s=1&a=b");
  EXPECT_EQ(reqs[0].headers.at("idempotency-key").size(), 36u);
  EXPECT_EQ(fake.violations(), std::vector<std::string>{});
}

TEST(StripeClient, TheFakeFlagsParametersStripeDoesNotHave) {
  test::FakeStripe fake([](const test::FakeRequest&) { return test::FakeResponse{}; });
  StripeClient client(config_for(fake));
  client.post("/v1/billing_portal/sessions", {{"customer", "cus_1"}, {"flow_data", json::object{{"type", "not_a_flow"}}}, {"colour", "red"}});
  auto v = fake.violations();
  EXPECT_EQ(v.size(), 2u);  // the enum value and the unknown parameter: the stand-in is strict
}

TEST(StripeClient, RetriesServerErrorsWithTheSameIdempotencyKey) {
  std::atomic<int> calls{0};
  test::FakeStripe fake([&](const test::FakeRequest&) {
    return ++calls <= 2 ? test::FakeResponse{500, test::stripe_error_body("api_error", "boom")}
                        : test::FakeResponse{200, R"({"id":"bps_1","object":"billing_portal.session"})"};
  });
  StripeClient client(config_for(fake));
  auto r = client.post("/v1/billing_portal/sessions", {{"customer", "cus_1"}});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.attempts, 3);
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 3u);
  std::set<std::string> keys;
  for (const auto& q : reqs) keys.insert(q.headers.at("idempotency-key"));
  EXPECT_EQ(keys.size(), 1u);
}

// What a broken proxy answers in Stripe's place is a failed attempt: retried, then bad_answer;
// callers only ever see a JSON object on success.
TEST(StripeClient, ABodyThatIsNotAJsonObjectIsAFailedAttempt) {
  for (const std::string body : {"<html>502 Bad Gateway</html>", "", R"({"id":"cus_1","obj)", "[1,2]", "null"}) {
    std::atomic<int> calls{0};
    test::FakeStripe fake([&](const test::FakeRequest&) {
      ++calls;
      return test::FakeResponse{200, body, {{"Content-Type", "text/html"}}};
    });
    StripeClient client(config_for(fake));
    auto r = client.get("/v1/customers/cus_1");
    EXPECT_EQ(r.error, StripeError::bad_answer) << body;
    EXPECT_EQ(calls.load(), 4) << body;  // the first attempt and three retries
  }
  // ... and a good answer after a bad one is taken.
  std::atomic<int> calls{0};
  test::FakeStripe fake([&](const test::FakeRequest&) {
    return ++calls == 1 ? test::FakeResponse{200, "<html></html>"} : test::FakeResponse{200, customer_json("cus_1")};
  });
  StripeClient client(config_for(fake));
  EXPECT_TRUE(client.get("/v1/customers/cus_1").ok());
}

TEST(StripeClient, AnAnswerOverTheCapIsABadAnswer) {
  test::FakeStripe fake([&](const test::FakeRequest&) {
    return test::FakeResponse{200, "{\"pad\":\"" + std::string(2 << 20, 'x') + "\"}"};
  });
  auto c = config_for(fake);
  c.max_response_bytes = 1 << 20;
  c.max_retries = 0;
  StripeClient client(c);
  auto r = client.get("/v1/customers/cus_1");
  EXPECT_EQ(r.error, StripeError::bad_answer);
  EXPECT_NE(r.message.find("larger than 1048576 bytes"), std::string::npos) << r.message;
  c.max_response_bytes = 4 << 20;
  StripeClient roomy(c);
  EXPECT_TRUE(roomy.get("/v1/customers/cus_1").ok());
}

TEST(StripeClient, KeepsTheCallersIdempotencyKey) {
  test::FakeStripe fake([](const test::FakeRequest&) { return test::FakeResponse{}; });
  StripeClient client(config_for(fake));
  client.post("/v1/customers/cus_1", {{"email", "b@example.com"}}, "idem-123");
  EXPECT_EQ(fake.requests().at(0).headers.at("idempotency-key"), "idem-123");
}

TEST(StripeClient, HonoursStripeShouldRetryFalse) {
  test::FakeStripe fake([](const test::FakeRequest&) {
    return test::FakeResponse{500, test::stripe_error_body("api_error", "do not retry"), {{"Stripe-Should-Retry", "false"}}};
  });
  StripeClient client(config_for(fake));
  auto r = client.get("/v1/customers/cus_1");
  EXPECT_EQ(r.error, StripeError::unreachable);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.message, "do not retry");
}

TEST(StripeClient, RetriesA429AfterItsRetryAfter) {
  std::atomic<int> calls{0};
  test::FakeStripe fake([&](const test::FakeRequest&) {
    return ++calls == 1 ? test::FakeResponse{429, test::stripe_error_body("rate_limit_error", "slow down"), {{"Retry-After", "1"}}}
                        : test::FakeResponse{200, customer_json("cus_1")};
  });
  auto cfg = config_for(fake);
  cfg.backoff_max = 2000ms;
  StripeClient client(cfg);
  auto started = std::chrono::steady_clock::now();
  auto r = client.get("/v1/customers/cus_1");
  EXPECT_TRUE(r.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1000ms);
}

TEST(StripeClient, MapsStripeErrorsWithoutRetryingClientErrors) {
  test::FakeStripe fake([](const test::FakeRequest& q) {
    if (q.path == "/v1/customers/cus_missing") {
      return test::FakeResponse{404, test::stripe_error_body("invalid_request_error", "No such customer: 'cus_missing'", "resource_missing")};
    }
    return test::FakeResponse{400, test::stripe_error_body("invalid_request_error", "Invalid email address", "email_invalid")};
  });
  StripeClient client(config_for(fake));
  auto missing = client.get("/v1/customers/cus_missing");
  EXPECT_EQ(missing.error, StripeError::not_found);
  EXPECT_EQ(missing.code, "resource_missing");
  EXPECT_EQ(missing.attempts, 1);
  auto bad = client.post("/v1/customers/cus_1", {{"email", "nope"}});
  EXPECT_EQ(bad.error, StripeError::invalid_request);
  EXPECT_EQ(bad.message, "Invalid email address");
  EXPECT_EQ(bad.attempts, 1);
}

TEST(StripeClient, ReusesOneKeepAliveConnection) {
  test::FakeStripe fake([](const test::FakeRequest&) { return test::FakeResponse{200, customer_json("cus_1")}; });
  StripeClient client(config_for(fake));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.get("/v1/customers/cus_1").ok());
  EXPECT_EQ(fake.connections(), 1);
}

TEST(StripeClient, AnUnreachableStripeFailsAfterItsRetriesNotAHang) {
  std::uint16_t port = test::free_port();  // nothing listens there
  StripeClientConfig cfg;
  cfg.api_base = "http://127.0.0.1:" + std::to_string(port);
  cfg.api_key = kKey;
  cfg.backoff_base = 10ms;
  cfg.backoff_max = 20ms;
  StripeClient client(cfg);
  auto r = client.get("/v1/customers/cus_1");
  EXPECT_EQ(r.error, StripeError::unreachable);
  EXPECT_EQ(r.attempts, 4);
  EXPECT_EQ(r.message.find(kKey), std::string::npos);
}

TEST(StripeClient, ASilentStripeTimesOutAtTheDeadline) {
  test::FakeStripe fake([](const test::FakeRequest&) {
    test::FakeResponse r;
    r.hang = true;
    return r;
  });
  auto cfg = config_for(fake);
  cfg.timeout = 300ms;
  cfg.max_retries = 1;
  StripeClient client(cfg);
  auto started = std::chrono::steady_clock::now();
  auto r = client.get("/v1/customers/cus_1");
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.error, StripeError::unreachable);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_LT(took, 2000ms);
  EXPECT_GE(took, 600ms);
  fake.stop();
}

TEST(StripeClient, RejectsAMalformedApiBase) {
  StripeClientConfig cfg;
  cfg.api_base = "api.stripe.com";
  EXPECT_THROW(StripeClient{cfg}, std::exception);
}

}  // namespace
}  // namespace stripe_sync

// TLS: a real TLS peer (openssl s_server) with a certificate made for this test.
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

namespace stripe_sync {
namespace {

class StripeClientTls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("stripe-sync-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    cert_ = (dir_ / "cert.pem").string();
    key_ = (dir_ / "key.pem").string();
    test::ChildProcess gen({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key_,
                            "-out", cert_, "-days", "1", "-subj", "/CN=localhost", "-addext",
                            "subjectAltName=DNS:localhost"},
                           {}, (dir_ / "req.log").string());
    ASSERT_EQ(gen.wait(30s), 0);
    port_ = test::free_port();
    server_ = std::make_unique<test::ChildProcess>(
        std::vector<std::string>{"/usr/bin/openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port_),
                                 "-cert", cert_, "-key", key_, "-www"},
        std::vector<std::string>{}, (dir_ / "server.log").string());
    ASSERT_TRUE(test::eventually([&] {
      try {
        boost::asio::io_context ioc;
        boost::asio::ip::tcp::socket s(ioc);
        s.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
        return true;
      } catch (const std::exception&) {
        return false;
      }
    }));
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  StripeResult call(const std::string& host, const std::string& ca_file) {
    StripeClientConfig c;
    c.api_base = "https://" + host + ":" + std::to_string(port_);
    c.api_key = kKey;
    c.ca_file = ca_file;
    c.max_retries = 0;
    c.timeout = 5s;
    StripeClient client(c);
    return client.get("/v1/customers/cus_1");
  }

  std::filesystem::path dir_;
  std::string cert_, key_;
  std::uint16_t port_ = 0;
  std::unique_ptr<test::ChildProcess> server_;
};

TEST_F(StripeClientTls, TalksToAPeerItTrustsUnderTheRightName) {
  auto r = call("localhost", cert_);
  // s_server -www answers 200 with an HTML status page: the handshake and the exchange worked,
  // and the client, as it must, refuses a body that is not JSON.
  EXPECT_EQ(r.status, 200) << r.message;
  EXPECT_EQ(r.error, StripeError::bad_answer);
  EXPECT_NE(r.message.find("not a JSON object"), std::string::npos) << r.message;
}

TEST_F(StripeClientTls, RefusesAPeerItDoesNotTrust) {
  auto r = call("localhost", "");  // only the system's CAs: a self-made certificate is refused
  EXPECT_EQ(r.error, StripeError::unreachable);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.message.find("certificate verify failed"), std::string::npos) << r.message;
}

TEST_F(StripeClientTls, RefusesAPeerWhoseNameDoesNotMatch) {
  auto r = call("127.0.0.1", cert_);  // trusted certificate, but issued to localhost
  EXPECT_EQ(r.error, StripeError::unreachable);
  EXPECT_EQ(r.status, 0);
}

}  // namespace
}  // namespace stripe_sync
