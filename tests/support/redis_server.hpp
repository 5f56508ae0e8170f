#pragma once
// A real redis-server for one test, on a free loopback port, its data in a fresh directory.
#include <cstdint>
#include <memory>
#include <string>

#include "common/redis/redis_client.hpp"
#include "tests/support/process.hpp"

namespace stripe_sync::test {

std::uint16_t free_port();

class RedisServer {
 public:
  // With `persistent`, an append-only file (fsync always) keeps the data across stop()/start().
  // With `cluster_enabled`, a single node with no slots: good for CLUSTER KEYSLOT only.
  explicit RedisServer(bool persistent = false, bool cluster_enabled = false);
  ~RedisServer();

  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }
  RedisEndpoint endpoint() const;
  std::unique_ptr<RedisClient> client() const;

  void stop();   // SIGTERM and wait: the server writes its data and exits
  void kill();   // SIGKILL: a crash, nothing saved
  void start();  // same port, same directory
  // The same with more redis-server arguments; without `wait_ready`, it returns once the process
  // runs (a server still loading its data answers LOADING meanwhile).
  void start_with(const std::vector<std::string>& extra_args, bool wait_ready);

 private:
  std::uint16_t port_;
  bool persistent_;
  bool cluster_;
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace stripe_sync::test
