#include "tests/support/stack.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "tests/support/http_client.hpp"

namespace stripe_sync::test {

using namespace std::chrono_literals;

Stack::Stack(StackBinaries bins, std::string webhook_secret, StackOptions options)
    : bins_(std::move(bins)), secret_(std::move(webhook_secret)), options_(std::move(options)) {
  dir_ = (std::filesystem::temp_directory_path() / ("stripe-sync-stack-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir_);
  broker_ = std::make_unique<ChildProcess>(std::vector<std::string>{bins_.cli, "broker", "--control"},
                                           std::vector<std::string>{}, dir_ + "/broker.log");
  auto line = broker_->read_line(20s);
  if (!line) throw std::runtime_error("the embedded broker did not start");
  bootstrap_ = *line;
  if (options_.redis_cluster) cluster_ = std::make_unique<RedisCluster>(3);
  else redis_ = std::make_unique<RedisServer>(/*persistent=*/true);
  ingress_port_ = free_port();
  worker_status_port_ = free_port();
  start_ingress();
}

void Stack::start_ingress() {
  std::vector<std::string> env{"STRIPE_WEBHOOK_SECRET=" + secret_, "KAFKA_BROKERS=" + bootstrap_,
                               "INGRESS_LISTEN=127.0.0.1:" + std::to_string(ingress_port_), "INGRESS_THREADS=2",
                               "REDIS_URL=" + redis_url()};
  env.insert(env.end(), options_.ingress_env.begin(), options_.ingress_env.end());
  ingress_ = std::make_unique<ChildProcess>(std::vector<std::string>{bins_.ingress}, env, dir_ + "/ingress-" + std::to_string(++ingress_starts_) + ".log");
  bool up = eventually([&] {
    try {
      return HttpClient(ingress_port_).get("/readyz").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }, 30s);
  if (!up) throw std::runtime_error("stripe-ingress did not become ready");
}

void Stack::restart_ingress() {
  ingress_->signal(SIGTERM);
  EXPECT_EQ(ingress_->wait(30s), 0) << "stripe-ingress did not drain and exit 0 on SIGTERM";
  start_ingress();
}

bool Stack::broker_control(const std::string& command) {
  broker_->write_stdin(command + "\n");
  auto answer = broker_->read_line(10s);
  return answer && *answer == "ok";
}

Stack::~Stack() {
  // A graceful stop must work (exit 0), and under the sanitizer presets it is also when
  // LeakSanitizer checks the children.
  for (auto* p : {&worker_, &ingress_}) {
    if (!*p) continue;
    (*p)->signal(SIGTERM);
    EXPECT_EQ((*p)->wait(30s), 0) << "a child did not stop cleanly on SIGTERM";
    p->reset();
  }
  redis_.reset();
  cluster_.reset();
  broker_.reset();
  // A sanitizer report in a child only shows in its log: make it fail the test.
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("runtime error:") != std::string::npos || line.find("Sanitizer") != std::string::npos) {
        ADD_FAILURE() << entry.path().filename().string() << ": " << line;
      }
    }
  }
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_);
}

void Stack::start_worker() {
  std::vector<std::string> env{"KAFKA_BROKERS=" + bootstrap_, "REDIS_URL=" + redis_url(), "WORKER_THREADS=2",
                               "REDIS_TIMEOUT_MS=1000",
                               "WORKER_METRICS_LISTEN=127.0.0.1:" + std::to_string(worker_status_port_)};
  env.insert(env.end(), options_.worker_env.begin(), options_.worker_env.end());
  worker_ = std::make_unique<ChildProcess>(std::vector<std::string>{bins_.worker}, env,
                                           dir_ + "/worker-" + std::to_string(++worker_starts_) + ".log");
}

bool Stack::worker_ready(std::chrono::milliseconds deadline) {
  return eventually([&] {
    try {
      return HttpClient(worker_status_port_).get("/readyz").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }, deadline);
}

void Stack::kill_worker() {
  if (!worker_) return;
  worker_->signal(SIGKILL);
  worker_->wait(10s);
  worker_.reset();
}

int Stack::count_in_worker_logs(const std::string& text) const {
  int n = 0;
  for (int i = 1; i <= worker_starts_; ++i) {
    std::ifstream in(dir_ + "/worker-" + std::to_string(i) + ".log");
    std::string line;
    while (std::getline(in, line)) n += line.find(text) != std::string::npos;
  }
  return n;
}

std::vector<std::string> Stack::log_lines() const {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
  }
  return out;
}

std::string Stack::cli(std::vector<std::string> args, std::vector<std::string> env) {
  args.insert(args.begin(), bins_.cli);
  env.push_back("KAFKA_BROKERS=" + bootstrap_);
  env.push_back("REDIS_URL=" + redis_url());
  ChildProcess p(args, env, dir_ + "/cli-" + std::to_string(++cli_runs_) + ".log");
  p.close_stdin();
  std::string out = p.read_all_stdout(60s);
  auto status = p.wait(30s);
  EXPECT_EQ(status, 0) << "stripe-sync " << args[1];
  return out;
}

}  // namespace stripe_sync::test
