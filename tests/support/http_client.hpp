#pragma once
// A blocking HTTP/1.1 client for tests: one keep-alive connection to 127.0.0.1:port.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace stripe_sync::test {

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  bool keep_alive = true;
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port);
  ~HttpClient();
  // Throws on a transport error (connection refused, reset, timeout).
  HttpResult request(const std::string& method, const std::string& target,
                     const std::string& body = {},
                     const std::map<std::string, std::string>& headers = {});
  HttpResult get(const std::string& target) { return request("GET", target); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A plain TCP connection to 127.0.0.1:port for tests that write raw bytes: the descriptor, or -1
// when the connect fails. The caller closes it.
int connect_loopback(std::uint16_t port);

// Sends a signed webhook on a fresh connection.
HttpResult post_webhook(std::uint16_t port, const std::string& body, const std::string& signature);

// GET /metrics on `port`: the body, or "" while the process does not answer.
std::string scrape_metrics(std::uint16_t port);
// The value of one series ("name{labels}") in Prometheus text, or -1 when absent.
double metric_value(const std::string& text, const std::string& series);

// Polls `condition` every 20 ms until it holds or `deadline` passes; returns whether it held.
template <class F>
bool eventually(F condition, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace stripe_sync::test
