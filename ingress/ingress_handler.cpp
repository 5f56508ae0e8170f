#include "ingress/ingress_handler.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/field.hpp>
#include <chrono>

#include "common/core/json_writer.hpp"
#include "common/core/error_body.hpp"
#include "common/core/log.hpp"
#include "common/stripe/stripe_client.hpp"
#include "common/core/time.hpp"
#include "ingress/portal/portal_api.hpp"
#include "ingress/webhook.hpp"
#include "common/http/responses.hpp"

namespace stripe_sync::ingress {

namespace {
// 500 INTERNAL for a portal request that failed in a way the handlers did not foresee. The log
// line carries the request id the caller also gets, so the two can be matched.
Answer internal_error(std::string_view route, std::string_view what) {
  std::string request_id = random_uuid();
  log::error("portal request failed unexpectedly", {{"route", route}, {"request_id", request_id}, {"error", what}});
  return {500, error_body(ErrorCode::internal, "internal error (request id " + request_id + ")", unix_ms_now()),
          {{"X-Request-Id", request_id}}};
}
}  // namespace

namespace {
std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}
}  // namespace

Clock Clock::system() {
  return {[] { return unix_ms_now() / 1000; }, [] { return unix_ms_now(); }};
}

namespace {
// The statuses the portal answers with (error_body.hpp's codes and 200); anything else is "other".
constexpr unsigned kPortalStatuses[] = {200, 400, 401, 403, 404, 405, 409, 413, 429, 500, 502, 503};
constexpr std::size_t kPortalStatusSlots = std::size(kPortalStatuses) + 1;
constexpr PortalRoute kPortalRoutes[] = {PortalRoute::session,       PortalRoute::portal_return,
                                         PortalRoute::analytics,     PortalRoute::customer_update,
                                         PortalRoute::config_list,   PortalRoute::config_create,
                                         PortalRoute::config_update, PortalRoute::customer_read,
                                         PortalRoute::entitlement_check, PortalRoute::invoice_list};

std::size_t portal_status_slot(unsigned status) {
  for (std::size_t i = 0; i < std::size(kPortalStatuses); ++i)
    if (kPortalStatuses[i] == status) return i;
  return std::size(kPortalStatuses);
}
}  // namespace

IngressMetrics::IngressMetrics(metrics::Registry& r)
    : ack_seconds(r.histogram("stripe_ingress_webhook_ack_seconds",
                              "Time from a webhook fully received to its 200, seconds")),
      produce_seconds(r.histogram("stripe_ingress_produce_seconds",
                                  "Time from handing a verified event to the producer to the broker's acknowledgement (acks=all), seconds")),
      open_connections(r.gauge("stripe_ingress_open_connections", "Open HTTP connections")),
      in_flight(r.gauge("stripe_ingress_webhooks_in_flight",
                        "Verified webhooks handed to the producer and not yet reported on")),
      rejected_connections(r.counter("stripe_ingress_connections_rejected_total",
                                     "Connections closed at accept: INGRESS_MAX_CONNECTIONS reached")),
      registry(r),
      status_2xx_(r.counter("stripe_ingress_http_responses_total", "HTTP responses by status class", "code=\"2xx\"")),
      status_4xx_(r.counter("stripe_ingress_http_responses_total", "HTTP responses by status class", "code=\"4xx\"")),
      status_5xx_(r.counter("stripe_ingress_http_responses_total", "HTTP responses by status class", "code=\"5xx\"")) {
  // Every series is resolved here, once: a request indexes a table, with no lookup or lock.
  for (std::size_t i = 0; i < static_cast<std::size_t>(WebhookOutcome::count); ++i) {
    const auto outcome = static_cast<WebhookOutcome>(i);
    webhooks_.push_back(&r.counter("stripe_ingress_webhooks_total",
                                   "Webhook requests by outcome and the HTTP status answered",
                                   "outcome=\"" + std::string(to_string(outcome)) + "\",status=\"" +
                                       std::to_string(http_status(outcome)) + "\""));
  }
  for (PortalRoute route : kPortalRoutes) {
    const std::string name(to_string(route));
    for (std::size_t i = 0; i < kPortalStatusSlots; ++i) {
      const std::string code = i < std::size(kPortalStatuses) ? std::to_string(kPortalStatuses[i]) : "other";
      portal_requests_.push_back(&r.counter("stripe_portal_requests_total", "Portal API requests by route and HTTP status",
                                            "route=\"" + name + "\",code=\"" + code + "\""));
    }
    portal_seconds_.push_back(&r.histogram("stripe_portal_request_seconds",
                                           "Portal API request duration by route, seconds", "route=\"" + name + "\""));
  }
}

void IngressMetrics::webhook(WebhookOutcome outcome) { webhooks_[static_cast<std::size_t>(outcome)]->inc(); }

void IngressMetrics::portal(PortalRoute route, unsigned status, double seconds) {
  const auto r = static_cast<std::size_t>(route);
  portal_requests_[r * kPortalStatusSlots + portal_status_slot(status)]->inc();
  portal_seconds_[r]->observe(seconds);
}

void IngressMetrics::response(unsigned status) {
  if (status < 400) status_2xx_.inc();
  else if (status < 500) status_4xx_.inc();
  else status_5xx_.inc();
}

IngressHandler::IngressHandler(const IngressConfig& config, EventPublisher& publisher,
                               IngressMetrics& metrics, Clock clock)
    : config_(config),
      verifier_(reveal_all(config.webhook_secrets), config.tolerance_s),
      publisher_(publisher),
      metrics_(metrics),
      clock_(std::move(clock)) {}

Response IngressHandler::error_for(const Request& req, ErrorCode code, std::string_view message) const {
  return error_response(code, message, req.version(), req.keep_alive(), clock_.unix_ms());
}

bool IngressHandler::ready(std::string& reason) const {
  switch (readiness_.load(std::memory_order_relaxed)) {
    case Readiness::ready: return true;
    case Readiness::starting: reason = "starting"; break;
    case Readiness::broker_down: reason = "the Kafka broker is not reachable"; break;
    case Readiness::redis_down: reason = "Redis is not reachable"; break;
    case Readiness::redis_evicts: reason = "Redis evicts keys (maxmemory-policy); set it to noeviction"; break;
  }
  return false;
}

void IngressHandler::handle(std::shared_ptr<Request> req, const boost::asio::ip::address& peer,
                            boost::asio::any_io_executor executor, Respond respond) {
  std::string_view path = path_of(req->target());
  auto method_not_allowed = [&](std::string_view allow) {
    Response res = error_for(*req, ErrorCode::method_not_allowed,
                             "method not allowed; use " + std::string(allow));
    res.set("Allow", allow);
    respond(std::move(res));
  };

  if (path == "/webhooks/stripe" || path == "/api/payment/portal/webhook") {
    if (req->method() != http::verb::post) return method_not_allowed("POST");
    return handle_webhook(std::move(req), peer, std::move(executor), std::move(respond));
  }
  std::string_view allowed;
  auto route = match_portal_route(path, req->method_string(), allowed);
  if (!route && !allowed.empty()) return method_not_allowed(allowed);
  if (route) {
    if (portal_ == nullptr) {
      return respond(error_for(*req, ErrorCode::upstream_unavailable,
                               "the portal API is not configured: set STRIPE_API_KEY, PORTAL_RETURN_SECRET, "
                               "API_KEYS_FILE and REDIS_URL"));
    }
    std::string client = client_address(peer, (*req)["X-Forwarded-For"], config_.trusted_proxy_cidrs).to_string();
    boost::asio::post(portal_pool_, [this, req, client, r = std::move(*route), executor,
                                     respond = std::move(respond)]() mutable {
      const auto started = std::chrono::steady_clock::now();
      // The edge of this handler chain: a task that throws on a pool thread would end the
      // process (Boost 1.81 calls std::terminate), and webhook intake with it.
      Answer a;
      try {
        a = portal_->handle(PortalRequest{(*req)[http::field::authorization], client, r, req->target(), req->body(),
                                          (*req)["Idempotency-Key"], (*req)[http::field::if_none_match]});
      } catch (const std::exception& e) {
        a = internal_error(to_string(r.route), e.what());
      } catch (...) {
        a = internal_error(to_string(r.route), "unknown exception");
      }
      metrics_.portal(r.route, a.status,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      boost::asio::post(executor, [this, req, a = std::move(a), respond = std::move(respond)]() mutable {
        Response res = json_response(a.status, std::move(a.body), req->version(), req->keep_alive());
        for (const auto& [k, v] : a.headers) res.set(k, v);
        respond(std::move(res));
      });
    });
    return;
  }
  if (auto res = status_route(*req, path, *this, clock_.unix_ms())) return respond(std::move(*res));
  respond(error_for(*req, ErrorCode::not_found, "no such route"));
}

void IngressHandler::handle_webhook(std::shared_ptr<Request> req,
                                    const boost::asio::ip::address& peer,
                                    boost::asio::any_io_executor executor, Respond respond) {
  const std::int64_t received_ms = clock_.unix_ms();
  const auto started = std::chrono::steady_clock::now();
  if (!config_.allowed_cidrs.empty()) {
    auto client = client_address(peer, (*req)["X-Forwarded-For"],
                                 config_.trusted_proxy_cidrs);
    if (!contains_any(config_.allowed_cidrs, client)) {
      metrics_.webhook(WebhookOutcome::forbidden);
      const std::string client_text = client.to_string();
      log::warn("webhook from an address outside WEBHOOK_ALLOWED_CIDRS", {{"client", client_text}});
      return respond(error_for(*req, ErrorCode::forbidden, "source address not allowed"));
    }
  }

  const std::string& body = req->body();
  WebhookInput in{(*req)["Stripe-Signature"], (*req)[http::field::content_type], body,
                  body.capacity(), clock_.unix_s()};
  auto decision = check_webhook(verifier_, in);
  if (auto* no = std::get_if<WebhookRejection>(&decision)) {
    metrics_.webhook(no->outcome);
    log::info("webhook rejected", {{"reason", to_string(no->outcome)}, {"detail", no->message}});
    return respond(error_for(*req, no->code, no->message));
  }
  // One allocation holds the webhook from here to its answer, and each callback captures only
  // its shared_ptr (libstdc++'s std::function still allocates for that capture: it keeps only
  // trivially copyable callables in place). Whichever comes first on this strand answers: the
  // delivery report or the deadline.
  struct InFlight {
    InFlight(IngressHandler& h, std::shared_ptr<Request> r, VerifiedEvent e, Respond a,
             const boost::asio::any_io_executor& ex, std::chrono::steady_clock::time_point s)
        : handler(h), req(std::move(r)), event(std::move(e)), respond(std::move(a)), timer(ex), started(s) {}
    IngressHandler& handler;
    std::shared_ptr<Request> req;
    VerifiedEvent event;
    Respond respond;
    boost::asio::steady_timer timer;
    std::chrono::steady_clock::time_point started, produced;
  };
  auto flight = std::make_shared<InFlight>(*this, std::move(req), std::move(std::get<VerifiedEvent>(decision)),
                                           std::move(respond), executor, started);
  flight->timer.expires_after(config_.produce_timeout);
  flight->timer.async_wait([flight](boost::system::error_code ec) {
    InFlight& f = *flight;
    if (ec || !f.respond) return;
    f.handler.metrics_.webhook(WebhookOutcome::upstream_unavailable);
    log::warn("broker did not acknowledge in time",
              {{"event_id", f.event.envelope.id}, {"customer", f.event.key}});
    Response res = f.handler.error_for(*f.req, ErrorCode::upstream_unavailable,
                                       "the event could not be stored in time; retry later");
    res.set("Retry-After", "5");
    std::exchange(f.respond, nullptr)(std::move(res));
  });

  EventHeaders storage;
  OutgoingMessage msg = event_message(config_.kafka_topic, flight->event, body, received_ms, "webhook", storage);
  msg.owner = flight->req;  // the body stays alive until librdkafka is done with it
  metrics_.in_flight.add(1);
  flight->produced = std::chrono::steady_clock::now();
  publisher_.publish(std::move(msg), executor, [flight](PublishResult r) {
    InFlight& f = *flight;
    IngressMetrics& metrics = f.handler.metrics_;
    metrics.in_flight.add(-1);
    const auto now = std::chrono::steady_clock::now();
    metrics.produce_seconds.observe(std::chrono::duration<double>(now - f.produced).count());
    f.timer.cancel();
    if (!f.respond) {
      // Answered 503 already; Stripe will retry and the worker dedupes by event id.
      log::info("late delivery report after 503",
                {{"event_id", f.event.envelope.id}, {"ok", r.status == PublishStatus::ok ? "true" : "false"}});
      return;
    }
    Respond answer = std::exchange(f.respond, nullptr);
    if (r.status != PublishStatus::ok) {
      metrics.webhook(WebhookOutcome::upstream_unavailable);
      log::warn("event not stored by the broker",
                {{"event_id", f.event.envelope.id}, {"customer", f.event.key}, {"error", r.error}});
      Response res = f.handler.error_for(*f.req, ErrorCode::upstream_unavailable,
                                         "the event could not be stored; retry later");
      res.set("Retry-After", "5");
      return answer(std::move(res));
    }
    metrics.webhook(WebhookOutcome::accepted);
    metrics.ack_seconds.observe(std::chrono::duration<double>(now - f.started).count());
    log::debug("webhook stored", {{"event_id", f.event.envelope.id}, {"customer", f.event.key},
                                  {"partition", r.partition}, {"offset", r.offset}});
    std::string out;
    out.reserve(40 + f.event.envelope.id.size());  // {"success":true,"event_id":"..."}: one allocation
    JsonObjectWriter w(out);
    w.field("success", true).field("event_id", f.event.envelope.id);
    w.close();
    answer(json_response(200, std::move(out), f.req->version(), f.req->keep_alive()));
  });
}

}  // namespace stripe_sync::ingress
