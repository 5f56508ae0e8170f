// stripe-ingress against a Kafka-protocol broker (librdkafka's mock cluster) in this process.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <map>
#include <set>
#include <thread>

#include "common/kafka/mock_cluster.hpp"
#include "common/stripe/signature.hpp"
#include "ingress/ingress_app.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/record_log.hpp"
#include "tests/support/http_client.hpp"
#include "common/kafka/topic_reader.hpp"

namespace stripe_sync {
namespace {

using namespace std::chrono_literals;
constexpr const char* kSecret = "whsec_integration_test";
constexpr const char* kTopic = "stripe.events";

class IngressKafka : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<MockKafkaCluster>(3);
    cluster_->create_topic(kTopic, 6);
  }

  void start(std::function<void(ingress::IngressConfig&)> tweak = {}) {
    ingress::IngressConfig c;
    c.webhook_secrets = {kSecret};
    c.kafka_brokers = cluster_->bootstrap_servers();
    c.kafka_topic = kTopic;
    c.listen_host = "127.0.0.1";
    c.listen_port = 0;
    c.threads = 2;
    c.produce_timeout = 1500ms;
    if (tweak) tweak(c);
    app_ = std::make_unique<ingress::IngressApp>(c);
    app_->start();
    port_ = app_->endpoint().port();
  }

  std::string sign(const std::string& body) {
    std::vector<std::string> s{kSecret};
    return sign_payload(body, s, test::unix_now());
  }

  std::string bootstrap() const { return cluster_->bootstrap_servers(); }

  std::unique_ptr<MockKafkaCluster> cluster_;
  std::unique_ptr<ingress::IngressApp> app_;
  std::uint16_t port_ = 0;
};

TEST_F(IngressKafka, SignedEventIsStoredByteForByteWithKeyAndHeaders) {
  start();
  std::string body = test::read_fixture("events/payment_method.detached.json");
  auto before_ms = test::unix_now() * 1000;
  auto res = test::post_webhook(port_, body, sign(body));
  ASSERT_EQ(res.status, 200) << res.body;
  auto answer = boost::json::parse(res.body);
  EXPECT_EQ(answer.at("success").as_bool(), true);
  EXPECT_EQ(answer.at("event_id").as_string(), "evt_1Sx00007ExampleA");

  auto stored = read_topic(bootstrap(), kTopic);
  ASSERT_EQ(stored.size(), 1u);
  const auto& m = stored[0];
  EXPECT_EQ(m.value, body);  // byte for byte, trailing bytes and all
  EXPECT_EQ(m.key, "cus_Rx7Example001");
  EXPECT_EQ(m.header("stripe-event-id"), "evt_1Sx00007ExampleA");
  EXPECT_EQ(m.header("stripe-event-type"), "payment_method.detached");
  EXPECT_EQ(m.header("stripe-event-created"), "1795500049");
  EXPECT_EQ(m.header("source"), "webhook");
  auto received = std::stoll(m.header("ingress-received-ms"));
  EXPECT_GE(received, before_ms);
  EXPECT_LE(received, (test::unix_now() + 1) * 1000);
}

// The case: the summary has no id, and was answered 400 INVALID_EVENT. Prices and
// products are keyed by their own id, an entitlement summary by its customer.
TEST_F(IngressKafka, EveryNewKindIsAcceptedAndKeyedByItsOwner) {
  start();
  const std::pair<const char*, const char*> cases[] = {
      {"events/entitlements.active_entitlement_summary.updated.json", "cus_Rx7Example001"},
      {"events/invoice.finalized.json", "cus_Rx7Example001"},
      {"events/checkout.session.completed.json", "cus_Rx7Example001"},
      {"events/price.updated.json", "price_1Rx7ExamplePro"},
      {"events/product.updated.json", "prod_Rx7ExamplePro"},
  };
  for (const auto& [fixture, key] : cases) {
    std::string body = test::read_fixture(fixture);
    auto res = test::post_webhook(port_, body, sign(body));
    EXPECT_EQ(res.status, 200) << fixture << ": " << res.body;
  }
  auto stored = read_topic(bootstrap(), kTopic);
  ASSERT_EQ(stored.size(), std::size(cases));
  std::set<std::pair<std::string, std::string>> got, want;
  for (const auto& m : stored) got.emplace(m.header("stripe-event-type"), m.key);
  for (const auto& [fixture, key] : cases) {
    auto ev = boost::json::parse(test::read_fixture(fixture));
    want.emplace(std::string(ev.at("type").as_string()), key);
  }
  EXPECT_EQ(got, want);
}

// A thin notification (an event destination's payload) is verified with the same scheme and
// secret list, and produced byte for byte with source=thin, keyed by its related object.
TEST_F(IngressKafka, AThinNotificationIsProducedWithSourceThinKeyedByItsRelatedObject) {
  start();
  std::string body = test::read_fixture("thin/thin.v1.customer.subscription.updated.json");
  auto res = test::post_webhook(port_, body, sign(body));
  ASSERT_EQ(res.status, 200) << res.body;
  auto stored = read_topic(bootstrap(), kTopic);
  ASSERT_EQ(stored.size(), 1u);
  const auto& m = stored[0];
  auto dom = boost::json::parse(body);
  EXPECT_EQ(m.value, body);
  EXPECT_EQ(m.key, dom.at("related_object").at("id").as_string());
  EXPECT_EQ(m.header("source"), "thin");
  EXPECT_EQ(m.header("stripe-event-id"), dom.at("id").as_string());
  EXPECT_EQ(m.header("stripe-thin-type"), "v1.customer.subscription.updated");
  EXPECT_EQ(m.header("stripe-related-object"), dom.at("related_object").at("id").as_string());
  EXPECT_EQ(m.header("stripe-event-created"), "1795500063");  // "2026-11-24T06:01:03.000Z"
  test::record_kafka_headers("kafka_headers", {m.headers.begin(), m.headers.end()});
  // Signed with an unknown secret: refused like any webhook.
  std::vector<std::string> other{"whsec_other"};
  EXPECT_EQ(test::post_webhook(port_, body, sign_payload(body, other, test::unix_now())).status, 400);
}

TEST_F(IngressKafka, ForgedSignatureAnswers400AndProducesNothing) {
  start();
  std::string body = test::read_fixture("events/customer.created.json");
  std::vector<std::string> wrong{"whsec_forger"};
  auto res = test::post_webhook(port_, body, sign_payload(body, wrong, test::unix_now()));
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(boost::json::parse(res.body).at("error_code").as_string(), "INVALID_SIGNATURE");
  EXPECT_EQ(res.body.find(kSecret), std::string::npos);
  EXPECT_EQ(topic_message_count(bootstrap(), kTopic), 0);
}

TEST_F(IngressKafka, ReplayedOldSignatureAnswers400) {
  start();
  std::string body = test::read_fixture("events/customer.created.json");
  std::vector<std::string> s{kSecret};
  auto res = test::post_webhook(port_, body, sign_payload(body, s, test::unix_now() - 301));
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(topic_message_count(bootstrap(), kTopic), 0);
}

TEST_F(IngressKafka, SignedBodyThatIsNotAnEventAnswers400InvalidEvent) {
  start();
  std::string body = "{\"id\": \"evt_1\", \"type\": ";
  auto res = test::post_webhook(port_, body, sign(body));
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(boost::json::parse(res.body).at("error_code").as_string(), "INVALID_EVENT");
  EXPECT_EQ(topic_message_count(bootstrap(), kTopic), 0);
}

// Three requests in one write on one connection: with the read buffer taking a whole request at
// once, one read brings several, and the next starts mid-buffer. The middle one is larger than
// the buffer (its body ends in 12 KB of JSON whitespace). Each is answered, in order, and stored.
TEST_F(IngressKafka, ThreePipelinedRequestsInOneWriteAreAnsweredInOrderAndEachStored) {
  start();
  const std::string base = test::read_fixture("events/customer.subscription.updated.json");
  const std::vector<std::string> bodies = {test::with_event_id(base, "evt_pipe_1"),
                                           test::with_event_id(base, "evt_pipe_2") + std::string(12 * 1024, ' '),
                                           test::with_event_id(base, "evt_pipe_3")};
  std::string wire;
  for (const std::string& body : bodies) {
    wire += "POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            "Stripe-Signature: " + sign(body) + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
  // A server that lost a request would leave the read below waiting: fail after 10 s instead.
  const timeval limit{10, 0};
  ASSERT_EQ(::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit), 0);
  boost::asio::write(socket, boost::asio::buffer(wire));
  boost::beast::flat_buffer buffer;
  for (const char* id : {"evt_pipe_1", "evt_pipe_2", "evt_pipe_3"}) {
    boost::beast::http::response<boost::beast::http::string_body> res;
    boost::beast::http::read(socket, buffer, res);
    ASSERT_EQ(res.result_int(), 200u) << res.body();
    EXPECT_EQ(boost::json::parse(res.body()).at("event_id").as_string(), id);
  }
  auto stored = read_topic(bootstrap(), kTopic);
  ASSERT_EQ(stored.size(), 3u);
  std::map<std::string, std::string> by_id;
  for (const auto& m : stored) by_id[m.header("stripe-event-id")] = m.value;
  EXPECT_EQ(by_id["evt_pipe_1"], bodies[0]);
  EXPECT_EQ(by_id["evt_pipe_2"], bodies[1]);  // byte for byte, the trailing whitespace too
  EXPECT_EQ(by_id["evt_pipe_3"], bodies[2]);
}

TEST_F(IngressKafka, FiveHundredConcurrentRequestsOverFiftyConnectionsAreEachStoredOnce) {
  start();
  std::string base = test::read_fixture("events/customer.subscription.updated.json");
  std::atomic<int> ok{0};
  std::atomic<int> other{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 50; ++c) {
    clients.emplace_back([&, c] {
      test::HttpClient client(port_);  // one keep-alive connection, ten requests
      for (int i = 0; i < 10; ++i) {
        std::string body = test::with_event_id(base, "evt_load_" + std::to_string(c * 10 + i));
        auto res = client.request("POST", "/webhooks/stripe", body,
                                  {{"Content-Type", "application/json"}, {"Stripe-Signature", sign(body)}});
        (res.status == 200 ? ok : other)++;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 500);
  EXPECT_EQ(other.load(), 0);

  auto stored = read_topic(bootstrap(), kTopic);
  ASSERT_EQ(stored.size(), 500u);
  std::set<std::string> ids;
  for (const auto& m : stored) {
    ids.insert(m.header("stripe-event-id"));
    EXPECT_EQ(m.key, "cus_Rx7Example001");
  }
  EXPECT_EQ(ids.size(), 500u);
  // One customer, one key: every event of it in one partition, in order.
  std::set<std::int32_t> partitions;
  for (const auto& m : stored) partitions.insert(m.partition);
  EXPECT_EQ(partitions.size(), 1u);
}

TEST_F(IngressKafka, BrokersDownAnswers503WithinTheTimeoutThenRecovers) {
  start();
  ASSERT_TRUE(test::eventually([&] { return test::HttpClient(port_).get("/readyz").status == 200; }));
  for (int id = 1; id <= cluster_->broker_count(); ++id) cluster_->set_broker_down(id);

  std::string body = test::read_fixture("events/customer.updated.json");
  auto started = std::chrono::steady_clock::now();
  auto res = test::post_webhook(port_, body, sign(body));
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_EQ(boost::json::parse(res.body).at("error_code").as_string(), "UPSTREAM_UNAVAILABLE");
  EXPECT_FALSE(res.headers["retry-after"].empty());
  EXPECT_LT(took, 1500ms + 1000ms);
  EXPECT_GE(took, 1400ms);  // it did wait for the broker, not fail at once

  // The readiness probe notices the outage.
  EXPECT_TRUE(test::eventually([&] { return test::HttpClient(port_).get("/readyz").status == 503; }));

  for (int id = 1; id <= cluster_->broker_count(); ++id) cluster_->set_broker_up(id);
  ASSERT_TRUE(test::eventually([&] { return test::HttpClient(port_).get("/readyz").status == 200; }, 20s));
  std::string next = test::with_event_id(body, "evt_after_outage");
  auto again = test::post_webhook(port_, next, sign(next));
  EXPECT_EQ(again.status, 200) << again.body;

  // What got 200 is in the topic; what got 503 may or may not be (Stripe retries it anyway).
  bool found = false;
  for (const auto& m : read_topic(bootstrap(), kTopic)) {
    found = found || m.header("stripe-event-id") == "evt_after_outage";
  }
  EXPECT_TRUE(found);
}

TEST_F(IngressKafka, OversizedBodyAnswers413AndTheServerKeepsServing) {
  start([](ingress::IngressConfig& c) { c.max_body_bytes = 4096; });
  std::string body = test::read_fixture("events/customer.created.json");
  std::string big = body.substr(0, body.size() - 2) + ",\"pad\":\"" + std::string(5000, 'x') + "\"}";
  auto res = test::post_webhook(port_, big, sign(big));
  EXPECT_EQ(res.status, 413);
  EXPECT_EQ(boost::json::parse(res.body).at("error_code").as_string(), "PAYLOAD_TOO_LARGE");
  EXPECT_FALSE(res.keep_alive);

  EXPECT_EQ(test::HttpClient(port_).get("/healthz").status, 200);
  auto ok = test::post_webhook(port_, body, sign(body));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(topic_message_count(bootstrap(), kTopic), 1);
}

TEST_F(IngressKafka, ChunkedBodyOverTheLimitAnswers413) {
  start([](ingress::IngressConfig& c) { c.max_body_bytes = 4096; });
  test::HttpClient client(port_);
  std::string big(6000, 'x');
  auto res = client.request("POST", "/webhooks/stripe", big,
                            {{"Content-Type", "application/json"}, {"Stripe-Signature", sign(big)},
                             {"Transfer-Encoding", "chunked"}});
  EXPECT_EQ(res.status, 413);
}

TEST_F(IngressKafka, UnknownRouteAnd404WrongMethod405) {
  start();
  test::HttpClient client(port_);
  auto nf = client.get("/nope");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(boost::json::parse(nf.body).at("error_code").as_string(), "NOT_FOUND");
  auto m = client.get("/webhooks/stripe");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.headers["allow"], "POST");
  EXPECT_EQ(boost::json::parse(m.body).at("error_code").as_string(), "METHOD_NOT_ALLOWED");
}

TEST_F(IngressKafka, AliasRouteAcceptsWebhooks) {
  start();
  std::string body = test::read_fixture("events/customer.created.json");
  test::HttpClient client(port_);
  auto res = client.request("POST", "/api/payment/portal/webhook", body,
                            {{"Content-Type", "application/json"}, {"Stripe-Signature", sign(body)}});
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(topic_message_count(bootstrap(), kTopic), 1);
}

TEST_F(IngressKafka, MetricsCountOutcomesAndNeverShowTheSecret) {
  start();
  std::string body = test::read_fixture("events/customer.created.json");
  ASSERT_EQ(test::post_webhook(port_, body, sign(body)).status, 200);
  ASSERT_EQ(test::post_webhook(port_, body, "t=1,v1=00").status, 400);
  auto m = test::HttpClient(port_).get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("stripe_ingress_webhooks_total{outcome=\"accepted\",status=\"200\"} 1\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("stripe_ingress_webhooks_total{outcome=\"invalid_signature\",status=\"400\"} 1\n"), std::string::npos);
  EXPECT_NE(m.body.find("stripe_ingress_webhook_ack_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(m.body.find("stripe_ingress_produce_seconds_count 1\n"), std::string::npos);
  EXPECT_EQ(m.body.find(kSecret), std::string::npos);
}

TEST_F(IngressKafka, SourceOutsideTheAllowlistIsForbidden) {
  start([](ingress::IngressConfig& c) { c.allowed_cidrs = {*parse_cidr("3.18.12.63")}; });
  std::string body = test::read_fixture("events/customer.created.json");
  test::HttpClient client(port_);
  // 127.0.0.1 is not a trusted proxy, so its forged X-Forwarded-For is not believed.
  auto res = client.request("POST", "/webhooks/stripe", body,
                            {{"Content-Type", "application/json"}, {"Stripe-Signature", sign(body)},
                             {"X-Forwarded-For", "3.18.12.63"}});
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(boost::json::parse(res.body).at("error_code").as_string(), "FORBIDDEN");
  EXPECT_EQ(topic_message_count(bootstrap(), kTopic), 0);
}

TEST_F(IngressKafka, TrustedProxyForwardingAnAllowedSourceIsAccepted) {
  start([](ingress::IngressConfig& c) {
    c.allowed_cidrs = {*parse_cidr("3.18.12.63")};
    c.trusted_proxy_cidrs = {*parse_cidr("127.0.0.0/8")};
  });
  std::string body = test::read_fixture("events/customer.created.json");
  test::HttpClient client(port_);
  auto res = client.request("POST", "/webhooks/stripe", body,
                            {{"Content-Type", "application/json"}, {"Stripe-Signature", sign(body)},
                             {"X-Forwarded-For", "3.18.12.63"}});
  EXPECT_EQ(res.status, 200);
}

TEST_F(IngressKafka, ShutdownFinishesARequestInFlight) {
  start([](ingress::IngressConfig& c) { c.produce_timeout = 4000ms; });
  // With the brokers down the request is held waiting for the broker when shutdown begins.
  for (int id = 1; id <= cluster_->broker_count(); ++id) cluster_->set_broker_down(id);
  std::string body = test::read_fixture("events/customer.created.json");
  std::atomic<int> status{0};
  std::thread client([&] { status = test::post_webhook(port_, body, sign(body)).status; });
  ASSERT_TRUE(test::eventually([&] {
    return app_->metrics_text().find("stripe_ingress_webhooks_in_flight 1\n") != std::string::npos;
  }));
  std::thread stopper([&] { app_->shutdown(10s); });
  // Once the listener is closed, new connections are refused...
  EXPECT_TRUE(test::eventually([&] {
    try {
      test::HttpClient(port_).get("/healthz");
      return false;
    } catch (const std::exception&) {
      return true;
    }
  }));
  // ...while the request in flight still gets its answer when the broker comes back.
  for (int id = 1; id <= cluster_->broker_count(); ++id) cluster_->set_broker_up(id);
  stopper.join();
  client.join();
  EXPECT_EQ(status.load(), 200);
  EXPECT_EQ(topic_message_count(bootstrap(), kTopic), 1);
}

}  // namespace
}  // namespace stripe_sync
