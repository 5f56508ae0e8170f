#pragma once
// What a Kafka cluster says about the topics a deployment needs: reachable, how many brokers,
// each topic's partitions and replication factor, and its min.insync.replicas where the cluster
// answers DescribeConfigs. For `stripe-sync doctor`.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stripe_sync {

struct TopicFacts {
  std::string name;
  bool exists = false;
  int partitions = 0;
  int replication_factor = 0;            // replicas of its first partition
  std::optional<int> min_insync_replicas;  // nullopt: the cluster did not say
};

struct ClusterFacts {
  bool reachable = false;
  std::string error;  // why not, when not reachable
  int brokers = 0;
  std::vector<TopicFacts> topics;
};

ClusterFacts inspect_topics(const std::string& bootstrap, const std::vector<std::string>& topics,
                            std::chrono::milliseconds timeout);

}  // namespace stripe_sync
