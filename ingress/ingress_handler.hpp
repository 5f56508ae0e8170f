#pragma once
// Routes one parsed request to its handler and answers through `respond`. The webhook route is
// asynchronous (it waits for the broker); every other route answers at once.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "common/kafka/event_publisher.hpp"
#include "common/core/error_body.hpp"
#include "common/core/metrics.hpp"
#include "common/stripe/signature.hpp"
#include "common/http/http_types.hpp"
#include "common/http/request_handler.hpp"
#include "common/http/status_routes.hpp"
#include "ingress/ingress_config.hpp"
#include "ingress/portal/routes.hpp"
#include "ingress/webhook.hpp"

namespace stripe_sync::ingress {

// Time sources, injected so tests decide what "now" is.
struct Clock {
  std::function<std::int64_t()> unix_s;
  std::function<std::int64_t()> unix_ms;
  static Clock system();
};

// stripe-ingress's series (README.md, "Metrics"), every one resolved at start.
class IngressMetrics {
 public:
  explicit IngressMetrics(metrics::Registry& registry);
  void webhook(WebhookOutcome outcome);
  void response(unsigned status);
  // One portal API request: counted by route and HTTP status, timed by route.
  void portal(PortalRoute route, unsigned status, double seconds);
  metrics::Histogram& ack_seconds;
  metrics::Histogram& produce_seconds;
  metrics::Gauge& open_connections;
  metrics::Gauge& in_flight;
  metrics::Counter& rejected_connections;
  metrics::Registry& registry;  // rendered by /metrics

 private:
  metrics::Counter& status_2xx_;
  metrics::Counter& status_4xx_;
  metrics::Counter& status_5xx_;
  std::vector<metrics::Counter*> webhooks_;         // by WebhookOutcome
  std::vector<metrics::Counter*> portal_requests_;  // by route, then status slot
  std::vector<metrics::Histogram*> portal_seconds_; // by route
};

class PortalApi;

class IngressHandler final : public RequestHandler, public StatusSource {
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
              boost::asio::any_io_executor executor, Respond respond) override;
  void on_response(unsigned status) override { metrics_.response(status); }
  void on_body_too_large() override { metrics_.webhook(WebhookOutcome::payload_too_large); }
  void on_connection_opened() override { metrics_.open_connections.add(1); }
  void on_connection_closed() override { metrics_.open_connections.add(-1); }
  void on_connection_rejected() override { metrics_.rejected_connections.inc(); }

  // /readyz and /metrics (common/http/status_routes.hpp).
  bool ready(std::string& reason) const override;
  std::string metrics_text() const override { return metrics_.registry.render(); }

  // What /readyz says: the probe thread sets it from its broker and Redis checks.
  enum class Readiness { starting, ready, broker_down, redis_down, redis_evicts };
  void set_readiness(Readiness r) { readiness_.store(r, std::memory_order_relaxed); }
  bool ready() const { return readiness_.load(std::memory_order_relaxed) == Readiness::ready; }
  using StatusSource::ready;

 private:
  void handle_webhook(std::shared_ptr<Request> request, const boost::asio::ip::address& peer,
                      boost::asio::any_io_executor executor, Respond respond);
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
