#pragma once
// The whole pipeline as real processes for end-to-end tests: the embedded broker
// (stripe-sync broker), redis-server, stripe-ingress and stripe-worker.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

namespace stripe_sync::test {

struct StackBinaries {
  std::string cli, ingress, worker;
};

class Stack {
 public:
  Stack(StackBinaries bins, std::string webhook_secret);
  ~Stack();

  const std::string& bootstrap() const { return bootstrap_; }
  std::uint16_t ingress_port() const { return ingress_port_; }
  RedisServer& redis() { return *redis_; }
  const std::string& secret() const { return secret_; }

  void start_worker();
  void kill_worker();  // SIGKILL: no drain, no commit
  // Lines of all worker logs so far that contain `text`.
  int count_in_worker_logs(const std::string& text) const;
  // Runs `stripe-sync <args>` against this stack; returns its stdout, asserts exit status 0.
  std::string cli(std::vector<std::string> args);

 private:
  StackBinaries bins_;
  std::string secret_;
  std::string dir_;
  std::unique_ptr<ChildProcess> broker_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<ChildProcess> ingress_;
  std::unique_ptr<ChildProcess> worker_;
  std::string bootstrap_;
  std::uint16_t ingress_port_ = 0;
  int worker_starts_ = 0;
};

}  // namespace stripe_sync::test
