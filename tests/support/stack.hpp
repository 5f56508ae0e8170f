#pragma once
// The whole pipeline as real processes for end-to-end tests: the embedded broker
// (stripe-sync broker), redis-server, stripe-ingress and stripe-worker.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"

namespace stripe_sync::test {

struct StackBinaries {
  std::string cli, ingress, worker;
};

// Extra NAME=value settings for the processes (portal keys, log level, ...).
struct StackOptions {
  std::vector<std::string> ingress_env;
  std::vector<std::string> worker_env;
  // A Redis Cluster (3 masters, 3 replicas) instead of one redis-server; REDIS_URL names one node.
  bool redis_cluster = false;
};

class Stack {
 public:
  Stack(StackBinaries bins, std::string webhook_secret, StackOptions options = {});
  ~Stack();

  const std::string& bootstrap() const { return bootstrap_; }
  std::uint16_t ingress_port() const { return ingress_port_; }
  std::uint16_t worker_status_port() const { return worker_status_port_; }  // WORKER_METRICS_LISTEN
  const std::string& dir() const { return dir_; }
  // The one server, or the cluster's first node (a client of it finds the whole cluster).
  RedisServer& redis() { return cluster_ ? cluster_->node(0) : *redis_; }
  std::string redis_url() const { return cluster_ ? cluster_->url() : redis_->url(); }
  // With redis_cluster: the cluster.
  RedisCluster& redis_cluster() { return *cluster_; }
  const std::string& secret() const { return secret_; }

  void start_worker();
  void kill_worker();  // SIGKILL: no drain, no commit
  // True once the worker's /readyz answers 200 (partitions assigned, Redis and broker up).
  bool worker_ready(std::chrono::milliseconds deadline);
  // SIGTERM (drain, exit 0 asserted) and start again on the same port; waits until ready.
  void restart_ingress();
  // A fault command for the embedded broker (down N, up N, leader TOPIC PARTITION N); true
  // when it answered ok.
  bool broker_control(const std::string& command);
  // Lines of all worker logs so far that contain `text`.
  int count_in_worker_logs(const std::string& text) const;
  // Runs `stripe-sync <args>` against this stack (plus `env`); returns its stdout, asserts exit
  // status 0.
  std::string cli(std::vector<std::string> args, std::vector<std::string> env = {});
  // Every line every process of the stack has logged so far (and the CLI's stderr).
  std::vector<std::string> log_lines() const;

 private:
  StackBinaries bins_;
  std::string secret_;
  StackOptions options_;
  std::string dir_;
  std::unique_ptr<ChildProcess> broker_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<RedisCluster> cluster_;
  std::unique_ptr<ChildProcess> ingress_;
  std::unique_ptr<ChildProcess> worker_;
  std::string bootstrap_;
  std::uint16_t ingress_port_ = 0;
  std::uint16_t worker_status_port_ = 0;
  int ingress_starts_ = 0;
  void start_ingress();
  int worker_starts_ = 0;
  int cli_runs_ = 0;
};

}  // namespace stripe_sync::test
