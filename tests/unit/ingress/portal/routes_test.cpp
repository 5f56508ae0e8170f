#include "ingress/portal/routes.hpp"

#include <gtest/gtest.h>

namespace stripe_sync::ingress {
namespace {

std::optional<RouteMatch> match(std::string_view path, std::string_view method, std::string* allowed = nullptr) {
  std::string_view a;
  auto m = match_portal_route(path, method, a);
  if (allowed) *allowed = std::string(a);
  return m;
}

TEST(PortalRoutes, EachRouteByMethodAndPath) {
  EXPECT_EQ(match("/api/payment/portal/session", "POST")->route, PortalRoute::session);
  EXPECT_EQ(match("/api/payment/portal/return", "GET")->route, PortalRoute::portal_return);
  EXPECT_EQ(match("/api/payment/portal/analytics", "GET")->route, PortalRoute::analytics);
  EXPECT_EQ(match("/api/payment/portal/configuration", "GET")->route, PortalRoute::config_list);
  EXPECT_EQ(match("/api/payment/portal/configuration", "POST")->route, PortalRoute::config_create);
  EXPECT_FALSE(match("/api/payment/portal/sessions", "POST"));
  EXPECT_FALSE(match("/api/payment/portal", "GET"));
}

TEST(PortalRoutes, APathParameterIsOneNonEmptySegment) {
  auto m = match("/api/payment/portal/configuration/bpc_123", "POST");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route, PortalRoute::config_update);
  EXPECT_EQ(m->id, "bpc_123");
  m = match("/api/payment/customers/cus_9", "POST");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route, PortalRoute::customer_update);
  EXPECT_EQ(m->id, "cus_9");
  EXPECT_FALSE(match("/api/payment/customers/", "POST"));
  EXPECT_FALSE(match("/api/payment/customers/cus_9/", "POST"));
  EXPECT_FALSE(match("/api/payment/customers/cus_9/cards", "POST"));
  EXPECT_FALSE(match("/api/payment/customers//x", "POST"));
  EXPECT_EQ(match("/api/payment/customers/%2e%2e", "POST")->id, "%2e%2e");  // raw: the handler checks it
}

TEST(PortalRoutes, AnotherMethodOnAKnownPathSaysWhichAreAllowed) {
  std::string allowed;
  EXPECT_FALSE(match("/api/payment/portal/session", "GET", &allowed));
  EXPECT_EQ(allowed, "POST");
  EXPECT_FALSE(match("/api/payment/portal/configuration", "DELETE", &allowed));
  EXPECT_EQ(allowed, "GET, POST");
  EXPECT_FALSE(match("/api/payment/portal/configuration/bpc_1", "GET", &allowed));
  EXPECT_EQ(allowed, "POST");
  EXPECT_FALSE(match("/nowhere", "GET", &allowed));
  EXPECT_EQ(allowed, "");
}

TEST(PortalRoutes, EveryRouteHasItsMetricName) {
  EXPECT_EQ(to_string(PortalRoute::portal_return), "return");
  EXPECT_EQ(to_string(PortalRoute::config_update), "configuration_update");
  EXPECT_EQ(to_string(PortalRoute::customer_update), "customer_update");
}

}  // namespace
}  // namespace stripe_sync::ingress
