#include "ingress/portal/api_access.hpp"

#include <gtest/gtest.h>

#include "common/core/config.hpp"

namespace stripe_sync::ingress {
namespace {

using namespace std::chrono_literals;

ApiKeys keys() {
  return ApiKeys(parse_api_keys("# keys of the local stack\n" + sha256_hex("app-key-1") + " app web\n\n" +
                                sha256_hex("admin-key-1") + " admin ops\n"));
}

TEST(ApiAccess, Sha256HexMatchesAKnownDigest) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiAccess, NoKeyOrAWrongKeyIsUnauthorized) {
  auto k = keys();
  EXPECT_EQ(k.check("", Role::app), AccessResult::unauthorized);
  EXPECT_EQ(k.check("Bearer ", Role::app), AccessResult::unauthorized);
  EXPECT_EQ(k.check("Basic app-key-1", Role::app), AccessResult::unauthorized);
  EXPECT_EQ(k.check("Bearer app-key-2", Role::app), AccessResult::unauthorized);
  // The stored hash itself is not a key.
  EXPECT_EQ(k.check("Bearer " + sha256_hex("app-key-1"), Role::app), AccessResult::unauthorized);
}

TEST(ApiAccess, RolesDecide) {
  auto k = keys();
  std::string who;
  EXPECT_EQ(k.check("Bearer app-key-1", Role::app, &who), AccessResult::allowed);
  EXPECT_EQ(who, "web");
  EXPECT_EQ(k.check("Bearer app-key-1", Role::admin), AccessResult::forbidden);
  EXPECT_EQ(k.check("Bearer admin-key-1", Role::admin, &who), AccessResult::allowed);
  EXPECT_EQ(who, "ops");
  EXPECT_EQ(k.check("Bearer admin-key-1", Role::app), AccessResult::allowed);
}

TEST(ApiAccess, MalformedLinesNameTheirLine) {
  try {
    parse_api_keys(sha256_hex("a") + " app web\nnot-a-hash app x\n");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos);
  }
  EXPECT_THROW(parse_api_keys(sha256_hex("a") + " root web\n"), ConfigError);
  EXPECT_THROW(parse_api_keys(sha256_hex("a") + " app\n"), ConfigError);
}

TEST(ApiAccess, TokenBucketAllowsTheBurstThenRefillsAtTheRate) {
  auto now = std::chrono::steady_clock::time_point{};
  RateLimiter limiter(2.0, 3.0, [&] { return now; });
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.take("key:web")) << i;
  auto wait = limiter.take("key:web");
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 500ms);
  EXPECT_FALSE(limiter.take("ip:10.0.0.1"));  // buckets are per name
  now += 500ms;
  EXPECT_FALSE(limiter.take("key:web"));
  EXPECT_TRUE(limiter.take("key:web"));
  now += 10s;  // refills up to the burst, no further
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.take("key:web"));
  EXPECT_TRUE(limiter.take("key:web"));
}

TEST(ApiAccess, TheLimiterForgetsRefilledNamesAndKeepsEmptyOnes) {
  auto now = std::chrono::steady_clock::time_point{};
  RateLimiter limiter(1.0, 2.0, [&] { return now; }, /*sweep_above=*/100);
  // An address that has spent its burst must stay limited through any sweep.
  EXPECT_FALSE(limiter.take("ip:busy"));
  EXPECT_FALSE(limiter.take("ip:busy"));
  ASSERT_TRUE(limiter.take("ip:busy"));
  for (int i = 0; i < 99; ++i) EXPECT_FALSE(limiter.take("ip:10.0.0." + std::to_string(i)));
  EXPECT_EQ(limiter.size(), 100u);
  now += 1500ms;  // the one-off addresses have refilled (1 + 1.5 >= 2); ip:busy has 1.5 tokens
  EXPECT_FALSE(limiter.take("ip:new"));  // the sweep runs here
  EXPECT_EQ(limiter.size(), 2u);         // ip:busy and ip:new
  EXPECT_FALSE(limiter.take("ip:busy"));
  EXPECT_TRUE(limiter.take("ip:busy"));  // still limited: its bucket was kept
  for (int i = 0; i < 10000; ++i) (void)limiter.take("ip:flood" + std::to_string(i));
  EXPECT_LE(limiter.size(), 10002u);  // grows only by sweeps' worth at the same instant
  now += 10s;
  for (int i = 0; i < 100; ++i) (void)limiter.take("ip:later" + std::to_string(i));  // crosses the next sweep
  EXPECT_LE(limiter.size(), 100u);  // everything refilled went
}

}  // namespace
}  // namespace stripe_sync::ingress
