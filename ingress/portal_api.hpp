#pragma once
// The portal API's handlers: POST /api/payment/portal/session and GET /api/payment/portal/return.
// They block (Stripe and Redis round trips): IngressHandler runs them on the portal pool and
// posts the answer back to the connection's strand.
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/core/error_body.hpp"
#include "common/billing/event_store.hpp"
#include "common/redis/redis_pool.hpp"
#include "common/stripe/stripe_client.hpp"
#include "common/stripe/stripe_rate_limit.hpp"
#include "ingress/api_access.hpp"
#include "ingress/ingress_config.hpp"

namespace stripe_sync::ingress {

struct Answer {
  unsigned status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

enum class PortalRoute { session, portal_return, analytics, customer_update, config_list, config_create, config_update };

// The route's name in metrics: session, return, analytics, customer_update,
// configuration_list, configuration_create, configuration_update.
std::string_view to_string(PortalRoute route);

// Which portal route a request is for (nullopt: not a portal route). `allowed_method` is set
// to what the route takes, for a 405.
std::optional<PortalRoute> portal_route(std::string_view path, std::string_view method, std::string_view& allowed_method);

class PortalApi {
 public:
  PortalApi(const IngressConfig& config, StripeApi& stripe, std::vector<ApiKey> keys,
            std::function<std::int64_t()> now_ms);

  Answer create_session(std::string_view authorization, const std::string& client, std::string_view body);
  Answer handle_return(std::string_view authorization, const std::string& client, std::string_view target);
  // GET /api/payment/portal/analytics?start_date=YYYY-MM-DD&end_date=YYYY-MM-DD (admin).
  Answer analytics(std::string_view authorization, const std::string& client, std::string_view target);
  // POST /api/payment/customers/{id}: email, name, phone, address to Stripe, then applied here.
  Answer update_customer(std::string_view authorization, const std::string& client, std::string_view target,
                         std::string_view body, std::string_view idempotency_key);

  // GET|POST /api/payment/portal/configuration, POST /api/payment/portal/configuration/{id} (admin).
  Answer list_configurations(std::string_view authorization, const std::string& client);
  Answer save_configuration(std::string_view authorization, const std::string& client, std::string_view target,
                            std::string_view body, bool creating);

  Answer handle(PortalRoute route, std::string_view authorization, const std::string& client,
                std::string_view target, std::string_view body, std::string_view idempotency_key);

 private:
  std::optional<Answer> admit(std::string_view authorization, const std::string& client, Role role);
  // `status` 0: the code's own (error_body.hpp).
  Answer error(ErrorCode code, std::string_view message, unsigned status = 0) const;
  // A failed call to Stripe: 502 UPSTREAM_UNAVAILABLE when what came back is not Stripe's API
  // (malformed, oversized, HTML), 503 with the same code when nothing usable came at all.
  Answer stripe_failed(const StripeResult& r) const;
  Answer bad_answer(std::string_view what) const;

  const IngressConfig& config_;
  ApiKeys keys_;
  RateLimiter limiter_;
  RedisPool redis_;
  StoreConfig store_;
  std::function<std::int64_t()> now_ms_;
  StripeRateLimit stripe_budget_;     // one bucket in Redis for the whole deployment
  RateLimitedStripe stripe_;          // sessions, configurations, updates
  RateLimitedStripe stripe_waiting_;  // returns: a customer is waiting, so they go first
};

}  // namespace stripe_sync::ingress
