#include "common/billing/subscription_rules.hpp"

#include <gtest/gtest.h>

namespace stripe_sync {
namespace {

// Every status of Stripe's subscription object (tests/fixtures/stripe-objects.json).
constexpr std::string_view kStatuses[] = {"incomplete", "incomplete_expired", "trialing", "active",
                                          "past_due",   "canceled",           "unpaid",   "paused"};

TEST(SubscriptionRules, OnlyCanceledAndIncompleteExpiredHaveEnded) {
  for (auto s : kStatuses) {
    EXPECT_EQ(subscription_ended(s), s == "canceled" || s == "incomplete_expired") << s;
    EXPECT_EQ(subscription_live(s), !subscription_ended(s)) << s;
  }
  EXPECT_FALSE(subscription_live(""));  // no status read: not live
}

TEST(SubscriptionRules, ThePortalActsOnLiveSubscriptionsPastTheirFirstPayment) {
  for (auto s : kStatuses) EXPECT_EQ(subscription_in_portal(s), subscription_live(s) && s != "incomplete") << s;
  EXPECT_TRUE(subscription_in_portal("past_due"));
  EXPECT_FALSE(subscription_in_portal("incomplete"));
}

}  // namespace
}  // namespace stripe_sync
