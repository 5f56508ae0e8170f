#pragma once
// The status routes of a process that serves nothing else (stripe-worker on
// WORKER_METRICS_LISTEN): the one HttpServer, on a thread of its own so a slow scrape never
// touches the work, with a handler that answers /healthz, /readyz and /metrics
// (status_routes.hpp) and 404 to anything else. Small limits: a status request has no body.
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/http/status_routes.hpp"

namespace stripe_sync {

class StatusServer {
 public:
  // Binds at once (throws std::runtime_error naming the address on failure). `source` must
  // outlive the server.
  StatusServer(std::string_view host, std::uint16_t port, const StatusSource& source);
  ~StatusServer();  // stops accepting, closes connections, joins the thread
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stripe_sync
