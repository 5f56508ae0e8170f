#include "common/kafka/topic_inspect.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "common/kafka/kafka_handles.hpp"

namespace stripe_sync {

namespace {

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};

// min.insync.replicas of each topic by one DescribeConfigs; a topic the cluster does not answer
// for (librdkafka's mock cluster answers none) keeps nullopt.
void read_min_insync_replicas(rd_kafka_t* rk, std::vector<TopicFacts>& topics, std::chrono::milliseconds timeout) {
  std::vector<rd_kafka_ConfigResource_t*> resources;
  for (const TopicFacts& t : topics)
    if (t.exists) resources.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t.name.c_str()));
  if (resources.empty()) return;
  std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> queue(rd_kafka_queue_new(rk),
                                                                              &rd_kafka_queue_destroy);
  std::unique_ptr<rd_kafka_AdminOptions_t, decltype(&rd_kafka_AdminOptions_destroy)> options(
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS), &rd_kafka_AdminOptions_destroy);
  char err[256];
  rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()), err, sizeof err);
  rd_kafka_DescribeConfigs(rk, resources.data(), resources.size(), options.get(), queue.get());
  rd_kafka_ConfigResource_destroy_array(resources.data(), resources.size());
  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> event(
      rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 500), &rd_kafka_event_destroy);
  if (!event || rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const rd_kafka_DescribeConfigs_result_t* result = rd_kafka_event_DescribeConfigs_result(event.get());
  if (result == nullptr) return;
  size_t count = 0;
  const rd_kafka_ConfigResource_t** answered = rd_kafka_DescribeConfigs_result_resources(result, &count);
  for (size_t i = 0; i < count; ++i) {
    if (rd_kafka_ConfigResource_error(answered[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    const std::string name = rd_kafka_ConfigResource_name(answered[i]);
    size_t entries = 0;
    const rd_kafka_ConfigEntry_t** configs = rd_kafka_ConfigResource_configs(answered[i], &entries);
    for (size_t j = 0; j < entries; ++j) {
      const char* value = rd_kafka_ConfigEntry_value(configs[j]);
      if (std::string(rd_kafka_ConfigEntry_name(configs[j])) != "min.insync.replicas" || value == nullptr) continue;
      for (TopicFacts& t : topics)
        if (t.name == name) t.min_insync_replicas = std::atoi(value);
    }
  }
}

}  // namespace

ClusterFacts inspect_topics(const std::string& bootstrap, const std::vector<std::string>& topics,
                            std::chrono::milliseconds timeout) {
  ClusterFacts out;
  kafka::ConfPtr conf(rd_kafka_conf_new());
  kafka::set_conf(conf.get(), "bootstrap.servers", bootstrap);
  kafka::route_logs(conf.get());
  char err[512];
  kafka::HandlePtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!rk) {
    out.error = err;
    return out;
  }
  conf.release();
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk.get(), 1, nullptr, &raw, static_cast<int>(timeout.count()));
  std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> md(raw);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR || !md) {
    out.error = rd_kafka_err2str(e);
    return out;
  }
  out.reachable = true;
  out.brokers = md->broker_cnt;
  for (const std::string& name : topics) {
    TopicFacts t;
    t.name = name;
    for (int i = 0; i < md->topic_cnt; ++i) {
      const rd_kafka_metadata_topic_t& mt = md->topics[i];
      if (name != mt.topic || mt.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      t.exists = true;
      t.partitions = mt.partition_cnt;
      t.replication_factor = mt.partition_cnt > 0 ? mt.partitions[0].replica_cnt : 0;
    }
    out.topics.push_back(std::move(t));
  }
  read_min_insync_replicas(rk.get(), out.topics, std::min(timeout, std::chrono::milliseconds(2000)));
  return out;
}

}  // namespace stripe_sync
