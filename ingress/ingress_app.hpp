#pragma once
// Everything stripe-ingress runs, wired together: producer, handler, HTTP server, readiness
// probe and the I/O threads. main() and the integration tests build the same object.
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>

#include "common/kafka/event_publisher.hpp"
#include "ingress/ingress_config.hpp"

namespace stripe_sync::ingress {

class IngressApp {
 public:
  // Binds the listening socket and connects the producer; throws on failure.
  explicit IngressApp(IngressConfig config);
  ~IngressApp();

  void start();  // starts the I/O threads and the readiness probe
  boost::asio::ip::tcp::endpoint endpoint() const;

  // SIGTERM's path: stop accepting, finish in-flight requests (up to `deadline`), flush the
  // producer, stop the threads. Returns true when nothing in flight was cut off.
  bool shutdown(std::chrono::milliseconds deadline);

  std::string metrics_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stripe_sync::ingress
