// KafkaConsumer against librdkafka's mock cluster in this process: rebalances reach the handler,
// nothing is committed but what the caller commits, and a new member resumes from there.
#include "common/kafka/kafka_consumer.hpp"

#include <gtest/gtest.h>

#include <boost/asio/system_executor.hpp>
#include <atomic>
#include <thread>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/kafka/kafka_producer.hpp"
#include "common/kafka/mock_cluster.hpp"

namespace stripe_sync::kafka {
namespace {

using namespace std::chrono_literals;
constexpr const char* kTopic = "consumer.test";

struct Recorder final : RebalanceHandler {
  void on_assigned(std::span<const std::int32_t> p) override {
    std::lock_guard l(m);
    assigned.insert(p.begin(), p.end());
  }
  void on_revoked(std::span<const std::int32_t> p) override {
    std::lock_guard l(m);
    for (auto id : p) assigned.erase(id);
    ++revokes;
  }
  std::mutex m;
  std::set<std::int32_t> assigned;
  int revokes = 0;
};

void produce(const MockKafkaCluster& cluster, int n) {
  ProducerConfig pc;
  pc.brokers = cluster.bootstrap_servers();
  pc.topics = {kTopic};
  KafkaProducer producer(pc);  // reports on its own poll thread
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::string> values;
  values.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    values.push_back("v" + std::to_string(i));
    OutgoingMessage m;
    m.topic = kTopic;
    m.key = "same-key";  // one partition, in order
    m.value = values.back();
    producer.publish(std::move(m), boost::asio::system_executor(),
                     [&](PublishResult r) { (r.status == PublishStatus::ok ? ok : failed)++; });
  }
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (ok + failed < n && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);  // polls a deadline
  ASSERT_EQ(ok.load(), n);
}

ConsumerConfig config(const MockKafkaCluster& cluster) {
  ConsumerConfig c;
  c.brokers = cluster.bootstrap_servers();
  c.group = "consumer-test";
  c.topic = kTopic;
  c.fetch_wait = 10ms;
  return c;
}

// Polls until `n` messages came or the deadline passed; returns their offsets.
std::vector<std::int64_t> consume(KafkaConsumer& consumer, std::size_t n, std::int32_t& partition) {
  std::vector<std::int64_t> offsets;
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (offsets.size() < n && std::chrono::steady_clock::now() < until) {
    if (auto m = consumer.poll(100ms)) {
      partition = m->partition;
      offsets.push_back(m->offset);
    }
  }
  return offsets;
}

TEST(KafkaConsumer, AssignsThroughTheHandlerAndANewMemberResumesAtTheCommittedOffset) {
  MockKafkaCluster cluster(1);
  cluster.create_topic(kTopic, 2);
  produce(cluster, 10);
  std::int32_t partition = -1;
  {
    Recorder rec;
    KafkaConsumer consumer(config(cluster), rec);
    ASSERT_TRUE(consumer.subscribe());
    auto offsets = consume(consumer, 10, partition);
    ASSERT_EQ(offsets.size(), 10u);
    EXPECT_EQ(offsets.front(), 0);
    EXPECT_EQ(offsets.back(), 9);
    {
      std::lock_guard l(rec.m);
      EXPECT_EQ(rec.assigned.size(), 2u);  // both partitions, through the handler
    }
    EXPECT_EQ(consumer.high_watermark(partition).value_or(-1), 10);
    consumer.commit(partition, 4);  // 0..3 are durable; 4..9 are not
    consumer.close();
    std::lock_guard l(rec.m);
    EXPECT_EQ(rec.revokes, 1);
    EXPECT_TRUE(rec.assigned.empty());
  }
  Recorder rec;
  KafkaConsumer again(config(cluster), rec);
  ASSERT_TRUE(again.subscribe());
  std::int32_t p2 = -1;
  auto offsets = consume(again, 6, p2);
  ASSERT_EQ(offsets.size(), 6u);
  EXPECT_EQ(p2, partition);
  EXPECT_EQ(offsets.front(), 4);  // nothing past the commit was taken as done
  EXPECT_EQ(offsets.back(), 9);
}

}  // namespace
}  // namespace stripe_sync::kafka
