// /readyz of both processes follows their dependencies: unready within 2 s of redis-server or the
// broker going away, ready again once they are back. Ingress and worker run in this process,
// against librdkafka's mock cluster (whose brokers can be taken down) and a real redis-server.
#include <gtest/gtest.h>

#include <chrono>

#include "common/kafka/mock_cluster.hpp"
#include "common/http/status_server.hpp"
#include "ingress/ingress_app.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/redis_server.hpp"
#include "worker/worker.hpp"

namespace stripe_sync {
namespace {

using namespace std::chrono_literals;

int status_of(std::uint16_t port) {
  try {
    return test::HttpClient(port).get("/readyz").status;
  } catch (const std::exception&) {
    return 0;
  }
}

class Readiness : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<MockKafkaCluster>(3);
    cluster_->create_topic("stripe.events", 2);
    cluster_->create_topic("stripe.events.dlq", 1);
    redis_ = std::make_unique<test::RedisServer>(/*persistent=*/true);

    ingress::IngressConfig ic;
    ic.webhook_secrets = {"whsec_readiness"};
    ic.kafka_brokers = cluster_->bootstrap_servers();
    ic.redis_url = redis_->url();
    ic.listen_host = "127.0.0.1";
    ic.listen_port = 0;
    ingress_ = std::make_unique<ingress::IngressApp>(ic);
    ingress_->start();

    worker::WorkerConfig wc;
    wc.kafka_brokers = cluster_->bootstrap_servers();
    wc.redis = redis_->endpoint();
    wc.redis_timeout = 500ms;
    worker_ = std::make_unique<worker::Worker>(wc);
    status_ = std::make_unique<StatusServer>("127.0.0.1", 0, *worker_);
    worker_->start();
  }

  void TearDown() override {
    status_.reset();
    worker_.reset();
    ingress_.reset();
  }

  std::uint16_t ingress_port() const { return ingress_->endpoint().port(); }

  // Waits for both /readyz to answer `status`; returns how long it took.
  std::chrono::milliseconds until_both(int status, std::chrono::milliseconds deadline) {
    auto start = std::chrono::steady_clock::now();
    test::eventually([&] { return status_of(ingress_port()) == status && status_of(status_->port()) == status; },
                     deadline);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  }

  std::unique_ptr<MockKafkaCluster> cluster_;
  std::unique_ptr<test::RedisServer> redis_;
  std::unique_ptr<ingress::IngressApp> ingress_;
  std::unique_ptr<worker::Worker> worker_;
  std::unique_ptr<StatusServer> status_;
};

TEST_F(Readiness, FollowsRedisWithinTwoSeconds) {
  ASSERT_LT(until_both(200, 30s), 30s) << "not ready at start";
  redis_->stop();
  auto took = until_both(503, 5s);
  EXPECT_LE(took, 2s) << "took " << took.count() << " ms to notice Redis had stopped";
  auto body = test::HttpClient(status_->port()).get("/readyz").body;
  EXPECT_NE(body.find("Redis is not reachable"), std::string::npos) << body;
  redis_->start();
  EXPECT_LT(until_both(200, 20s), 20s) << "not ready again after Redis came back";
}

TEST_F(Readiness, FollowsTheBrokerWithinTwoSeconds) {
  ASSERT_LT(until_both(200, 30s), 30s) << "not ready at start";
  for (int b = 1; b <= 3; ++b) cluster_->set_broker_down(b);
  auto took = until_both(503, 5s);
  EXPECT_LE(took, 2s) << "took " << took.count() << " ms to notice the brokers had stopped";
  auto body = test::HttpClient(ingress_port()).get("/readyz").body;
  EXPECT_NE(body.find("broker"), std::string::npos) << body;
  for (int b = 1; b <= 3; ++b) cluster_->set_broker_up(b);
  EXPECT_LT(until_both(200, 30s), 30s) << "not ready again after the brokers came back";
}

TEST_F(Readiness, LivenessDoesNotDependOnEither) {
  ASSERT_LT(until_both(200, 30s), 30s);
  redis_->stop();
  for (int b = 1; b <= 3; ++b) cluster_->set_broker_down(b);
  EXPECT_EQ(test::HttpClient(ingress_port()).get("/healthz").status, 200);
  EXPECT_EQ(test::HttpClient(status_->port()).get("/healthz").status, 200);
  EXPECT_EQ(test::HttpClient(status_->port()).get("/nope").status, 404);
  EXPECT_EQ(test::HttpClient(status_->port()).request("POST", "/readyz").status, 405);
  for (int b = 1; b <= 3; ++b) cluster_->set_broker_up(b);
  redis_->start();
}

}  // namespace
}  // namespace stripe_sync
