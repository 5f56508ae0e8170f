// The deployment-wide Stripe request budget, against a real redis-server.
#include "common/stripe/stripe_rate_limit.hpp"

#include <gtest/gtest.h>

#include "tests/support/redis_server.hpp"

namespace stripe_sync {
namespace {

using namespace std::chrono_literals;

StripeRateConfig budget(double rate, double burst, double reserve, std::chrono::milliseconds max_wait) {
  StripeRateConfig c;
  c.rate_per_s = rate;
  c.burst = burst;
  c.reserve = reserve;
  c.max_wait = max_wait;
  return c;
}

TEST(StripeRateLimit, TheBurstIsImmediateThenTheRateHolds) {
  test::RedisServer redis;
  RedisPool pool(redis.endpoint(), 2s);
  StripeRateLimit limit(pool, budget(10, 5, 0, 5s));
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limit.acquire(StripePriority::normal));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
  auto before_sixth = std::chrono::steady_clock::now();
  EXPECT_TRUE(limit.acquire(StripePriority::normal));
  EXPECT_GE(std::chrono::steady_clock::now() - before_sixth, 50ms);  // ~100 ms for a token at 10/s
}

TEST(StripeRateLimit, TheReserveIsForCustomersWaiting) {
  test::RedisServer redis;
  RedisPool pool(redis.endpoint(), 2s);
  StripeRateLimit limit(pool, budget(0.001, 3, 1, 100ms));
  EXPECT_TRUE(limit.acquire(StripePriority::normal));
  EXPECT_TRUE(limit.acquire(StripePriority::normal));
  EXPECT_FALSE(limit.acquire(StripePriority::normal));          // only the reserve is left
  EXPECT_TRUE(limit.acquire(StripePriority::customer_waiting));  // which a return may take
  EXPECT_FALSE(limit.acquire(StripePriority::customer_waiting));
}

TEST(StripeRateLimit, TwoProcessesShareOneBucket) {
  test::RedisServer redis;
  RedisPool pool_a(redis.endpoint(), 2s), pool_b(redis.endpoint(), 2s);
  StripeRateLimit a(pool_a, budget(0.001, 4, 0, 50ms)), b(pool_b, budget(0.001, 4, 0, 50ms));
  EXPECT_TRUE(a.acquire(StripePriority::normal));
  EXPECT_TRUE(b.acquire(StripePriority::normal));
  EXPECT_TRUE(a.acquire(StripePriority::normal));
  EXPECT_TRUE(b.acquire(StripePriority::normal));
  EXPECT_FALSE(a.acquire(StripePriority::normal));
  EXPECT_FALSE(b.acquire(StripePriority::normal));
}

TEST(StripeRateLimit, WithoutRedisCallsGoAhead) {
  test::RedisServer redis;
  RedisPool pool(redis.endpoint(), 300ms);
  StripeRateLimit limit(pool, budget(0.001, 1, 0, 50ms));
  redis.stop();
  EXPECT_TRUE(limit.acquire(StripePriority::normal));
}

TEST(StripeRateLimit, LiveKeysGetTheLiveRate) {
  EXPECT_GT(stripe_budget_config("sk_live_abc", "stripe:").rate_per_s, stripe_budget_config("sk_test_abc", "stripe:").rate_per_s);
  EXPECT_LE(stripe_budget_config("sk_test_abc", "stripe:").rate_per_s, 25);
  EXPECT_LE(stripe_budget_config("sk_live_abc", "stripe:").rate_per_s, 100);
  EXPECT_GT(stripe_budget_config("rk_live_abc", "stripe:").rate_per_s, 25);
}

TEST(StripeRateLimit, EveryCallerSharesOneBucketUnderTheRedisPrefix) {
  EXPECT_EQ(stripe_budget_config("sk_test_abc", "stripe:").key, "stripe:ratelimit:{stripe-api}");
  EXPECT_EQ(stripe_budget_config("sk_live_abc", "acme:").key, "acme:ratelimit:{stripe-api}");
}

}  // namespace
}  // namespace stripe_sync
