#include "common/kafka/mock_cluster.hpp"

// clang-format off
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>  // must follow rdkafka.h
// clang-format on

#include <stdexcept>

#include "common/kafka/kafka_handles.hpp"

namespace stripe_sync {

struct MockKafkaCluster::Impl {
  kafka::HandlePtr handle;  // the mock cluster lives inside this (otherwise idle) handle
  rd_kafka_mock_cluster_t* cluster = nullptr;
};

MockKafkaCluster::MockKafkaCluster(int brokers)
    : impl_(std::make_unique<Impl>()), brokers_(brokers) {
  if (brokers < 1) throw std::invalid_argument("a mock cluster needs at least one broker");
  kafka::ConfPtr conf(rd_kafka_conf_new());
  kafka::route_logs(conf.get());
  char err[512];
  impl_->handle.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!impl_->handle) throw std::runtime_error(std::string("cannot create mock cluster: ") + err);
  conf.release();
  impl_->cluster = rd_kafka_mock_cluster_new(impl_->handle.get(), brokers);
  if (impl_->cluster == nullptr) throw std::runtime_error("cannot create mock cluster");
}

MockKafkaCluster::~MockKafkaCluster() {
  if (impl_->cluster) rd_kafka_mock_cluster_destroy(impl_->cluster);
}

void MockKafkaCluster::create_topic(const std::string& name, int partitions) {
  int replication = brokers_ < 3 ? brokers_ : 3;
  if (auto err = rd_kafka_mock_topic_create(impl_->cluster, name.c_str(), partitions, replication)) {
    throw std::runtime_error("cannot create topic " + name + ": " + rd_kafka_err2str(err));
  }
}

std::string MockKafkaCluster::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster);
}

void MockKafkaCluster::set_broker_down(std::int32_t id) {
  rd_kafka_mock_broker_set_down(impl_->cluster, id);
}

void MockKafkaCluster::set_broker_up(std::int32_t id) {
  rd_kafka_mock_broker_set_up(impl_->cluster, id);
}

void MockKafkaCluster::set_partition_leader(const std::string& topic, std::int32_t partition,
                                            std::int32_t broker_id) {
  rd_kafka_mock_partition_set_leader(impl_->cluster, topic.c_str(), partition, broker_id);
}

}  // namespace stripe_sync
