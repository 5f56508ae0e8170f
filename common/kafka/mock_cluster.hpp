#pragma once
// The embedded Kafka-protocol broker: librdkafka's mock cluster. Everything is in memory and
// gone when the process ends; it is for local runs and tests. Production uses real Kafka.
#include <cstdint>
#include <memory>
#include <string>

namespace stripe_sync {

class MockKafkaCluster {
 public:
  // Starts `brokers` brokers (ids 1..brokers) listening on loopback ports of their choosing.
  explicit MockKafkaCluster(int brokers);
  ~MockKafkaCluster();
  MockKafkaCluster(const MockKafkaCluster&) = delete;
  MockKafkaCluster& operator=(const MockKafkaCluster&) = delete;

  // Replication is capped at the broker count.
  void create_topic(const std::string& name, int partitions);
  std::string bootstrap_servers() const;
  int broker_count() const { return brokers_; }

  // Fault injection for tests: a down broker closes its connections and refuses new ones.
  void set_broker_down(std::int32_t broker_id);
  void set_broker_up(std::int32_t broker_id);
  void set_partition_leader(const std::string& topic, std::int32_t partition, std::int32_t broker_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int brokers_;
};

}  // namespace stripe_sync
