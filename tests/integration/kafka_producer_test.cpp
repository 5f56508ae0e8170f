// KafkaProducer serving its delivery reports on an io_context (the ingress's mode), against
// librdkafka's mock cluster in this process.
#include "common/kafka/kafka_producer.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/kafka/mock_cluster.hpp"

namespace stripe_sync {
namespace {

using namespace std::chrono_literals;
constexpr const char* kTopic = "stripe.events";

struct Seen {
  std::mutex mutex;
  std::vector<PublishResult> results;
  std::set<std::thread::id> threads;

  std::size_t size() {
    std::lock_guard lock(mutex);
    return results.size();
  }
};

ProducerConfig config_for(const MockKafkaCluster& cluster) {
  ProducerConfig pc;
  pc.brokers = cluster.bootstrap_servers();
  pc.topics = {kTopic};
  pc.message_timeout = 5000ms;
  return pc;
}

void publish_n(KafkaProducer& producer, boost::asio::io_context& ioc, Seen& seen, int n) {
  for (int i = 0; i < n; ++i) {
    auto value = std::make_shared<std::string>("{\"id\":\"evt_" + std::to_string(i) + "\"}");
    OutgoingMessage m;
    m.topic = kTopic;
    std::string key = "cus_" + std::to_string(i % 7);
    m.key = key;
    m.value = *value;
    m.owner = value;
    producer.publish(std::move(m), ioc.get_executor(), [&seen](PublishResult r) {
      std::lock_guard lock(seen.mutex);
      seen.results.push_back(std::move(r));
      seen.threads.insert(std::this_thread::get_id());
    });
  }
}

TEST(KafkaProducer, ReportsServedOnTheIoContextRunOnItsThreadAndAreEachDeliveredOnce) {
  MockKafkaCluster cluster(3);
  cluster.create_topic(kTopic, 6);
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  std::thread::id io_thread;
  std::thread runner([&] {
    io_thread = std::this_thread::get_id();
    ioc.run();
  });
  {
    KafkaProducer producer(config_for(cluster), ioc);
    Seen seen;
    publish_n(producer, ioc, seen, 300);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (seen.size() < 300 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(seen.size(), 300u);
    std::lock_guard lock(seen.mutex);
    std::set<std::pair<std::int32_t, std::int64_t>> positions;
    for (const auto& r : seen.results) {
      EXPECT_EQ(r.status, PublishStatus::ok) << r.error;
      positions.insert({r.partition, r.offset});
    }
    EXPECT_EQ(positions.size(), 300u) << "every message has its own partition and offset";
    ASSERT_EQ(seen.threads.size(), 1u);
    EXPECT_EQ(*seen.threads.begin(), io_thread);
  }
  work.reset();
  ioc.stop();
  runner.join();
}

TEST(KafkaProducer, DestroyedWhileItsContextIsNotRunningStillReportsEveryMessage) {
  MockKafkaCluster cluster(1);
  cluster.create_topic(kTopic, 2);
  // As in the ingress's shutdown: the context ran (the producer's waits are armed), its threads
  // stopped, then the producer is destroyed.
  boost::asio::io_context ioc;
  Seen seen;
  {
    KafkaProducer producer(config_for(cluster), ioc);
    ioc.poll();
    ASSERT_FALSE(ioc.stopped());
    publish_n(producer, ioc, seen, 50);
  }  // the destructor flushes, serving the reports itself; their completions wait in ioc
  EXPECT_EQ(seen.size(), 0u);
  ioc.run_for(5s);
  EXPECT_TRUE(ioc.stopped()) << "the stopped producer left a wait pending in the context";
  ASSERT_EQ(seen.size(), 50u);
  for (const auto& r : seen.results) EXPECT_EQ(r.status, PublishStatus::ok) << r.error;
}

TEST(KafkaProducer, AnIdleProducerDestroyedAfterItsContextRanLeavesNoWaitBehind) {
  // Nothing published, so nothing ever signals the eventfd: only the stop itself may end the
  // wait the producer armed on it (otherwise the context would never run out of work).
  MockKafkaCluster cluster(1);
  cluster.create_topic(kTopic, 1);
  boost::asio::io_context ioc;
  {
    KafkaProducer producer(config_for(cluster), ioc);
    ioc.poll();
    ASSERT_FALSE(ioc.stopped());
  }
  ioc.run_for(3s);
  EXPECT_TRUE(ioc.stopped()) << "the stopped producer left a wait pending in the context";
}

}  // namespace
}  // namespace stripe_sync
