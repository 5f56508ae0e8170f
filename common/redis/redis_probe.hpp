#pragma once
// REDIS_URL parsing and a blocking reachability check (PING) for readiness probes. The probe
// connects afresh each time and runs on a probe thread, never on an I/O thread.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis/redis_cluster.hpp"
#include "common/core/secret.hpp"

namespace stripe_sync {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  // Redis 6 ACL user, optional
  Secret password;
  int db = 0;
  // Further nodes to ask first (Redis Cluster seeds); the client finds the rest by itself.
  std::vector<RedisNodeAddress> extra_seeds;
  std::vector<RedisNodeAddress> seeds() const;
};

// redis://[[user]:password@]host[:port][/db], optionally followed by more seed nodes of the same
// cluster, comma-separated, each `host:port` or a whole redis:// URL:
//   redis://:pw@10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000
// Throws ConfigError (which never holds the password).
RedisEndpoint parse_redis_url(std::string_view url);

}  // namespace stripe_sync
