// The portal's pure logic: workflows, the signed return link, the change list of a return.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "common/stripe/form_encoding.hpp"
#include "ingress/portal/portal_diff.hpp"
#include "ingress/portal/portal_workflow.hpp"
#include "ingress/portal/return_link.hpp"

namespace stripe_sync::ingress {
namespace {

namespace json = boost::json;

SessionRequest request(std::string live_sub = {}) {
  return {"cus_1", "https://api.example.com/api/payment/portal/return?x=1", "", "", std::move(live_sub)};
}

TEST(PortalWorkflow, EachWorkflowMapsToItsFlowActionAndPage) {
  struct Case {
    const char *type, *flow, *action, *path;
  } cases[] = {
      {"payment_update", "payment_method_update", "payment_updated", "/dashboard/billing/payment-methods"},
      {"billing_review", "", "billing_reviewed", "/dashboard/billing/history"},
      {"subscription_management", "subscription_update", "subscription_updated", "/dashboard/billing/subscription-updated"},
      {"cancellation_process", "subscription_cancel", "subscription_cancelled", "/dashboard/billing/cancellation-survey"},
      {"profile_update", "customer_update", "profile_updated", "/dashboard/profile"},
  };
  for (const auto& c : cases) {
    const Workflow* w = find_workflow(c.type);
    ASSERT_NE(w, nullptr) << c.type;
    EXPECT_EQ(w->flow, c.flow);
    EXPECT_EQ(w->action, c.action);
    EXPECT_EQ(w->redirect_path, c.path);
  }
  EXPECT_EQ(find_workflow("delete_everything"), nullptr);
}

TEST(PortalWorkflow, FlowDataRedirectsBackToTheSignedLink) {
  SessionPlanError e;
  auto p = session_params(*find_workflow("payment_update"), request(), e);
  EXPECT_EQ(e, SessionPlanError::none);
  EXPECT_EQ(form_encode(p),
            "customer=cus_1&return_url=https%3A%2F%2Fapi.example.com%2Fapi%2Fpayment%2Fportal%2Freturn%3Fx%3D1"
            "&flow_data[type]=payment_method_update&flow_data[after_completion][type]=redirect"
            "&flow_data[after_completion][redirect][return_url]=https%3A%2F%2Fapi.example.com%2Fapi%2Fpayment%2Fportal%2Freturn%3Fx%3D1");
}

TEST(PortalWorkflow, BillingReviewIsTheHomepage) {
  SessionPlanError e;
  auto p = session_params(*find_workflow("billing_review"), request(), e);
  EXPECT_FALSE(p.contains("flow_data"));
}

TEST(PortalWorkflow, SubscriptionManagementNamesTheLiveSubscriptionOrFallsBackToTheHomepage) {
  SessionPlanError e;
  auto with = session_params(*find_workflow("subscription_management"), request("sub_1"), e);
  EXPECT_EQ(with.at("flow_data").at("subscription_update").at("subscription").as_string(), "sub_1");
  auto without = session_params(*find_workflow("subscription_management"), request(), e);
  EXPECT_EQ(e, SessionPlanError::none);
  EXPECT_FALSE(without.contains("flow_data"));
}

TEST(PortalWorkflow, CancellationNeedsALiveSubscription) {
  SessionPlanError e;
  auto p = session_params(*find_workflow("cancellation_process"), request(), e);
  EXPECT_EQ(e, SessionPlanError::no_live_subscription);
  EXPECT_TRUE(p.empty());
  auto ok = session_params(*find_workflow("cancellation_process"), request("sub_9"), e);
  EXPECT_EQ(ok.at("flow_data").at("subscription_cancel").at("subscription").as_string(), "sub_9");
}

TEST(ReturnLink, CarriesTheSignedTriple) {
  std::string link = return_link("https://app.example.com/dashboard/billing", "k", "ps_1", "cus_1", "payment_updated");
  EXPECT_EQ(link.rfind("https://app.example.com/dashboard/billing?session_id=ps_1&customer_id=cus_1"
                       "&action=payment_updated&sig=", 0), 0u);
  EXPECT_EQ(return_link("https://a.example/p?tab=2#top", "k", "ps_1", "cus_1", "x").rfind("https://a.example/p?tab=2&session_id=ps_1", 0), 0u);
  std::string sig = link.substr(link.find("sig=") + 4);
  EXPECT_TRUE(verify_return_signature("k", "ps_1", "cus_1", "payment_updated", sig));
}

TEST(ReturnLink, AnyTamperingFailsTheSignature) {
  std::string sig = return_signature("k", "ps_1", "cus_1", "payment_updated");
  EXPECT_FALSE(verify_return_signature("k", "ps_1", "cus_2", "payment_updated", sig));
  EXPECT_FALSE(verify_return_signature("k", "ps_2", "cus_1", "payment_updated", sig));
  EXPECT_FALSE(verify_return_signature("k", "ps_1", "cus_1", "profile_updated", sig));
  EXPECT_FALSE(verify_return_signature("other", "ps_1", "cus_1", "payment_updated", sig));
  EXPECT_FALSE(verify_return_signature("k", "ps_1", "cus_1", "payment_updated", sig.substr(1)));
  EXPECT_FALSE(verify_return_signature("k", "ps_1", "cus_1", "payment_updated", ""));
}

CustomerState base_state() {
  CustomerState s;
  s.customer = {{"email", "old@example.com"}, {"name", "Jordan"}, {"default_payment_method", "pm_a"}};
  s.payment_methods["pm_a"] = {{"id", "pm_a"}, {"card_last4", "1111"}, {"card_exp_month", "8"}, {"card_exp_year", "2029"}};
  s.subscriptions["sub_1"] = {{"id", "sub_1"}, {"status", "active"}, {"cancel_at_period_end", "false"}, {"items", "[]"}};
  return s;
}

TEST(PortalDiff, ReportsExactlyTheCardTheEmailAndTheStatus) {
  CustomerState before = base_state();
  CustomerState after = before;
  after.customer["email"] = "new@example.com";
  after.customer["default_payment_method"] = "pm_b";
  after.payment_methods.erase("pm_a");
  after.payment_methods["pm_b"] = {{"id", "pm_b"}, {"card_brand", "visa"}, {"card_last4", "4242"}};
  after.subscriptions["sub_1"]["status"] = "canceled";
  SyncReport r = diff_states(before, after);
  EXPECT_TRUE(r.customer_updated);
  EXPECT_TRUE(r.payment_method_updated);
  EXPECT_TRUE(r.subscription_changed);
  EXPECT_EQ(r.changes, (std::vector<std::string>{
                           "Email updated: old@example.com → new@example.com",
                           "Payment method updated: 4242",
                           "Subscription sub_1 status: active → canceled",
                       }));
}

TEST(PortalDiff, CardsAddedOrRemovedBesideTheDefaultAreListed) {
  CustomerState before = base_state();
  CustomerState after = before;
  after.payment_methods["pm_c"] = {{"id", "pm_c"}, {"card_brand", "amex"}, {"card_last4", "0005"}};
  EXPECT_EQ(diff_states(before, after).changes, (std::vector<std::string>{"Payment method added: amex 0005"}));
  EXPECT_EQ(diff_states(after, before).changes, (std::vector<std::string>{"Payment method removed: 0005"}));
}

TEST(PortalDiff, NothingChangedReportsNothing) {
  SyncReport r = diff_states(base_state(), base_state());
  EXPECT_FALSE(r.customer_updated || r.payment_method_updated || r.subscription_changed);
  EXPECT_TRUE(r.changes.empty());
}

TEST(PortalDiff, CancelAtPeriodEndAndEndedSubscriptions) {
  CustomerState before = base_state();
  CustomerState after = before;
  after.subscriptions["sub_1"]["cancel_at_period_end"] = "true";
  EXPECT_EQ(diff_states(before, after).changes,
            (std::vector<std::string>{"Subscription sub_1 will cancel at the end of the period"}));
  after.subscriptions.erase("sub_1");
  EXPECT_EQ(diff_states(before, after).changes, (std::vector<std::string>{"Subscription sub_1 ended"}));
}

}  // namespace
}  // namespace stripe_sync::ingress

#include "ingress/portal/portal_analytics.hpp"

namespace stripe_sync::ingress {
namespace {

TEST(PortalAnalytics, ZeroSessionsIsAllZeros) {
  auto r = portal_analytics({}, {});
  EXPECT_EQ(r.total_sessions, 0);
  EXPECT_EQ(r.unique_customers, 0);
  EXPECT_TRUE(r.most_used_features.empty());
  EXPECT_EQ(r.average_duration_minutes, 0);
  EXPECT_EQ(r.median_duration_minutes, 0);
  EXPECT_EQ(r.return_rate, 0);
}

TEST(PortalAnalytics, KnownSessionsGiveTheExactFigures) {
  std::vector<VisitRecord> ours{
      {"cus_a", {"payment_method_update", "customer_update"}, 4.0},
      {"cus_a", {"invoice_history"}, 10.0},
      {"cus_b", {"payment_method_update", "payment_method_update"}, 3.0},
      {"cus_c", {"subscription_cancel", "subscription_update"}, std::nullopt},
  };
  std::vector<VisitRecord> elsewhere{{"cus_d", {"payment_method_update"}, std::nullopt}};
  auto r = portal_analytics(ours, elsewhere);
  EXPECT_EQ(r.total_sessions, 5);
  EXPECT_EQ(r.unique_customers, 4);
  ASSERT_GE(r.most_used_features.size(), 2u);
  EXPECT_EQ(r.most_used_features[0], (std::pair<std::string, int>{"payment_method_update", 3}));
  EXPECT_EQ(r.most_used_features.size(), 5u);
  EXPECT_DOUBLE_EQ(r.average_duration_minutes, 5.67);  // (4 + 10 + 3) / 3
  EXPECT_DOUBLE_EQ(r.median_duration_minutes, 4.0);
  EXPECT_DOUBLE_EQ(r.return_rate, 0.75);               // 3 of our 4 came back
}

TEST(PortalAnalytics, MedianOfAnEvenCountIsTheMeanOfTheMiddleTwo) {
  std::vector<VisitRecord> ours{{"a", {}, 1.0}, {"b", {}, 2.0}, {"c", {}, 4.0}, {"d", {}, 9.0}};
  EXPECT_DOUBLE_EQ(portal_analytics(ours, {}).median_duration_minutes, 3.0);
}

TEST(PortalAnalytics, WorkflowFeatures) {
  EXPECT_EQ(workflow_feature("payment_update"), "payment_method_update");
  EXPECT_EQ(workflow_feature("billing_review"), "invoice_history");
  EXPECT_EQ(workflow_feature("cancellation_process"), "subscription_cancel");
}

}  // namespace
}  // namespace stripe_sync::ingress

#include <boost/json/parse.hpp>

#include "ingress/portal/portal_configuration.hpp"

namespace stripe_sync::ingress {
namespace {

ConfigurationRequest validate(std::string_view text, bool creating = true) {
  return validate_configuration(boost::json::parse(text).as_object(), creating);
}

TEST(PortalConfiguration, TheSeedsExampleIsValidAndSplitsBrandingFromStripe) {
  auto r = validate(R"({"name":"MINGUS Enhanced Portal",
    "business_profile":{"headline":"MINGUS","privacy_policy_url":"https://mingus.com/privacy",
                        "terms_of_service_url":"https://mingus.com/terms","support_url":"https://mingus.com/support"},
    "features":{"customer_update":{"enabled":true,"allowed_updates":["address","shipping","tax_id"]},
                "subscription_cancel":{"enabled":true,"cancellation_reason":{"enabled":true,"options":["too_expensive","missing_features","other"]}}},
    "branding":{"company_name":"MINGUS","logo_url":"https://mingus.com/logo.png","primary_color":"#2563eb","secondary_color":"#1e40af"}})");
  EXPECT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_FALSE(r.stripe_params.at("business_profile").as_object().contains("support_url"));
  EXPECT_EQ(r.branding.at("support_url").as_string(), "https://mingus.com/support");
  EXPECT_EQ(r.branding.at("primary_color").as_string(), "#2563eb");
  EXPECT_FALSE(r.stripe_params.contains("branding"));
}

TEST(PortalConfiguration, RejectsFieldByField) {
  auto r = validate(R"({"business_profile":{"privacy_policy_url":"http://insecure.example"},
    "features":{"customer_update":{"allowed_updates":["email","shoe_size"]},"teleport":{"enabled":true},
                "subscription_cancel":{"mode":"eventually","cancellation_reason":{"options":["bored"]}}},
    "branding":{"primary_color":"blue","logo_url":"ftp://x"},"colour":"red"})");
  std::vector<std::string> want{
      "business_profile.privacy_policy_url: must be an https URL",
      "features.customer_update.allowed_updates: may only contain address, email, name, phone, shipping, tax_id",
      "features.teleport: is not a known field",
      "features.subscription_cancel.mode: must be one of at_period_end, immediately",
      "features.subscription_cancel.cancellation_reason.options: may only contain customer_service, low_quality, "
      "missing_features, other, switched_service, too_complex, too_expensive, unused",
      "branding.primary_color: must be a colour as #rrggbb",
      "branding.logo_url: must be an https URL",
      "colour: is not a known field",
  };
  EXPECT_EQ(r.errors, want);
}

TEST(PortalConfiguration, FeaturesAreRequiredOnlyToCreate) {
  EXPECT_EQ(validate(R"({"name":"x"})").errors, (std::vector<std::string>{"features: is required to create a configuration"}));
  EXPECT_TRUE(validate(R"({"name":"x"})", false).errors.empty());
}

TEST(PortalConfiguration, Colours) {
  EXPECT_TRUE(is_hex_colour("#A1b2C3"));
  EXPECT_FALSE(is_hex_colour("#abc"));
  EXPECT_FALSE(is_hex_colour("a1b2c3f"));
  EXPECT_FALSE(is_hex_colour("#gggggg"));
}

}  // namespace
}  // namespace stripe_sync::ingress
