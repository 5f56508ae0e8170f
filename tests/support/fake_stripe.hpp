#pragma once
// The one stand-in the tests may use: a local HTTP server playing Stripe's API. Every request it
// receives is recorded and checked against Stripe's parameter list (tests/fixtures/
// stripe-params.json, from stripe-node's types): endpoint, method, parameter names, nesting and
// types, enum values, the form encoding, Stripe-Version, Authorization and Idempotency-Key.
// What it answers is up to each test.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace stripe_sync::test {

struct FakeRequest {
  std::string method, target, path;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::vector<std::pair<std::string, std::string>> params;  // decoded query or form body
  int connection = 0;                                       // which TCP connection carried it
  std::string param(const std::string& name) const;        // first value, or empty
};

struct FakeResponse {
  FakeResponse(int s = 200, std::string b = "{}", std::map<std::string, std::string> h = {})
      : status(s), body(std::move(b)), headers(std::move(h)) {}
  int status;
  std::string body;
  std::map<std::string, std::string> headers;
  bool hang = false;  // accept, read, never answer (until the fake stops)
};

class FakeStripe {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;
  explicit FakeStripe(Handler handler);
  ~FakeStripe();

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }
  std::vector<FakeRequest> requests() const;
  std::vector<std::string> violations() const;  // empty when every request matched Stripe's API
  int connections() const { return connections_.load(); }
  void stop();

 private:
  void serve(int fd, int connection);
  void close_connection(int fd);
  std::vector<std::string> check(const FakeRequest& r) const;

  Handler handler_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
  std::vector<FakeRequest> requests_;
  std::vector<std::string> violations_;
};

// A JSON error body as Stripe sends it.
// An HTTP Date header for `unix_s`, as Stripe sends it ("Tue, 24 Nov 2026 06:00:00 GMT").
std::string http_date(std::int64_t unix_s);

std::string stripe_error_body(const std::string& type, const std::string& message,
                              const std::string& code = {});

}  // namespace stripe_sync::test
