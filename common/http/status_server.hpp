#pragma once
// A small HTTP/1.1 server for a process's own status routes (/healthz, /readyz, /metrics) when
// the process serves nothing else: stripe-worker on WORKER_METRICS_LISTEN. One thread of its
// own, so a slow scrape never touches the work; each connection has a read deadline and a small
// request limit.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace stripe_sync {

struct StatusAnswer {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class StatusServer {
 public:
  // `route` gets the request path of a GET (or HEAD) and returns the answer; it runs on the
  // server's thread. Binds at once (throws std::runtime_error naming the address on failure).
  using Route = std::function<StatusAnswer(std::string_view path)>;
  StatusServer(std::string_view host, std::uint16_t port, Route route);
  ~StatusServer();  // stops accepting, closes connections, joins the thread
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stripe_sync
