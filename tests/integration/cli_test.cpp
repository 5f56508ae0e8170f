// The stripe-sync and stripe-ingress binaries, run as a user runs them.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>

#include "common/kafka/kafka_producer.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "common/kafka/topic_reader.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace stripe_sync {
namespace {

using namespace std::chrono_literals;

std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("stripe-sync-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}


// The whole of what a process wrote to `path`, which must be exactly one line.
std::string single_line(const std::string& path) {
  std::ifstream in(path);
  std::string first, second;
  std::getline(in, first);
  EXPECT_FALSE(std::getline(in, second)) << "more than one line: " << second;
  return first;
}

TEST(SignCommand, ReproducesStripesVectorForTheSamePayload) {
  test::ChildProcess p({STRIPE_SYNC_CLI, "sign", "--secret", "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH",
                        "--timestamp", "1795500000"});
  p.write_stdin(test::read_fixture("events/customer.updated.json"));
  p.close_stdin();
  auto line = p.read_line(10s);
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "t=1795500000,v1=6ceb98674a10c421a958cb8040f025d28ae37d9129b9d873f393843f63bca360");
  EXPECT_EQ(p.wait(10s), 0);
}

TEST(SignCommand, WithoutASecretFailsWithOneLine) {
  std::string err = temp_path("sign.err");
  test::ChildProcess p({STRIPE_SYNC_CLI, "sign"}, {}, err);
  p.close_stdin();
  EXPECT_EQ(p.wait(10s), 2);
  std::string line = single_line(err);
  EXPECT_NE(line.find("--secret"), std::string::npos) << line;
}

TEST(BrokerCommand, PrintsBootstrapServersAndAcceptsIdempotentProduce) {
  std::string file = temp_path("bootstrap");
  std::filesystem::remove(file);
  test::ChildProcess broker({STRIPE_SYNC_CLI, "broker", "--brokers", "3", "--bootstrap-file", file});
  auto bootstrap = broker.read_line(20s);
  ASSERT_TRUE(bootstrap);
  EXPECT_EQ(std::count(bootstrap->begin(), bootstrap->end(), ','), 2);
  std::ifstream in(file);
  std::string from_file;
  std::getline(in, from_file);
  EXPECT_EQ(from_file, *bootstrap);

  // Both topics exist with the designed partition counts: produce to them and read back.
  ProducerConfig pc;
  pc.brokers = *bootstrap;
  pc.topics = {"stripe.events", "stripe.events.dlq"};
  {
    KafkaProducer producer(pc);
    boost::asio::io_context ioc;
    auto work = boost::asio::make_work_guard(ioc);  // completions arrive later, from Kafka
    int done = 0;
    for (const char* topic : {"stripe.events", "stripe.events.dlq"}) {
      OutgoingMessage m;
      m.topic = topic;
      m.key = "cus_1";
      m.value = "{}";
      producer.publish(std::move(m), ioc.get_executor(), [&](PublishResult r) {
        EXPECT_EQ(r.status, PublishStatus::ok) << r.error;
        ++done;
      });
    }
    auto until = std::chrono::steady_clock::now() + 20s;
    while (done < 2 && std::chrono::steady_clock::now() < until) ioc.run_for(50ms);
    EXPECT_EQ(done, 2);
  }
  EXPECT_EQ(topic_message_count(*bootstrap, "stripe.events"), 1);
  EXPECT_EQ(topic_message_count(*bootstrap, "stripe.events.dlq"), 1);

  broker.signal(SIGTERM);
  EXPECT_EQ(broker.wait(10s), 0);
}

TEST(BrokerCommand, HelpSaysItKeepsEverythingInMemory) {
  test::ChildProcess p({STRIPE_SYNC_CLI, "broker", "--help"});
  std::string out = p.read_all_stdout(10s);
  EXPECT_NE(out.find("IN MEMORY"), std::string::npos);
  EXPECT_NE(out.find("real"), std::string::npos);
  EXPECT_EQ(p.wait(10s), 0);
}

TEST(IngressBinary, MissingSecretStopsAtStartWithOneLine) {
  std::string err = temp_path("ingress.err");
  test::ChildProcess p({STRIPE_INGRESS_BIN}, {"STRIPE_WEBHOOK_SECRET=", "KAFKA_BROKERS=127.0.0.1:1"}, err);
  EXPECT_EQ(p.wait(10s), 2);
  std::string line = single_line(err);
  EXPECT_NE(line.find("STRIPE_WEBHOOK_SECRET"), std::string::npos) << line;
}

TEST(IngressBinary, HelpListsEverySetting) {
  test::ChildProcess p({STRIPE_INGRESS_BIN, "--help"});
  std::string out = p.read_all_stdout(10s);
  for (const char* name : {"STRIPE_WEBHOOK_SECRET", "KAFKA_BROKERS", "KAFKA_TOPIC", "INGRESS_LISTEN",
                           "INGRESS_THREADS", "WEBHOOK_TOLERANCE_S", "WEBHOOK_MAX_BYTES",
                           "INGRESS_PRODUCE_TIMEOUT_MS", "WEBHOOK_ALLOWED_CIDRS",
                           "TRUSTED_PROXY_CIDRS", "LOG_LEVEL", "LOG_FORMAT", "REDIS_URL"}) {
    EXPECT_NE(out.find(name), std::string::npos) << name;
  }
  EXPECT_EQ(p.wait(10s), 0);
}

TEST(IngressBinary, ServesAWebhookThenExitsZeroOnSigterm) {
  test::ChildProcess broker({STRIPE_SYNC_CLI, "broker", "--brokers", "1"});
  auto bootstrap = broker.read_line(20s);
  ASSERT_TRUE(bootstrap);
  auto port = test::free_port();
  std::string err = temp_path("ingress-run.err");
  test::ChildProcess ingress({STRIPE_INGRESS_BIN},
                             {"STRIPE_WEBHOOK_SECRET=whsec_cli_test", "KAFKA_BROKERS=" + *bootstrap,
                              "INGRESS_LISTEN=127.0.0.1:" + std::to_string(port)},
                             err);
  ASSERT_TRUE(test::eventually([&] {
    try {
      return test::HttpClient(port).get("/readyz").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }, 20s));
  std::string body = test::read_fixture("events/customer.created.json");
  test::ChildProcess signer({STRIPE_SYNC_CLI, "sign", "--secret", "whsec_cli_test"});
  signer.write_stdin(body);
  signer.close_stdin();
  auto sig = signer.read_line(10s);
  ASSERT_TRUE(sig);
  EXPECT_EQ(test::post_webhook(port, body, *sig).status, 200);
  EXPECT_EQ(topic_message_count(*bootstrap, "stripe.events"), 1);

  ingress.signal(SIGTERM);
  EXPECT_EQ(ingress.wait(15s), 0);
  // Every log line is one JSON object, and none carries the secret.
  std::ifstream in(err);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    EXPECT_NO_THROW(boost::json::parse(line)) << line;
    EXPECT_EQ(line.find("whsec_cli_test"), std::string::npos);
  }
  EXPECT_GE(lines, 2);
}

}  // namespace
}  // namespace stripe_sync
