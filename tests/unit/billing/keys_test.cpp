#include "common/billing/keys.hpp"

#include <gtest/gtest.h>

#include "common/redis/redis_cluster.hpp"

namespace stripe_sync {
namespace {

// The layout DESIGN.md promises the app ("Redis records"), spelled out once more here on purpose:
// a change to keys.hpp that moves a record must fail this test.
TEST(Keys, SpellTheDocumentedLayout) {
  Keys k;
  EXPECT_EQ(k.customer("cus_A"), "stripe:{cus_A}:customer");
  EXPECT_EQ(k.subscription("cus_A", "sub_1"), "stripe:{cus_A}:subscription:sub_1");
  EXPECT_EQ(k.payment_method("cus_A", "pm_1"), "stripe:{cus_A}:payment_method:pm_1");
  EXPECT_EQ(k.subscriptions("cus_A"), "stripe:{cus_A}:subscriptions");
  EXPECT_EQ(k.payment_methods("cus_A"), "stripe:{cus_A}:payment_methods");
  // The markers of a day's events: 1796239017 is 2026-12-02 (day 20789 since 1970-01-01).
  EXPECT_EQ(k.markers("cus_A", 1796239017), "stripe:{cus_A}:events:20789");
  EXPECT_EQ(k.markers("cus_A", 20789LL * 86400), k.markers("cus_A", 20790LL * 86400 - 1)) << "one key a UTC day";
  EXPECT_NE(k.markers("cus_A", 20789LL * 86400), k.markers("cus_A", 20790LL * 86400));
  EXPECT_EQ(k.audit("cus_A"), "stripe:{cus_A}:audit");
  EXPECT_EQ(k.portal_session("bps_1"), "stripe:portal:{portal}:session:bps_1");
  EXPECT_EQ(k.portal_configuration_list(), "stripe:portal:{portal}:configurations");
  EXPECT_EQ(k.portal_visit("ps_1"), "stripe:portal:{portal}:visit:ps_1");
  EXPECT_EQ(k.backfill_cursor(), "stripe:backfill:undelivered:cursor");
  EXPECT_EQ(k.dlq_entries(), "stripe:{dlq}:entries");
}

TEST(Keys, ThePrefixIsEveryKeysFirstPart) {
  Keys k("acme:");
  EXPECT_EQ(k.customer("cus_A"), "acme:{cus_A}:customer");
  EXPECT_EQ(k.portal_visits(), "acme:portal:{portal}:visits");
  EXPECT_EQ(k.backfill_cursor(), "acme:backfill:undelivered:cursor");
}

TEST(Keys, EveryKeyOfOneCustomerIsInOneSlot) {
  Keys k;
  const std::string c = "acct_1/cus_A";  // Connect: the account is part of the tag
  const auto slot = redis_key_slot(k.customer(c));
  for (const std::string& key : {k.subscription(c, "sub_1"), k.payment_method(c, "pm_1"), k.subscriptions(c),
                                 k.payment_methods(c), k.markers(c, 1796239017), k.audit(c)}) {
    EXPECT_EQ(redis_key_slot(key), slot) << key;
  }
  const auto portal = redis_key_slot(k.portal_session("bps_1"));
  for (const std::string& key : {k.portal_sessions(), k.portal_configuration("bpc_1"), k.portal_configuration_list(),
                                 k.portal_branding("bpc_1"), k.portal_visit("ps_1"), k.portal_visits(),
                                 k.portal_markers(1796239017), k.portal_audit()}) {
    EXPECT_EQ(redis_key_slot(key), portal) << key;
  }
}

}  // namespace
}  // namespace stripe_sync
