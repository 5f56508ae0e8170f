#include "tests/support/redis_server.hpp"

#include <signal.h>

#include <csignal>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <stdexcept>

#include "tests/support/http_client.hpp"

namespace stripe_sync::test {

using namespace std::chrono_literals;

std::uint16_t free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

namespace {
bool port_free(unsigned port) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc);
  boost::system::error_code ec;
  a.open(boost::asio::ip::tcp::v4(), ec);
  if (!ec) a.bind({boost::asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(port)}, ec);
  return !ec;
}

// A cluster node also listens on its bus port, port + 10000: both must be free.
std::uint16_t free_node_port(bool cluster) {
  for (int i = 0; i < 100; ++i) {
    std::uint16_t p = free_port();
    if (!cluster || (p < 55535 && port_free(p + 10000u))) return p;
  }
  throw std::runtime_error("no free port pair for a cluster node");
}
}  // namespace

RedisServer::RedisServer(bool persistent, bool cluster_enabled)
    : port_(free_node_port(cluster_enabled)), persistent_(persistent), cluster_(cluster_enabled) {
  // As every process of ours does (process_main.cpp): a write to a connection Redis closed
  // (maxclients, a kill) must be an error, not the end of the test binary.
  std::signal(SIGPIPE, SIG_IGN);
  static int counter = 0;
  dir_ = (std::filesystem::temp_directory_path() /
          ("stripe-sync-redis-" + std::to_string(::getpid()) + "-" + std::to_string(++counter)))
             .string();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  start();
}

RedisServer::~RedisServer() {
  process_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

RedisEndpoint RedisServer::endpoint() const {
  RedisEndpoint ep;
  ep.host = "127.0.0.1";
  ep.port = port_;
  return ep;
}

std::unique_ptr<RedisClient> RedisServer::client() const {
  return std::make_unique<RedisClient>(endpoint(), 2000ms);
}

void RedisServer::start() { start_with({}, true); }

void RedisServer::start_with(const std::vector<std::string>& extra_args, bool wait_ready) {
  std::vector<std::string> argv{"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind",
                                "127.0.0.1", "--dir", dir_, "--save", "", "--appendonly",
                                persistent_ ? "yes" : "no", "--appendfsync", "always",
                                "--daemonize", "no", "--loglevel", "warning",
                                // chaos tests slow Redis down with DEBUG SLEEP
                                "--enable-debug-command", "local"};
  if (cluster_) {
    argv.insert(argv.end(), {"--cluster-enabled", "yes", "--cluster-config-file", dir_ + "/nodes.conf",
                             "--cluster-node-timeout", "1000"});
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<ChildProcess>(argv, std::vector<std::string>{}, dir_ + "/redis.log");
  if (!wait_ready) return;
  auto c = client();
  if (!eventually([&] { auto r = c->command({"PING"}); return r && r->str == "PONG"; }, 20s)) {
    throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
  }
}

void RedisServer::kill() {
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->wait(20s);
  process_.reset();
}

void RedisServer::stop() {
  if (!process_) return;
  process_->signal(SIGTERM);
  process_->wait(20s);
  process_.reset();
}

}  // namespace stripe_sync::test
