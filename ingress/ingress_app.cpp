#include "ingress/ingress_app.hpp"

#include <boost/asio/io_context.hpp>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "common/kafka/kafka_producer.hpp"
#include "common/core/log.hpp"
#include "common/core/metrics.hpp"
#include "common/redis/redis_settings.hpp"
#include "common/http/http_server.hpp"
#include "ingress/ingress_handler.hpp"
#include "ingress/portal/portal_api.hpp"
#include <boost/asio/thread_pool.hpp>
#include "common/stripe/stripe_client.hpp"

namespace stripe_sync::ingress {

namespace {
HttpServerConfig http_server_config(const IngressConfig& c) {
  HttpServerConfig h;
  h.host = c.listen_host;
  h.port = c.listen_port;
  h.max_body_bytes = c.max_body_bytes;
  h.header_timeout = c.header_timeout;
  h.body_timeout = c.body_timeout;
  h.max_connections = c.max_connections;
  h.one_thread = c.threads == 1;
  return h;
}

ProducerConfig producer_config(const IngressConfig& c) {
  ProducerConfig p;
  p.brokers = c.kafka_brokers;
  p.topics = {c.kafka_topic};
  p.message_timeout = c.produce_timeout;
  p.linger = c.linger;
  // Room for the largest body we accept plus headers and record overhead.
  p.max_message_bytes = c.max_body_bytes + 64 * 1024;
  p.client_id = "stripe-ingress";
  // Reconnect quickly once a broker is back: a request waits at most the produce timeout.
  p.extra["reconnect.backoff.max.ms"] = "1000";
  return p;
}
}  // namespace

struct IngressApp::Impl {
  explicit Impl(IngressConfig c)
      : config(std::move(c)),
        producer(producer_config(config), ioc),
        metrics(registry),
        handler(config, producer, metrics, Clock::system()),
        work(boost::asio::make_work_guard(ioc)),
        server(std::make_shared<HttpServer>(ioc, http_server_config(config), handler)),
        portal_pool(static_cast<std::size_t>(config.portal.threads)) {
    if (config.portal.enabled()) {
      StripeClientConfig sc;
      sc.api_base = config.portal.stripe_api_base;
      sc.api_key = config.portal.stripe_api_key;
      sc.max_response_bytes = config.portal.stripe_max_response_bytes;
      sc.metrics = &registry;
      stripe = std::make_unique<StripeClient>(sc);
      portal = std::make_unique<PortalApi>(config.portal, config.redis_url, *stripe, load_api_keys(config.portal.api_keys_file),
                                           Clock::system().unix_ms, &registry);
      handler.enable_portal(portal.get(), portal_pool.get_executor());
    } else {
      log::info("portal API off: STRIPE_API_KEY, PORTAL_RETURN_SECRET and API_KEYS_FILE are needed");
    }
  }

  void probe_loop() {
    std::optional<RedisProbe> redis_probe;
    if (!config.redis_url.empty()) {
      redis_probe.emplace(parse_redis_url(config.redis_url), std::chrono::milliseconds(500), config.redis_allow_eviction);
    }
    std::unique_lock lock(probe_mutex);
    while (!probe_stop) {
      lock.unlock();
      // Blocking round trips, on this thread only: never on an I/O thread.
      // Checked every 250 ms with 500 ms timeouts: a lost broker or Redis shows within ~1 s.
      bool broker = producer.broker_reachable(std::chrono::milliseconds(500));
      Status redis = redis_probe ? redis_probe->check() : Status(Ok{});
      bool was = handler.ready();
      handler.set_readiness(!broker ? IngressHandler::Readiness::broker_down
                            : !redis ? (redis.error().code == "eviction" ? IngressHandler::Readiness::redis_evicts
                                                                         : IngressHandler::Readiness::redis_down)
                                     : IngressHandler::Readiness::ready);
      if (was != (broker && redis)) {
        log::info(broker && redis ? "ready" : "not ready",
                  {{"broker", broker ? "up" : "down"}, {"redis", redis ? "up" : "down"},
                   {"error", redis ? std::string_view() : std::string_view(redis.error().message)}});
      }
      lock.lock();
      probe_cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return probe_stop; });
    }
  }

  IngressConfig config;
  metrics::Registry registry;
  boost::asio::io_context ioc;  // before the producer: it serves the delivery reports
  KafkaProducer producer;
  IngressMetrics metrics;
  IngressHandler handler;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  std::shared_ptr<HttpServer> server;
  boost::asio::thread_pool portal_pool;  // blocking Stripe and Redis calls of the portal API
  std::unique_ptr<StripeClient> stripe;
  std::unique_ptr<PortalApi> portal;
  std::vector<std::thread> threads;
  std::thread probe;
  std::mutex probe_mutex;
  std::condition_variable probe_cv;
  bool probe_stop = false;
  bool stopped = false;
};

IngressApp::IngressApp(IngressConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

IngressApp::~IngressApp() { shutdown(std::chrono::milliseconds(1000)); }

void IngressApp::start() {
  impl_->server->start();
  for (int i = 0; i < impl_->config.threads; ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
  impl_->probe = std::thread([this] { impl_->probe_loop(); });
  auto ep = impl_->server->local_endpoint();
  log::info("listening", {{"address", ep.address().to_string()},
                          {"port", static_cast<int>(ep.port())},
                          {"threads", impl_->config.threads}});
}

boost::asio::ip::tcp::endpoint IngressApp::endpoint() const {
  return impl_->server->local_endpoint();
}

std::string IngressApp::metrics_text() const { return impl_->registry.render(); }

bool IngressApp::shutdown(std::chrono::milliseconds deadline) {
  if (impl_->stopped) return true;
  impl_->stopped = true;
  auto until = std::chrono::steady_clock::now() + deadline;
  impl_->server->begin_shutdown();
  // Busy connections finish their request (bounded by the produce timeout) and then close.
  while (impl_->server->open_sessions() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  bool clean = impl_->server->open_sessions() == 0;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
  int purged = impl_->producer.flush(std::max(left, std::chrono::milliseconds(100)));
  {
    std::lock_guard lock(impl_->probe_mutex);
    impl_->probe_stop = true;
  }
  impl_->probe_cv.notify_all();
  if (impl_->probe.joinable()) impl_->probe.join();
  impl_->portal_pool.join();
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  log::info("stopped", {{"clean", clean ? "true" : "false"}, {"purged", purged}});
  return clean && purged == 0;
}

}  // namespace stripe_sync::ingress
