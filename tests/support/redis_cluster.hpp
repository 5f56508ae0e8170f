#pragma once
// A Redis Cluster of real redis-server processes for one test: `masters` masters with one
// replica each, on free loopback ports, made with `redis-cli --cluster create`.
#include <memory>
#include <string>
#include <vector>

#include "tests/support/redis_server.hpp"

namespace stripe_sync::test {

class RedisCluster {
 public:
  explicit RedisCluster(int masters = 3);
  // REDIS_URL naming one node (the first), as a user would write it.
  std::string url() const { return nodes_.front()->url(); }
  RedisEndpoint endpoint() const { return nodes_.front()->endpoint(); }
  RedisServer& node(std::size_t i) { return *nodes_[i]; }
  std::size_t size() const { return nodes_.size(); }
  // Every node that runs answers cluster_state:ok and sees `masters` masters serving all slots.
  bool healthy() const;
  // The node serving `slot` as master now (index into node()).
  int master_of(int slot) const;
  // redis-cli --cluster <args...> against the first live node; its exit status.
  int cli(const std::vector<std::string>& args) const;
  const std::string& last_output() const { return last_output_; }

 private:
  int masters_;
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  mutable std::string last_output_;
};

}  // namespace stripe_sync::test
