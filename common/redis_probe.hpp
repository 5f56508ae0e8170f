#pragma once
// REDIS_URL parsing and a blocking reachability check (PING) for readiness probes. The probe
// connects afresh each time and runs on a probe thread, never on an I/O thread.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/secret.hpp"

namespace stripe_sync {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  // Redis 6 ACL user, optional
  Secret password;
  int db = 0;
};

// redis://[[user]:password@]host[:port][/db]; throws ConfigError (without the password).
RedisEndpoint parse_redis_url(std::string_view url);

bool redis_reachable(const std::string& url, std::chrono::milliseconds timeout);

}  // namespace stripe_sync
