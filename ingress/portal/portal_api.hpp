#pragma once
// The portal API: one object holds what every route needs (settings, API keys and limits, the
// Redis pool, the Stripe budget), and each route's handler lives in a file of its own:
//   session_handler.cpp        POST /api/payment/portal/session
//   return_handler.cpp         GET  /api/payment/portal/return
//   configuration_handler.cpp  GET|POST /api/payment/portal/configuration, POST .../{id}
//   analytics_handler.cpp      GET  /api/payment/portal/analytics
//   customer_handler.cpp       POST /api/payment/customers/{id}
//   read_handler.cpp           GET  /api/payment/customers/{id}, .../entitlements/{key}, .../invoices
// Handlers block (Stripe and Redis round trips): IngressHandler runs them on the portal pool and
// posts the answer back to the connection's strand.
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/billing/event_store.hpp"
#include "common/core/error_body.hpp"
#include "common/redis/redis_pool.hpp"
#include "common/stripe/stripe_client.hpp"
#include "common/stripe/stripe_rate_limit.hpp"
#include "ingress/portal/api_access.hpp"
#include "ingress/portal/portal_config.hpp"
#include "ingress/portal/routes.hpp"

namespace stripe_sync::ingress {

struct Answer {
  unsigned status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// What a handler is given: the caller, the matched route, and the request's parts it may read.
struct PortalRequest {
  std::string_view authorization;    // the Authorization header
  std::string client;                // the caller's address (X-Forwarded-For from trusted proxies)
  RouteMatch match;                  // the route and its {id}
  std::string_view target;           // path and query string
  std::string_view body;
  std::string_view idempotency_key;  // the caller's, passed on to Stripe
  std::string_view if_none_match;    // the caller's cached ETag (the customer document)
};

class PortalApi {
 public:
  // `metrics`: where the Stripe budget's series go (stripe_api_budget_*), when set.
  PortalApi(const PortalConfig& config, const std::string& redis_url, StripeApi& stripe, std::vector<ApiKey> keys,
            std::function<std::int64_t()> now_ms, metrics::Registry* metrics = nullptr);

  // Admits the caller (key, role, rate limits) and runs the route's handler.
  Answer handle(const PortalRequest& request);

 private:
  Answer create_session(const PortalRequest& request);
  Answer handle_return(const PortalRequest& request);
  Answer analytics(const PortalRequest& request);
  Answer update_customer(const PortalRequest& request);
  Answer read_customer(const PortalRequest& request);
  Answer check_entitlement(const PortalRequest& request);
  Answer list_invoices(const PortalRequest& request);
  Answer list_configurations(const PortalRequest& request);
  Answer save_configuration(const PortalRequest& request, bool creating);

  std::optional<Answer> admit(const PortalRequest& request, Role role);
  // `status` 0: the code's own (error_body.hpp).
  Answer error(ErrorCode code, std::string_view message, unsigned status = 0) const;
  // A failed call to Stripe: 502 UPSTREAM_UNAVAILABLE when what came back is not Stripe's API
  // (malformed, oversized, HTML), 503 with the same code when nothing usable came at all.
  Answer stripe_failed(const StripeResult& r) const;
  Answer bad_answer(std::string_view what) const;
  Answer store_unavailable() const;  // Redis could not be read or written

  const PortalConfig& config_;
  ApiKeys keys_;
  RateLimiter limiter_;
  RedisPool redis_;
  std::function<std::int64_t()> now_ms_;
  StripeRateLimit stripe_budget_;     // one bucket in Redis for the whole deployment
  RateLimitedStripe stripe_;          // sessions, configurations, updates
  RateLimitedStripe stripe_waiting_;  // returns: a customer is waiting, so they go first
  const StoreConfig& store_;          // config_.store
};

// Whether a path's {id} names a customer (cus_..., nothing that could reach into another key).
bool is_customer_id(std::string_view id);

// An id of ours: `prefix` and 32 random hex digits (a UUID v4 without its dashes).
std::string random_id(std::string_view prefix);

}  // namespace stripe_sync::ingress
