#pragma once
// Routes one parsed request to its handler and answers through `respond`. The webhook route is
// asynchronous (it waits for the broker); every other route answers at once.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <atomic>
#include <functional>
#include <memory>

#include "common/kafka/event_publisher.hpp"
#include "common/core/error_body.hpp"
#include "common/core/metrics.hpp"
#include "common/stripe/signature.hpp"
#include "ingress/http_types.hpp"
#include "ingress/ingress_config.hpp"

namespace stripe_sync::ingress {

// Time sources, injected so tests decide what "now" is.
struct Clock {
  std::function<std::int64_t()> unix_s;
  std::function<std::int64_t()> unix_ms;
  static Clock system();
};

class IngressMetrics {
 public:
  explicit IngressMetrics(metrics::Registry& registry);
  void webhook(std::string_view outcome);
  void response(unsigned status);
  // One portal API request: counted by route and HTTP status, timed by route.
  void portal(std::string_view route, unsigned status, double seconds);
  metrics::Histogram& ack_seconds;
  metrics::Histogram& produce_seconds;
  metrics::Gauge& open_connections;
  metrics::Gauge& in_flight;
  metrics::Counter& rejected_connections;
  metrics::Registry& registry;

 private:
  metrics::Counter& accepted_;
  metrics::Counter& invalid_signature_;
  metrics::Counter& invalid_event_;
  metrics::Counter& bad_request_;
  metrics::Counter& forbidden_;
  metrics::Counter& too_large_;
  metrics::Counter& upstream_unavailable_;
  metrics::Counter& status_2xx_;
  metrics::Counter& status_4xx_;
  metrics::Counter& status_5xx_;
};

class PortalApi;

class IngressHandler {
 public:
  IngressHandler(const IngressConfig& config, EventPublisher& publisher, IngressMetrics& metrics,
                 Clock clock);

  // Enables the portal routes: their blocking work runs on `pool`, answers come back to the
  // connection's strand.
  void enable_portal(PortalApi* portal, boost::asio::any_io_executor pool) {
    portal_ = portal;
    portal_pool_ = std::move(pool);
  }

  // `executor` is the connection's strand: completions and the produce timer run there.
  void handle(std::shared_ptr<Request> request, const boost::asio::ip::address& peer,
              boost::asio::any_io_executor executor, Respond respond);

  // A response for a request the session could not even finish reading (413, 400).
  Response error_response(ErrorCode code, std::string_view message, unsigned version,
                          bool keep_alive) const;

  // What /readyz says: the probe thread sets it from its broker and Redis checks.
  enum class Readiness { starting, ready, broker_down, redis_down, redis_evicts };
  void set_readiness(Readiness r) { readiness_.store(r, std::memory_order_relaxed); }
  bool ready() const { return readiness_.load(std::memory_order_relaxed) == Readiness::ready; }

 private:
  void handle_webhook(std::shared_ptr<Request> request, const boost::asio::ip::address& peer,
                      boost::asio::any_io_executor executor, Respond respond);
  Response json_response(unsigned status, std::string body, const Request& req) const;
  Response error_for(const Request& req, ErrorCode code, std::string_view message) const;

  const IngressConfig& config_;
  SignatureVerifier verifier_;
  EventPublisher& publisher_;
  IngressMetrics& metrics_;
  Clock clock_;
  std::atomic<Readiness> readiness_{Readiness::starting};
  PortalApi* portal_ = nullptr;
  boost::asio::any_io_executor portal_pool_;
};

}  // namespace stripe_sync::ingress
