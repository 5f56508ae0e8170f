#include "common/billing/envelope.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <functional>

#include "tests/support/fixtures.hpp"

namespace stripe_sync {
namespace {

namespace json = boost::json;
using test::read_fixture;

// The partition key as DESIGN.md states it, computed from a full DOM parse (Boost.JSON): an
// independent reading of the same bytes.
std::string expected_key(const json::object& ev) {
  const auto& data = ev.at("data").as_object();
  const auto& obj = data.at("object").as_object();
  std::string base;
  if (obj.at("object").as_string() == "customer") {
    base = obj.at("id").as_string();
  } else if (obj.contains("customer") && obj.at("customer").is_string()) {
    base = obj.at("customer").as_string();
  } else if (data.contains("previous_attributes") &&
             data.at("previous_attributes").as_object().contains("customer") &&
             data.at("previous_attributes").at("customer").is_string()) {
    base = data.at("previous_attributes").at("customer").as_string();
  } else {
    base = obj.at("id").as_string();
  }
  if (ev.contains("account") && ev.at("account").is_string()) {
    return std::string(ev.at("account").as_string()) + "/" + base;
  }
  return base;
}

TEST(Envelope, ReadsEveryStripeExampleEvent) {
  auto names = test::event_fixture_names();
  ASSERT_GE(names.size(), 19u);
  for (const auto& name : names) {
    std::string body = read_fixture(name);
    auto dom = json::parse(body).as_object();
    Envelope env;
    auto r = read_envelope(body, env);
    ASSERT_TRUE(r) << name << ": " << r.detail;
    EXPECT_EQ(env.id, dom.at("id").as_string()) << name;
    EXPECT_EQ(env.type, dom.at("type").as_string()) << name;
    EXPECT_EQ(env.created, dom.at("created").as_int64()) << name;
    EXPECT_EQ(env.livemode, dom.at("livemode").as_bool()) << name;
    EXPECT_EQ(env.object_type, dom.at("data").at("object").at("object").as_string()) << name;
    const auto& object = dom.at("data").at("object").as_object();
    if (object.contains("id")) {
      EXPECT_EQ(env.object_id, object.at("id").as_string()) << name;
    } else {
      EXPECT_FALSE(object_has_id(env.object_type)) << name;
    }
    EXPECT_EQ(env.partition_key(), expected_key(dom)) << name;
  }
}

// The issue's case: Stripe's entitlement summary has no id; it was answered 400 INVALID_EVENT,
// and Stripe disables an endpoint that keeps failing.
TEST(Envelope, AnEntitlementSummaryWithoutAnIdIsKeyedByItsCustomer) {
  Envelope env;
  std::string body = read_fixture("events/entitlements.active_entitlement_summary.updated.json");
  ASSERT_TRUE(read_envelope(body, env));
  EXPECT_EQ(env.partition_key(), "cus_Rx7Example001");
  // Without its customer it cannot be keyed: a clear error.
  auto dom = json::parse(body);
  dom.at("data").at("object").as_object().erase("customer");
  auto r = read_envelope(json::serialize(dom), env);
  EXPECT_EQ(r.status, EnvelopeStatus::missing_field);
  EXPECT_EQ(r.detail, "missing field: data.object.customer");
  // Every object Stripe gives an id still needs one.
  EXPECT_TRUE(object_has_id("invoice"));
  auto sub = json::parse(read_fixture("events/customer.subscription.updated.json"));
  sub.at("data").at("object").as_object().erase("id");
  EXPECT_EQ(read_envelope(json::serialize(sub), env).detail, "missing field: data.object.id");
}

TEST(Envelope, KeysADetachedPaymentMethodByItsFormerCustomer) {
  Envelope env;
  ASSERT_TRUE(read_envelope(read_fixture("events/payment_method.detached.json"), env));
  EXPECT_EQ(env.customer, "");
  EXPECT_EQ(env.previous_customer, "cus_Rx7Example001");
  EXPECT_EQ(env.partition_key(), "cus_Rx7Example001");
}

TEST(Envelope, KeysACustomerEventByTheCustomerId) {
  Envelope env;
  ASSERT_TRUE(read_envelope(read_fixture("events/customer.deleted.json"), env));
  EXPECT_EQ(env.partition_key(), "cus_Rx7Example001");
  EXPECT_EQ(env.type, "customer.deleted");
}

TEST(Envelope, KeysASubscriptionEventByItsCustomer) {
  Envelope env;
  ASSERT_TRUE(read_envelope(read_fixture("events/customer.subscription.updated.json"), env));
  EXPECT_EQ(env.object_id, "sub_1Rx7ExampleSub1");
  EXPECT_EQ(env.partition_key(), "cus_Rx7Example001");
}

TEST(Envelope, KeysAnObjectWithoutCustomerByItsOwnId) {
  Envelope env;
  ASSERT_TRUE(read_envelope(read_fixture("events/billing_portal.configuration.updated.json"), env));
  EXPECT_EQ(env.partition_key(), "bpc_1Rx7ExampleConf1");
}

TEST(Envelope, PrefixesConnectEventsWithTheAccount) {
  std::string body = R"({"id":"evt_1","type":"customer.updated","created":5,"account":"acct_9",
    "data":{"object":{"id":"cus_1","object":"customer"}}})";
  Envelope env;
  ASSERT_TRUE(read_envelope(body, env));
  EXPECT_EQ(env.partition_key(), "acct_9/cus_1");
}

TEST(Envelope, AcceptsAnExpandedCustomerObject) {
  std::string body = R"({"id":"evt_1","type":"payment_method.attached","created":5,
    "data":{"object":{"id":"pm_1","object":"payment_method","customer":{"id":"cus_7","object":"customer"}}}})";
  Envelope env;
  ASSERT_TRUE(read_envelope(body, env));
  EXPECT_EQ(env.partition_key(), "cus_7");
}

TEST(Envelope, ParsesInPlaceWhenTheBufferHasPadding) {
  std::string body = read_fixture("events/customer.created.json");
  std::string padded = body;
  padded.reserve(body.size() + kJsonPadding);
  Envelope env;
  ASSERT_TRUE(read_envelope(std::string_view(padded.data(), body.size()), padded.capacity(), env));
  EXPECT_EQ(env.id, "evt_1Sx00001ExampleA");
}

TEST(Envelope, RejectsBodiesThatAreNotJson) {
  for (std::string body : {std::string(""), std::string("not json"), std::string("{\"id\":"),
                           std::string("\xff\xfe{}"), std::string("{\"id\":\"evt_1\"} trailing")}) {
    Envelope env;
    auto r = read_envelope(body, env);
    EXPECT_FALSE(r) << body;
  }
}

TEST(Envelope, RejectsANonObjectDocument) {
  Envelope env;
  auto r = read_envelope("[1,2,3]", env);
  EXPECT_EQ(r.status, EnvelopeStatus::wrong_type);
}

TEST(Envelope, NamesTheMissingField) {
  struct Case {
    std::string body;
    std::string field;
  } cases[] = {
      {R"({"type":"x","created":1,"data":{"object":{"id":"o","object":"t"}}})", "id"},
      {R"({"id":"evt_1","created":1,"data":{"object":{"id":"o","object":"t"}}})", "type"},
      {R"({"id":"evt_1","type":"x","data":{"object":{"id":"o","object":"t"}}})", "created"},
      {R"({"id":"evt_1","type":"x","created":1})", "data.object"},
      {R"({"id":"evt_1","type":"x","created":1,"data":{"object":{"object":"t"}}})", "data.object.id"},
  };
  for (const auto& c : cases) {
    Envelope env;
    auto r = read_envelope(c.body, env);
    EXPECT_EQ(r.status, EnvelopeStatus::missing_field) << c.body;
    EXPECT_EQ(r.detail, "missing field: " + c.field);
  }
}

TEST(Envelope, RejectsWrongTypes) {
  Envelope env;
  EXPECT_EQ(read_envelope(R"({"id":5,"type":"x","created":1,"data":{"object":{"id":"o"}}})", env).status,
            EnvelopeStatus::wrong_type);
  EXPECT_EQ(read_envelope(R"({"id":"e","type":"x","created":"1","data":{"object":{"id":"o"}}})", env).status,
            EnvelopeStatus::wrong_type);
  EXPECT_EQ(read_envelope(R"({"id":"e","type":"x","created":1e400,"data":{"object":{"id":"o"}}})", env).status,
            EnvelopeStatus::wrong_type);
}

TEST(Envelope, SkipsTenThousandDeepNestingInAFieldItDoesNotRead) {
  // On-demand never descends into fields routing does not need: no recursion, no crash.
  std::string body = R"({"id":"evt_1","type":"x","created":1,"data":{"object":{"id":"o","object":"t","deep":)";
  body += std::string(10000, '[') + std::string(10000, ']') + "}}}";
  Envelope env;
  auto r = read_envelope(body, env);
  ASSERT_TRUE(r) << r.detail;
  EXPECT_EQ(env.object_id, "o");
}

TEST(Envelope, RefusesDuplicateKeysItReads) {
  // This reader would keep the last copy, the worker's DOM lookup the first: refuse both.
  Envelope env;
  for (const char* body : {
           R"({"id":"evt_a","id":"evt_b","type":"x","created":1,"data":{"object":{"id":"o"}}})",
           R"({"id":"e","type":"x","created":1,"created":2,"data":{"object":{"id":"o"}}})",
           R"({"id":"e","type":"x","created":1,"data":{"object":{"id":"o","customer":"cus_a","customer":"cus_b"}}})",
           R"({"id":"e","type":"x","created":1,"data":{"object":{"id":"o"},"object":{"id":"p"}}})"}) {
    auto r = read_envelope(body, env);
    EXPECT_EQ(r.status, EnvelopeStatus::wrong_type) << body;
    EXPECT_EQ(r.detail.rfind("duplicate key: ", 0), 0u) << r.detail;
  }
  // Keys it does not read may repeat (they are skipped, never interpreted here).
  EXPECT_TRUE(read_envelope(R"({"id":"e","type":"x","created":1,"x":1,"x":2,"data":{"object":{"id":"o"}}})", env));
}

TEST(Envelope, RejectsTenThousandDeepNestingWhereItReads) {
  std::string body = R"({"id":"evt_1","type":"x","created":1,"data":{"object":{"id":"o","object":"t","customer":)";
  body += std::string(10000, '[') + std::string(10000, ']') + "}}}";
  Envelope env;
  EXPECT_EQ(read_envelope(body, env).status, EnvelopeStatus::wrong_type);
}

}  // namespace
}  // namespace stripe_sync

namespace stripe_sync {
namespace {

// Thin notifications (shared/stripe/thin-events.md): object v2.core.event, created an ISO string,
// a related object instead of data; keyed by the related object, or by the event itself.
TEST(Envelope, AThinNotificationIsReadAndKeyedByItsRelatedObject) {
  for (const char* f : {"thin/thin.v1.customer.updated.json", "thin/thin.v1.customer.subscription.updated.json"}) {
    std::string body = test::read_fixture(f);
    auto dom = json::parse(body).as_object();
    Envelope env;
    auto r = read_envelope(body, env);
    ASSERT_TRUE(r) << f << ": " << r.detail;
    EXPECT_TRUE(env.thin);
    EXPECT_EQ(env.id, dom.at("id").as_string());
    EXPECT_EQ(env.type, dom.at("type").as_string());
    const std::string created(dom.at("created").as_string());
    EXPECT_EQ(env.created, created == "2026-11-24T06:00:14.000Z" ? 1795500014 : 1795500063) << f;
    EXPECT_EQ(env.related_id, dom.at("related_object").at("id").as_string());
    EXPECT_EQ(env.related_type, dom.at("related_object").at("type").as_string());
    EXPECT_EQ(env.related_url, dom.at("related_object").at("url").as_string());
    EXPECT_EQ(env.partition_key(), env.related_id);
    EXPECT_EQ(env.context, "");
  }
}

TEST(Envelope, AThinNotificationsContextPrefixesItsKeyAndOneWithoutRelatedObjectIsKeyedByItsId) {
  auto dom = json::parse(test::read_fixture("thin/thin.v1.customer.updated.json")).as_object();
  dom["context"] = "acct_1Connected";
  Envelope env;
  ASSERT_TRUE(read_envelope(json::serialize(dom), env));
  EXPECT_EQ(env.partition_key(), "acct_1Connected/cus_Rx7Example001");
  dom["context"] = nullptr;
  dom.erase("related_object");
  dom["type"] = "v1.entitlements.active_entitlement_summary.updated";
  ASSERT_TRUE(read_envelope(json::serialize(dom), env));
  EXPECT_EQ(env.partition_key(), std::string(dom.at("id").as_string()));
}

TEST(Envelope, ABrokenThinNotificationIsRefusedWithAClearError) {
  const auto base = json::parse(test::read_fixture("thin/thin.v1.customer.updated.json")).as_object();
  struct Case {
    std::function<void(json::object&)> edit;
    std::string detail;
  } cases[] = {
      {[](json::object& o) { o["created"] = 1795500014; }, "created must be an ISO 8601 UTC time in a thin event"},
      {[](json::object& o) { o["created"] = "2026-11-24 06:00:14"; }, "created must be an ISO 8601 UTC time in a thin event"},
      {[](json::object& o) { o["created"] = "2026-11-24T06:00:14+01:00"; }, "created must be an ISO 8601 UTC time in a thin event"},
      {[](json::object& o) { o.erase("created"); }, "missing field: created"},
      {[](json::object& o) { o["related_object"].as_object()["url"] = "https://evil.example/v1/x"; }, "related_object.url must be an API path"},
      {[](json::object& o) { o["related_object"].as_object()["url"] = "//evil.example/v1/x"; }, "related_object.url must be an API path"},
      {[](json::object& o) { o["context"] = "acct_1\r\nX-Injected: 1"; }, "context must be an account path"},
      {[](json::object& o) { o["object"] = "v3.something"; }, "object must be 'event' or 'v2.core.event'"},
  };
  for (const auto& c : cases) {
    json::object o = base;
    c.edit(o);
    Envelope env;
    auto r = read_envelope(json::serialize(o), env);
    EXPECT_FALSE(r) << c.detail;
    EXPECT_EQ(r.detail, c.detail);
  }
  // A snapshot event keeps its own rule.
  auto snapshot = json::parse(test::read_fixture("events/customer.updated.json")).as_object();
  snapshot["created"] = "2026-11-24T06:00:14.000Z";
  Envelope env;
  EXPECT_EQ(read_envelope(json::serialize(snapshot), env).detail, "created must be a non-negative integer");
}

}  // namespace
}  // namespace stripe_sync
