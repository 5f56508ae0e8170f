#pragma once
// The portal API's handlers: POST /api/payment/portal/session and GET /api/payment/portal/return.
// They block (Stripe and Redis round trips): IngressHandler runs them on the portal pool and
// posts the answer back to the connection's strand.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error_body.hpp"
#include "common/event_store.hpp"
#include "common/redis_pool.hpp"
#include "common/stripe_client.hpp"
#include "ingress/api_access.hpp"
#include "ingress/ingress_config.hpp"

namespace stripe_sync::ingress {

struct Answer {
  unsigned status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class PortalApi {
 public:
  PortalApi(const IngressConfig& config, StripeApi& stripe, std::vector<ApiKey> keys,
            std::function<std::int64_t()> now_ms);

  Answer create_session(std::string_view authorization, const std::string& client, std::string_view body);
  Answer handle_return(std::string_view authorization, const std::string& client, std::string_view target);

 private:
  std::optional<Answer> admit(std::string_view authorization, const std::string& client, Role role);
  Answer error(ErrorCode code, std::string_view message) const;

  const IngressConfig& config_;
  StripeApi& stripe_;
  ApiKeys keys_;
  RateLimiter limiter_;
  RedisPool redis_;
  StoreConfig store_;
  std::function<std::int64_t()> now_ms_;
};

}  // namespace stripe_sync::ingress
