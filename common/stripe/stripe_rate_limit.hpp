#pragma once
// Keeps the whole deployment under Stripe's request rate: every call to Stripe first takes a
// token from one bucket in Redis (schemas/redis/stripe_rate.lua). A customer waiting on a portal
// return (priority `customer_waiting`) may use the last tokens; everything else leaves them.
#include <chrono>
#include <memory>
#include <string>

#include "common/core/metrics.hpp"
#include "common/redis/redis_pool.hpp"
#include "common/stripe/stripe_client.hpp"

namespace stripe_sync {

struct StripeRateConfig {
  double rate_per_s = 20;  // Stripe allows ~100/s live and ~25/s in test mode: keep a margin
  double burst = 20;
  double reserve = 4;      // tokens only priority customer_waiting may take
  std::string key = "stripe:ratelimit:{stripe-api}";
  std::chrono::milliseconds max_wait{10000};  // then the call fails as rate_limited
  // When set: stripe_api_budget_total{outcome} (taken, refused: max_wait passed, unavailable:
  // Redis could not be asked and the call went ahead) and stripe_api_budget_wait_seconds.
  metrics::Registry* metrics = nullptr;
};

// The one budget of a deployment, for every Stripe caller (portal, revalidation, backfill): its
// bucket is `redis_prefix` + "ratelimit:{stripe-api}", and sk_live_/rk_live_ keys get the live
// rate, others the test one.
StripeRateConfig stripe_budget_config(const Secret& api_key, std::string_view redis_prefix,
                                      metrics::Registry* metrics = nullptr);

enum class StripePriority { customer_waiting = 0, normal = 1 };

class StripeRateLimit {
 public:
  StripeRateLimit(RedisPool& redis, StripeRateConfig config);
  // Blocks until a token is taken (true) or max_wait passes (false). If Redis cannot be reached
  // the call goes ahead: Stripe's own 429s, which the client retries, are the backstop.
  bool acquire(StripePriority priority);

 private:
  RedisPool& redis_;
  StripeRateConfig config_;
  // Resolved at start when config.metrics is set (no lookup per call); null otherwise.
  metrics::Counter* taken_ = nullptr;
  metrics::Counter* refused_ = nullptr;
  metrics::Counter* unavailable_ = nullptr;
  metrics::Histogram* wait_ = nullptr;
};

// A StripeApi that takes a token before each call.
class RateLimitedStripe final : public StripeApi {
 public:
  RateLimitedStripe(StripeApi& inner, StripeRateLimit& limit, StripePriority priority)
      : inner_(inner), limit_(limit), priority_(priority) {}
  StripeResult get(std::string_view path, const boost::json::object& query = {},
                   std::string_view stripe_context = {}) override;
  StripeResult post(std::string_view path, const boost::json::object& params, std::string idempotency_key = {}) override;

 private:
  StripeApi& inner_;
  StripeRateLimit& limit_;
  StripePriority priority_;
};

}  // namespace stripe_sync
