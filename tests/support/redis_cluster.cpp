#include "tests/support/redis_cluster.hpp"

#include <stdexcept>

#include "common/redis/redis_cluster.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

namespace stripe_sync::test {

using namespace std::chrono_literals;

RedisCluster::RedisCluster(int masters) : masters_(masters) {
  // Persistent, as deploy/compose.redis-cluster.yaml is: a master without an append-only file
  // that restarts before its replica takes over comes back empty, and its replica then copies
  // the empty data set (tests/RELIABILITY.md, "The cluster seed under ASan").
  for (int i = 0; i < masters * 2; ++i) nodes_.push_back(std::make_unique<RedisServer>(/*persistent=*/true, true));
  std::vector<std::string> args{"create"};
  for (auto& n : nodes_) args.push_back("127.0.0.1:" + std::to_string(n->port()));
  args.insert(args.end(), {"--cluster-replicas", "1", "--cluster-yes"});
  if (cli(args) != 0) throw std::runtime_error("redis-cli --cluster create failed");
  if (!eventually([&] { return healthy(); }, 30s)) throw std::runtime_error("the Redis Cluster did not become healthy");
  // Every node agrees on the configuration (reshard refuses to start otherwise), and every
  // master has its replica in sync.
  const std::string first = "127.0.0.1:" + std::to_string(nodes_.front()->port());
  if (!eventually([&] { return cli({"check", first}) == 0; }, 30s)) {
    throw std::runtime_error("the Redis Cluster's nodes do not agree");
  }
  if (!eventually([&] {
        RedisClient c(endpoint(), 1000ms);
        auto acks = c.on_every_master({"WAIT", "1", "200"});
        if (!acks) return false;
        for (const auto& [node, v] : *acks)
          if (v.integer < 1) return false;
        return true;
      }, 30s)) {
    throw std::runtime_error("the Redis Cluster's replicas are not in sync");
  }
}

bool RedisCluster::healthy() const {
  for (const auto& n : nodes_) {
    auto c = n->client();
    auto info = c->command({"CLUSTER", "INFO"});
    if (!info) continue;  // a node that is down
    if (info->str.find("cluster_state:ok") == std::string::npos) return false;
    auto shards = c->command({"CLUSTER", "SHARDS"});
    if (!shards) return false;
    auto map = RedisSlotMap::from_shards(*shards, "127.0.0.1");
    if (!map || !map->covers_every_slot() || map->masters().size() != static_cast<std::size_t>(masters_)) return false;
  }
  return true;
}

int RedisCluster::master_of(int slot) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto c = nodes_[i]->client();
    auto shards = c->command({"CLUSTER", "SHARDS"});
    if (!shards) continue;
    auto map = RedisSlotMap::from_shards(*shards, "127.0.0.1");
    if (!map || !map->master_for(slot)) return -1;
    for (std::size_t j = 0; j < nodes_.size(); ++j) {
      if (nodes_[j]->port() == map->master_for(slot)->port) return static_cast<int>(j);
    }
  }
  return -1;
}

int RedisCluster::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"/usr/bin/redis-cli", "--cluster"};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess p(argv, {}, "/dev/null");
  p.close_stdin();
  last_output_ = p.read_all_stdout(180s);  // reshard prints a line a key: read it, or the pipe fills
  return p.wait(10s).value_or(-1);
}

}  // namespace stripe_sync::test
