#include "common/billing/event_extract.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <map>

#include "tests/support/fixtures.hpp"

namespace stripe_sync {
namespace {

std::map<std::string, std::string> as_map(const std::vector<std::pair<std::string, std::string>>& v) {
  return {v.begin(), v.end()};
}

ChangeRecord extract(const std::string& name) {
  ChangeRecord r;
  auto x = extract_change(test::read_fixture("events/" + name), r);
  EXPECT_EQ(x.status, ExtractStatus::record) << name << ": " << x.detail;
  return r;
}

TEST(EventExtract, EveryExampleEventIsRecordedOrIgnoredByType) {
  for (const auto& name : test::event_fixture_names()) {
    std::string body = test::read_fixture(name);
    auto dom = boost::json::parse(body);
    std::string type(dom.at("type").as_string());
    ChangeRecord r;
    auto x = extract_change(body, r);
    ASSERT_EQ(x.status, ExtractStatus::record) << name << ": " << x.detail;
    EXPECT_EQ(r.event_id, dom.at("id").as_string());
    EXPECT_EQ(r.event_type, type);
    const auto& object = dom.at("data").at("object").as_object();
    if (object.contains("id")) {
      EXPECT_EQ(r.object_id, object.at("id").as_string());
      EXPECT_EQ(*r.field("id"), r.object_id);
    } else {
      EXPECT_EQ(r.object_id, "entitlements") << name;  // the summary has no id of its own
    }
    EXPECT_EQ(r.created, dom.at("created").as_int64());
    int rank = type.ends_with(".created") ? 1 : (type.ends_with(".deleted") || type == "payment_method.detached") ? 3 : 2;
    if (type.starts_with("checkout.session.async_")) rank = 3;
    if (type.starts_with("invoice.")) {
      std::string status(object.at("status").as_string());
      rank = status == "draft" ? 1 : status == "open" ? 2 : status == "uncollectible" ? 3 : 4;
    }
    EXPECT_EQ(r.rank, rank) << name;
    EXPECT_EQ(r.stamp(), r.created * 10 + rank);
  }
}

TEST(EventExtract, CustomerFields) {
  auto r = extract("customer.updated.json");
  EXPECT_EQ(r.kind, ObjectKind::customer);
  EXPECT_EQ(r.key, "cus_Rx7Example001");
  auto f = as_map(r.fields);
  EXPECT_EQ(f["email"], "jordan@example.com");
  EXPECT_EQ(f["name"], "Jordan Lee");
  EXPECT_EQ(f["phone"], "+14045550101");
  EXPECT_EQ(f["default_payment_method"], "pm_1Rx7ExampleCard1");
  EXPECT_EQ(f["livemode"], "false");
  EXPECT_EQ(f["deleted"], "0");
  auto address = boost::json::parse(f["address"]);
  EXPECT_EQ(address.at("city").as_string(), "Atlanta");
  EXPECT_TRUE(address.at("line2").is_null());
  EXPECT_TRUE(r.has_previous);
  auto p = as_map(r.previous);
  EXPECT_EQ(p.size(), 2u);
  EXPECT_EQ(p["email"], "jordan.old@example.com");
  EXPECT_EQ(p["default_payment_method"], "");
  EXPECT_EQ(r.index, IndexAction::none);
}

TEST(EventExtract, DeletedCustomerIsATombstone) {
  auto r = extract("customer.deleted.json");
  EXPECT_TRUE(r.tombstone);
  EXPECT_EQ(r.rank, 3);
  EXPECT_EQ(as_map(r.fields)["deleted"], "1");
}

TEST(EventExtract, SubscriptionFieldsIncludingItemsAndPeriodFromItems) {
  auto r = extract("customer.subscription.updated.json");
  EXPECT_EQ(r.kind, ObjectKind::subscription);
  EXPECT_EQ(r.key, "cus_Rx7Example001");
  auto f = as_map(r.fields);
  EXPECT_EQ(f["customer"], "cus_Rx7Example001");
  EXPECT_EQ(f["status"], "active");
  EXPECT_EQ(f["cancel_at_period_end"], "false");
  EXPECT_EQ(f["cancel_at"], "");
  EXPECT_EQ(f["cancellation_reason"], "");
  EXPECT_EQ(f["current_period_start"], "1795496500");
  EXPECT_EQ(f["current_period_end"], "1798174900");
  auto items = boost::json::parse(f["items"]).as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].at("price").as_string(), "price_1Rx7ExamplePro");
  EXPECT_EQ(items[0].at("product").as_string(), "prod_Rx7ExamplePro");
  EXPECT_EQ(items[0].at("quantity").as_int64(), 1);
  EXPECT_EQ(items[0].at("unit_amount").as_int64(), 2900);
  EXPECT_EQ(items[0].at("currency").as_string(), "usd");
  EXPECT_EQ(items[0].at("interval").as_string(), "month");
  EXPECT_EQ(as_map(r.previous), (std::map<std::string, std::string>{{"status", "incomplete"}}));
  EXPECT_EQ(r.index, IndexAction::add);
}

TEST(EventExtract, CancelAtPeriodEndCarriesItsPreviousValues) {
  auto r = extract("customer.subscription.updated.cancel_at_period_end.json");
  auto f = as_map(r.fields);
  EXPECT_EQ(f["cancel_at_period_end"], "true");
  auto p = as_map(r.previous);
  EXPECT_EQ(p["cancel_at_period_end"], "false");
  EXPECT_EQ(p["cancel_at"], "");
  EXPECT_EQ(p["cancellation_reason"], "");
  EXPECT_EQ(p.count("status"), 0u);
}

TEST(EventExtract, DeletedSubscriptionLeavesTheIndex) {
  auto r = extract("customer.subscription.deleted.json");
  EXPECT_TRUE(r.tombstone);
  EXPECT_EQ(r.index, IndexAction::remove);
  EXPECT_EQ(as_map(r.fields)["status"], "canceled");
}

TEST(EventExtract, PaymentMethodCardFields) {
  auto r = extract("payment_method.automatically_updated.json");
  EXPECT_EQ(r.kind, ObjectKind::payment_method);
  auto f = as_map(r.fields);
  EXPECT_EQ(f["type"], "card");
  EXPECT_EQ(f["card_brand"], "visa");
  EXPECT_EQ(f["card_last4"], "4242");
  auto p = as_map(r.previous);
  EXPECT_EQ(p["card_exp_month"], "8");
  EXPECT_EQ(p["card_exp_year"], "2029");
  EXPECT_EQ(r.index, IndexAction::add);
}

TEST(EventExtract, DetachedPaymentMethodKeepsItsFormerCustomer) {
  auto r = extract("payment_method.detached.json");
  EXPECT_EQ(r.key, "cus_Rx7Example001");
  EXPECT_EQ(as_map(r.fields)["customer"], "cus_Rx7Example001");
  EXPECT_TRUE(r.tombstone);
  EXPECT_EQ(r.index, IndexAction::remove);
}

TEST(EventExtract, PortalObjects) {
  auto s = extract("billing_portal.session.created.json");
  EXPECT_EQ(s.kind, ObjectKind::portal_session);
  EXPECT_EQ(as_map(s.fields)["customer"], "cus_Rx7Example001");
  auto c = extract("billing_portal.configuration.updated.json");
  EXPECT_EQ(c.kind, ObjectKind::portal_configuration);
  EXPECT_EQ(c.key, "bpc_1Rx7ExampleConf1");
  auto bp = boost::json::parse(as_map(c.fields)["business_profile"]);
  EXPECT_TRUE(bp.is_object());
}

std::string with_object_of(const std::string& fixture, const std::function<void(boost::json::object&)>& edit) {
  auto ev = boost::json::parse(test::read_fixture("events/" + fixture));
  edit(ev.at("data").at("object").as_object());
  return boost::json::serialize(ev);
}

TEST(EventExtract, UnhandledTypesAreIgnored) {
  ChangeRecord r;
  auto x = extract_change(R"({"id":"evt_c1","type":"charge.succeeded","created":1,"data":{"object":{"id":"ch_1","object":"charge"}}})", r);
  EXPECT_EQ(x.status, ExtractStatus::ignored);
  EXPECT_EQ(r.event_id, "evt_c1");
}

TEST(EventExtract, CustomerAndSubscriptionKeepTheFieldsABillingPageShows) {
  auto c = as_map(extract("customer.updated.json").fields);
  for (const char* f : {"metadata", "currency", "balance", "delinquent", "tax_exempt"}) EXPECT_TRUE(c.count(f)) << f;
  EXPECT_TRUE(boost::json::parse(c["metadata"]).is_object());
  auto ev = boost::json::parse(test::read_fixture("events/customer.subscription.updated.json"));
  const auto& o = ev.at("data").at("object").as_object();
  auto s = as_map(extract("customer.subscription.updated.json").fields);
  EXPECT_EQ(s["collection_method"], o.at("collection_method").as_string());
  EXPECT_EQ(s["billing_cycle_anchor"], std::to_string(o.at("billing_cycle_anchor").as_int64()));
  EXPECT_EQ(s["latest_invoice"], o.at("latest_invoice").is_null() ? "" : std::string(o.at("latest_invoice").as_string()));
  for (const char* f : {"trial_start", "trial_end", "ended_at", "pause_collection", "default_payment_method", "metadata"}) {
    EXPECT_TRUE(s.count(f)) << f;
  }
  auto deleted = as_map(extract("customer.subscription.deleted.json").fields);
  auto dev = boost::json::parse(test::read_fixture("events/customer.subscription.deleted.json"));
  EXPECT_EQ(deleted["ended_at"], std::to_string(dev.at("data").at("object").at("ended_at").as_int64()));
}

TEST(EventExtract, InvoiceFieldsWithItsSubscriptionFromParentAndTheHistoryIndex) {
  auto r = extract("invoice.finalized.json");
  EXPECT_EQ(r.kind, ObjectKind::invoice);
  EXPECT_EQ(r.key, "cus_Rx7Example001");
  auto f = as_map(r.fields);
  EXPECT_EQ(f["status"], "open");
  EXPECT_EQ(f["number"], "7A1C2B3D-0002");
  EXPECT_EQ(f["subscription"], "sub_1Rx7ExampleSub1");  // parent.subscription_details
  EXPECT_EQ(f["amount_due"], "2900");
  EXPECT_EQ(f["next_payment_attempt"], "1795503801");
  EXPECT_EQ(f["deleted"], "0");
  auto lines = boost::json::parse(f["lines"]).as_array();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("price").as_string(), "price_1Rx7ExamplePro");
  EXPECT_EQ(lines[0].at("quantity").as_int64(), 1);
  EXPECT_EQ(lines[0].at("amount").as_int64(), 2900);
  EXPECT_TRUE(boost::json::parse(f["status_transitions"]).is_object());
  EXPECT_EQ(r.index, IndexAction::ordered);
  EXPECT_EQ(r.index_score, 1795500200);  // the invoice's created, not the event's
  EXPECT_EQ(r.rank, 2);
  // A status later in an invoice's life ranks higher within the same second.
  EXPECT_LT(extract("invoice.created.json").rank, r.rank);
  EXPECT_LT(r.rank, extract("invoice.marked_uncollectible.json").rank);
  EXPECT_LT(extract("invoice.marked_uncollectible.json").rank, extract("invoice.voided.json").rank);
  EXPECT_EQ(extract("invoice.voided.json").rank, extract("invoice.payment_succeeded.json").rank);
}

TEST(EventExtract, ADeletedDraftInvoiceIsATombstoneThatLeavesTheHistory) {
  std::string body = test::read_fixture("events/invoice.created.json");
  auto ev = boost::json::parse(body);
  ev.as_object()["type"] = "invoice.deleted";
  ChangeRecord r;
  ASSERT_EQ(extract_change(boost::json::serialize(ev), r).status, ExtractStatus::record);
  EXPECT_TRUE(r.tombstone);
  EXPECT_EQ(r.rank, 5);
  EXPECT_EQ(r.index, IndexAction::unorder);
  EXPECT_EQ(*r.field("deleted"), "1");
}

TEST(EventExtract, EntitlementSummaryHasNoIdAndReplacesTheLookupKeys) {
  auto r = extract("entitlements.active_entitlement_summary.updated.json");
  EXPECT_EQ(r.kind, ObjectKind::entitlement_summary);
  EXPECT_EQ(r.key, "cus_Rx7Example001");
  EXPECT_EQ(r.object_id, "entitlements");
  EXPECT_EQ(r.index, IndexAction::replace);
  EXPECT_EQ(r.index_members, (std::vector<std::string>{"priority-support", "advanced-reports"}));
  auto f = as_map(r.fields);
  EXPECT_EQ(f["lookup_keys"], R"(["priority-support","advanced-reports"])");
  EXPECT_EQ(f["features"], R"(["feat_test_61Rx7ExampleFeat1","feat_test_61Rx7ExampleFeat2"])");
  EXPECT_EQ(f.count("deleted"), 0u);
  EXPECT_TRUE(r.has_previous);
  EXPECT_EQ(as_map(r.previous)["lookup_keys"], "[]");
  // Without a customer it can never be keyed.
  ChangeRecord bad;
  auto x = extract_change(with_object_of("entitlements.active_entitlement_summary.updated.json",
                                         [](boost::json::object& o) { o.erase("customer"); }),
                          bad);
  EXPECT_EQ(x.status, ExtractStatus::permanent);
}

TEST(EventExtract, CheckoutSessionPriceAndProduct) {
  auto cs = extract("checkout.session.completed.json");
  EXPECT_EQ(cs.kind, ObjectKind::checkout_session);
  auto f = as_map(cs.fields);
  EXPECT_EQ(f["subscription"], "sub_1Rx7ExampleSub1");
  EXPECT_EQ(f["status"], "complete");
  EXPECT_EQ(f["mode"], "subscription");
  EXPECT_EQ(cs.key, f["customer"]);
  // A guest checkout is keyed by its own id.
  ChangeRecord guest;
  ASSERT_EQ(extract_change(with_object_of("checkout.session.completed.json",
                                          [](boost::json::object& o) { o["customer"] = nullptr; }),
                           guest)
                .status,
            ExtractStatus::record);
  EXPECT_EQ(guest.key, guest.object_id);
  auto price = extract("price.updated.json");
  EXPECT_EQ(price.kind, ObjectKind::price);
  EXPECT_EQ(price.key, "price_1Rx7ExamplePro");
  EXPECT_EQ(as_map(price.previous)["nickname"], "Pro monthly");
  EXPECT_TRUE(boost::json::parse(as_map(price.fields)["recurring"]).is_object());
  auto product = extract("product.updated.json");
  EXPECT_EQ(product.kind, ObjectKind::product);
  EXPECT_EQ(product.key, "prod_Rx7ExamplePro");
  EXPECT_EQ(as_map(product.previous)["description"], "Priority support");
}

TEST(EventExtract, PermanentFailures) {
  struct Case {
    std::string body, reason;
  } cases[] = {
      {"not json", "not_json"},
      {R"({"id":"evt_1","type":"customer.updated","created":1,"data":{}})", "missing_field"},
      {R"({"id":"evt_1","type":"customer.updated","created":1,"data":{"object":{"object":"customer"}}})", "missing_field"},
      {R"({"id":"evt_1","type":"customer.updated","created":1,"data":{"object":{"id":"sub_1","object":"subscription"}}})", "wrong_object"},
      {R"({"id":"evt_1","type":"customer.subscription.updated","created":1,"data":{"object":{"id":"sub_1","object":"subscription"}}})", "invalid_shape"},
      {R"({"type":"customer.updated"})", "missing_field"},
  };
  for (const auto& c : cases) {
    ChangeRecord r;
    auto x = extract_change(c.body, r);
    EXPECT_EQ(x.status, ExtractStatus::permanent) << c.body;
    EXPECT_EQ(x.reason, c.reason) << c.body;
  }
}

std::string object_of(const std::string& fixture) {
  auto ev = boost::json::parse(test::read_fixture("events/" + fixture));
  return boost::json::serialize(ev.at("data").at("object"));
}

TEST(EventExtract, SnapshotMapsLikeTheEventWithTheDateAsStamp) {
  ChangeRecord snap;
  ASSERT_EQ(extract_snapshot(object_of("customer.subscription.updated.json"), 1795600000, "sync_1", "return-sync", snap).status,
            ExtractStatus::record);
  auto event = extract("customer.subscription.updated.json");
  EXPECT_EQ(snap.kind, ObjectKind::subscription);
  EXPECT_EQ(snap.key, event.key);
  EXPECT_EQ(snap.fields, event.fields);  // one mapping for both
  EXPECT_EQ(snap.stamp(), 17956000002);
  EXPECT_EQ(snap.event_id, "sync_1");
  EXPECT_EQ(snap.source, "return-sync");
  EXPECT_FALSE(snap.has_previous);
  EXPECT_EQ(snap.index, IndexAction::add);
}

TEST(EventExtract, SnapshotOfADeletedCustomerOrCanceledSubscriptionIsATombstone) {
  ChangeRecord c;
  ASSERT_EQ(extract_snapshot(R"({"id":"cus_1","object":"customer","deleted":true})", 5, "s", "return-sync", c).status,
            ExtractStatus::record);
  EXPECT_TRUE(c.tombstone);
  EXPECT_EQ(*c.field("deleted"), "1");
  ChangeRecord s;
  ASSERT_EQ(extract_snapshot(object_of("customer.subscription.deleted.json"), 5, "s", "return-sync", s).status,
            ExtractStatus::record);
  EXPECT_TRUE(s.tombstone);
  EXPECT_EQ(s.index, IndexAction::remove);
}

// The same events as Stripe rendered them under API 2023-08-16 (tests/fixtures/versions/, made
// from Stripe's spec of that version): the fields that moved are read from where it kept them,
// and the record is the one the pinned version gives.
TEST(EventExtract, TheSameEventUnderAnOlderApiVersionMakesTheSameRecord) {
  for (const std::string name : {"customer.subscription.updated.json", "invoice.created.json"}) {
    ChangeRecord now = extract(name);
    ChangeRecord before;
    auto x = extract_change(test::read_fixture("versions/2023-08-16/" + name), before);
    ASSERT_EQ(x.status, ExtractStatus::record) << name << ": " << x.detail;
    EXPECT_EQ(now.api_version, "2026-10-28.endive");
    EXPECT_EQ(before.api_version, "2023-08-16");
    EXPECT_EQ(as_map(before.fields), as_map(now.fields)) << name;
    EXPECT_EQ(as_map(before.previous), as_map(now.previous)) << name;
    EXPECT_EQ(before.stamp(), now.stamp());
  }
  // Not vacuous: the moved fields carry values in both.
  ChangeRecord sub = extract("customer.subscription.updated.json");
  EXPECT_EQ(*sub.field("current_period_start"), "1795496500");
  EXPECT_EQ(*sub.field("current_period_end"), "1798174900");
  EXPECT_EQ(*extract("invoice.created.json").field("subscription"), "sub_1Rx7ExampleSub1");
}

TEST(EventExtract, APeriodInPreviousAttributesOfAnOlderVersionIsItsPreviousValue) {
  auto ev = boost::json::parse(test::read_fixture("versions/2023-08-16/customer.subscription.updated.json"));
  ev.at("data").as_object()["previous_attributes"] = boost::json::object{{"current_period_end", 1795000000}};
  ChangeRecord r;
  ASSERT_EQ(extract_change(boost::json::serialize(ev), r).status, ExtractStatus::record);
  EXPECT_EQ(as_map(r.previous), (std::map<std::string, std::string>{{"current_period_end", "1795000000"}}));
}

TEST(EventExtract, SnapshotOfAnotherObjectIsIgnored) {
  ChangeRecord r;
  EXPECT_EQ(extract_snapshot(R"({"id":"ch_1","object":"charge"})", 5, "s", "return-sync", r).status, ExtractStatus::ignored);
  EXPECT_EQ(extract_snapshot("[]", 5, "s", "return-sync", r).status, ExtractStatus::permanent);
}

}  // namespace
}  // namespace stripe_sync

namespace stripe_sync {
namespace {

// The table of required fields agrees with Stripe's own object definitions (stripe-node's types,
// tests/fixtures/stripe-objects.json, copied from shared/stripe/objects.json).
TEST(EventExtract, RequiredFieldsAreWhatStripeAlwaysSends) {
  auto objects = boost::json::parse(test::read_fixture("stripe-objects.json"));
  for (const char* kind : {"customer", "subscription", "payment_method", "billing_portal.session",
                           "billing_portal.configuration", "invoice", "entitlements.active_entitlement_summary",
                           "checkout.session", "price", "product"}) {
    auto required = required_fields(kind);
    ASSERT_FALSE(required.empty()) << kind;
    for (const RequiredField& f : required) {
      const auto* schema = objects.at(kind).as_object().if_contains(f.name);
      ASSERT_NE(schema, nullptr) << kind << "." << f.name;
      const auto& s = schema->as_object();
      EXPECT_TRUE(s.at("required").as_bool()) << kind << "." << f.name << " is not always sent";
      bool nullable = s.contains("nullable") && s.at("nullable").as_bool();
      EXPECT_EQ((f.types & RequiredField::null) != 0, nullable) << kind << "." << f.name;
      std::string type = s.contains("type") ? std::string(s.at("type").as_string()) : "";
      unsigned bit = type == "string" ? RequiredField::string
                     : type == "number" ? RequiredField::number
                     : type == "boolean" ? RequiredField::boolean
                                         : RequiredField::object;  // Metadata, ApiList<...>, nested
      EXPECT_NE(f.types & bit, 0u) << kind << "." << f.name << " is " << type;
    }
  }
}

std::string with_object(const std::string& fixture, const std::function<void(boost::json::object&)>& edit) {
  auto ev = boost::json::parse(test::read_fixture("events/" + fixture));
  edit(ev.at("data").at("object").as_object());
  return boost::json::serialize(ev);
}

TEST(EventExtract, ABrokenShapeOfAKnownTypeIsDeadLetteredNamingTheField) {
  struct Case {
    std::string body;
    std::string detail;
  };
  const Case cases[] = {
      // The issue's case: a subscription with only id, object and customer.
      {with_object("customer.subscription.updated.json",
                   [](boost::json::object& o) {
                     boost::json::object keep{{"id", o.at("id")}, {"object", o.at("object")}, {"customer", o.at("customer")}};
                     o = keep;
                   }),
       "data.object.status is missing"},
      {with_object("customer.subscription.updated.json", [](boost::json::object& o) { o["status"] = 5; }),
       "data.object.status must be a string"},
      {with_object("customer.subscription.updated.json", [](boost::json::object& o) { o.erase("items"); }),
       "data.object.items is missing"},
      {with_object("customer.updated.json", [](boost::json::object& o) { o.erase("email"); }), "data.object.email is missing"},
      {with_object("customer.updated.json", [](boost::json::object& o) { o["livemode"] = "false"; }),
       "data.object.livemode must be a boolean"},
      {with_object("payment_method.attached.json", [](boost::json::object& o) { o.erase("type"); }),
       "data.object.type is missing"},
  };
  for (const Case& c : cases) {
    ChangeRecord r;
    auto x = extract_change(c.body, r);
    EXPECT_EQ(x.status, ExtractStatus::permanent) << c.detail;
    EXPECT_EQ(x.reason, "invalid_shape") << c.detail;
    EXPECT_EQ(x.detail, c.detail);
  }
  // Null where Stripe sends null is fine.
  ChangeRecord ok;
  EXPECT_EQ(extract_change(with_object("customer.updated.json", [](boost::json::object& o) { o["email"] = nullptr; }), ok).status,
            ExtractStatus::record);
}

TEST(EventExtract, ASnapshotOfABrokenShapeIsRefusedToo) {
  ChangeRecord r;
  auto x = extract_snapshot(R"({"id":"sub_1","object":"subscription","customer":"cus_1"})", 5, "s", "return-sync", r);
  EXPECT_EQ(x.status, ExtractStatus::permanent);
  EXPECT_EQ(x.reason, "invalid_shape");
}

}  // namespace
}  // namespace stripe_sync

namespace stripe_sync {
namespace {

// schemas/records/ describes each hash exactly as the kind tables write it: the same fields (and
// ours, prefixed _), JSON where the table renders JSON, integers and booleans where it says so.
TEST(EventExtract, TheRecordSchemasListExactlyTheStoredFields) {
  const std::pair<ObjectKind, const char*> kinds[] = {
      {ObjectKind::customer, "customer"},         {ObjectKind::subscription, "subscription"},
      {ObjectKind::payment_method, "payment_method"}, {ObjectKind::invoice, "invoice"},
      {ObjectKind::entitlement_summary, "entitlements"}, {ObjectKind::checkout_session, "checkout_session"},
      {ObjectKind::price, "price"},               {ObjectKind::product, "product"},
      {ObjectKind::portal_session, "portal_session"}, {ObjectKind::portal_configuration, "portal_configuration"}};
  for (const auto& [kind, file] : kinds) {
    std::ifstream in(std::string(STRIPE_SYNC_SCHEMAS_DIR) + "/records/" + file + ".schema.json");
    ASSERT_TRUE(in) << file;
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto schema = boost::json::parse(text).as_object();
    const auto& props = schema.at("properties").as_object();
    std::set<std::string> in_schema, in_table;
    for (const auto& p : props) {
      if (!p.key().starts_with("_")) in_schema.emplace(p.key());
    }
    for (const StoredField& f : stored_fields(kind)) {
      in_table.emplace(f.name);
      const auto* p = props.if_contains(f.name);
      ASSERT_NE(p, nullptr) << file << "." << f.name;
      const auto& o = p->as_object();
      switch (f.type) {
        case FieldType::json: EXPECT_TRUE(o.contains("contentMediaType")) << file << "." << f.name; break;
        case FieldType::integer: EXPECT_TRUE(o.contains("pattern")) << file << "." << f.name; break;
        case FieldType::boolean: EXPECT_TRUE(o.contains("enum")) << file << "." << f.name; break;
        case FieldType::string: EXPECT_EQ(o.at("type").as_string(), "string") << file << "." << f.name; break;
      }
    }
    EXPECT_EQ(in_schema, in_table) << file;
    EXPECT_EQ(schema.at("additionalProperties"), boost::json::value(false)) << file;
  }
}

}  // namespace
}  // namespace stripe_sync
