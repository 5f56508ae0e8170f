#include "common/stripe/stripe_rate_limit.hpp"

#include <thread>

#include "common/core/log.hpp"
#include "common/redis/redis_script.hpp"

namespace stripe_sync {

StripeRateConfig stripe_budget_config(const Secret& secret, std::string_view redis_prefix, metrics::Registry* metrics) {
  const std::string& api_key = secret.reveal();
  StripeRateConfig c;
  c.metrics = metrics;
  c.key = std::string(redis_prefix) + "ratelimit:{stripe-api}";
  if (api_key.rfind("sk_live_", 0) == 0 || api_key.rfind("rk_live_", 0) == 0) {
    c.rate_per_s = 80;
    c.burst = 80;
    c.reserve = 16;
  }
  return c;
}

StripeRateLimit::StripeRateLimit(RedisPool& redis, StripeRateConfig config) : redis_(redis), config_(std::move(config)) {
  if (metrics::Registry* r = config_.metrics) {
    constexpr std::string_view help = "Tokens asked of the deployment's shared Stripe request budget, by outcome";
    taken_ = &r->counter("stripe_api_budget_total", help, "outcome=\"taken\"");
    refused_ = &r->counter("stripe_api_budget_total", help, "outcome=\"refused\"");
    unavailable_ = &r->counter("stripe_api_budget_total", help, "outcome=\"unavailable\"");
    wait_ = &r->histogram("stripe_api_budget_wait_seconds", "Time a Stripe call waited for a token of the budget, seconds",
                          {}, {0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  }
}

bool StripeRateLimit::acquire(StripePriority priority) {
  const auto started = std::chrono::steady_clock::now();
  const auto until = started + config_.max_wait;
  auto count = [&](metrics::Counter* c, bool result) {
    if (c) c->inc();
    if (wait_) wait_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return result;
  };
  const std::string rate = std::to_string(config_.rate_per_s), burst = std::to_string(config_.burst),
                    reserve = std::to_string(config_.reserve), prio = std::to_string(static_cast<int>(priority));
  for (;;) {
    auto r = redis_.acquire()->command(
        {"EVALSHA", stripe_rate_script().sha1, "1", config_.key, rate, burst, reserve, prio});
    if (!r || r->type != RedisValue::Type::integer) {
      log::warn("Stripe rate limit unavailable; calling without it",
                {{"error", r ? std::string_view("unexpected reply") : std::string_view(r.error().code)}});
      return count(unavailable_, true);
    }
    if (r->integer == 0) return count(taken_, true);
    auto wait = std::chrono::milliseconds(r->integer);
    if (std::chrono::steady_clock::now() + wait > until) return count(refused_, false);
    std::this_thread::sleep_for(wait);
  }
}

namespace {
StripeResult limited() {
  StripeResult r;
  r.error = StripeError::rate_limited;
  r.message = "this deployment's Stripe request budget is spent; retry later";
  return r;
}
}  // namespace

StripeResult RateLimitedStripe::get(std::string_view path, const boost::json::object& query,
                                    std::string_view stripe_context) {
  if (!limit_.acquire(priority_)) return limited();
  return inner_.get(path, query, stripe_context);
}

StripeResult RateLimitedStripe::post(std::string_view path, const boost::json::object& params, std::string idempotency_key) {
  if (!limit_.acquire(priority_)) return limited();
  return inner_.post(path, params, std::move(idempotency_key));
}

}  // namespace stripe_sync
