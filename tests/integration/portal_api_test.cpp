// The portal API through real HTTP against stripe-ingress, with a real redis-server and the
// stand-in for Stripe's API (which checks every request against Stripe's parameter list).
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <set>

#include "common/billing/event_extract.hpp"
#include "common/billing/event_store.hpp"
#include "common/stripe/signature.hpp"
#include "common/kafka/mock_cluster.hpp"
#include "ingress/portal/api_access.hpp"
#include "ingress/ingress_app.hpp"
#include "tests/support/fake_stripe.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/redis_server.hpp"

namespace stripe_sync {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kApp = "Bearer app_key_portal_test";
constexpr const char* kCustomer = "cus_Rx7Example001";
constexpr const char* kSub = "sub_1Rx7ExampleSub1";
constexpr std::int64_t kStripeNow = 1795500000;  // the fake's Date header

json::object fixture_object(const std::string& name) {
  return json::parse(test::read_fixture("events/" + name)).at("data").at("object").as_object();
}

// A small Stripe account the fake serves; tests change it as the portal would.
struct Account {
  std::mutex mutex;
  json::object customer = fixture_object("customer.created.json");
  std::map<std::string, json::object> subscriptions, payment_methods, invoices, entitlements;
  std::map<std::string, json::object> configurations;
  int configuration_lists = 0;
  int fail_session_creates = 0;  // answer 500 this many times first
  std::optional<test::FakeResponse> hostile;  // when set: every request gets this
  int sessions = 0;
};

test::FakeResponse list(const std::map<std::string, json::object>& items) {
  json::array data;
  for (const auto& [id, o] : items) data.push_back(o);
  return {200, json::serialize(json::object{{"object", "list"}, {"data", data}, {"has_more", false}, {"url", "/v1/x"}})};
}

class PortalApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.create_topic("stripe.events", 6);
    account_.customer["email"] = "jordan.new@example.com";
    account_.customer["invoice_settings"].as_object()["default_payment_method"] = "pm_new";
    json::object pm = fixture_object("payment_method.attached.json");
    pm["id"] = "pm_new";
    account_.payment_methods["pm_new"] = pm;
    json::object sub = fixture_object("customer.subscription.updated.json");
    account_.subscriptions[kSub] = sub;
    keys_file_ = (std::filesystem::temp_directory_path() / ("keys-" + std::to_string(::getpid()))).string();
    std::ofstream(keys_file_) << ingress::sha256_hex("app_key_portal_test") << " app web\n"
                              << ingress::sha256_hex("admin_key_portal_test") << " admin ops\n";
  }

  void TearDown() override {
    app_.reset();
    EXPECT_EQ(fake_.violations(), std::vector<std::string>{});
    std::filesystem::remove(keys_file_);
  }

  void start(std::function<void(ingress::IngressConfig&)> tweak = {}) {
    ingress::IngressConfig c;
    c.webhook_secrets = {"whsec_portal"};
    c.kafka_brokers = cluster_.bootstrap_servers();
    c.listen_port = 0;
    c.redis_url = redis_.url();
    c.portal.stripe_api_key = "sk_test_portal";
    c.portal.stripe_api_base = fake_.base_url();
    c.portal.api_keys_file = keys_file_;
    c.portal.public_base_url = "https://app.example.com";
    c.portal.return_origins = {"https://app.example.com", "https://admin.example.com:8443"};
    c.portal.return_secret = "portal_return_secret";
    c.portal.rate_per_s = 1000;
    c.portal.burst = 1000;
    if (tweak) tweak(c);
    app_ = std::make_unique<ingress::IngressApp>(c);
    app_->start();
    port_ = app_->endpoint().port();
  }

  // Redis as it was before the visit: old email, the old card as default, the subscription active.
  void seed_redis(bool with_subscription = true) {
    auto client = redis_.client();
    EventStore store(*client, StoreConfig{});
    auto put = [&](json::object o, const std::string& id) {
      ChangeRecord r;
      ASSERT_EQ(extract_snapshot(json::serialize(o), kStripeNow - 1000, id, "seed", r).status, ExtractStatus::record);
      ASSERT_TRUE(store.apply(std::span(&r, 1), 1));
    };
    json::object customer = fixture_object("customer.created.json");
    customer["invoice_settings"].as_object()["default_payment_method"] = "pm_old";
    put(customer, "seed_1");
    json::object pm = fixture_object("payment_method.attached.json");
    pm["id"] = "pm_old";
    pm["card"].as_object()["last4"] = "1111";
    put(pm, "seed_2");
    if (with_subscription) put(fixture_object("customer.subscription.updated.json"), "seed_3");
  }

  test::HttpResult post_session(const json::object& body, const char* auth = kApp) {
    test::HttpClient c(port_);
    std::map<std::string, std::string> h{{"Content-Type", "application/json"}};
    if (auth) h["Authorization"] = auth;
    return c.request("POST", "/api/payment/portal/session", json::serialize(body), h);
  }

  test::HttpResult get_return(const std::string& query, const char* auth = kApp) {
    test::HttpClient c(port_);
    std::map<std::string, std::string> h;
    if (auth) h["Authorization"] = auth;
    return c.request("GET", "/api/payment/portal/return?" + query, "", h);
  }

  // The query the app's return page passes on: what Stripe's redirect carried.
  static std::string return_query(const test::HttpResult& session) {
    std::string url(json::parse(session.body).at("portal_session").at("return_url").as_string());
    return url.substr(url.find('?') + 1);
  }

  std::string hget(const std::string& key, const std::string& field) {
    auto v = redis_.client()->command({"HGET", key, field});
    return v ? v->str : "<io error>";
  }

  MockKafkaCluster cluster_{1};
  test::RedisServer redis_;
  Account account_;
  test::FakeStripe fake_{[this](const test::FakeRequest& q) -> test::FakeResponse {
    std::lock_guard lock(account_.mutex);
    if (account_.hostile) return *account_.hostile;
    if (q.method == "POST" && q.path == "/v1/billing_portal/sessions") {
      if (account_.fail_session_creates > 0) {
        --account_.fail_session_creates;
        return {500, test::stripe_error_body("api_error", "try again")};
      }
      ++account_.sessions;
      return {200, json::serialize(json::object{{"id", "bps_test" + std::to_string(account_.sessions)},
                                                {"object", "billing_portal.session"},
                                                {"customer", q.param("customer")},
                                                {"return_url", q.param("return_url")},
                                                {"url", "https://billing.stripe.com/p/session/test_" + std::to_string(account_.sessions)}})};
    }
    if (q.path.rfind("/v1/billing_portal/configurations", 0) == 0) {
      if (q.method == "GET") {
        ++account_.configuration_lists;
        return list(account_.configurations);
      }
      const std::string prefix = "/v1/billing_portal/configurations/";
      const bool update = q.path.size() > prefix.size();
      std::string id = update ? q.path.substr(prefix.size()) : "bpc_test" + std::to_string(account_.configurations.size() + 1);
      if (update && !account_.configurations.count(id)) {
        return {404, test::stripe_error_body("invalid_request_error", "No such configuration", "resource_missing")};
      }
      json::object& c = account_.configurations[id];
      if (c.empty()) {
        c = fixture_object("billing_portal.configuration.created.json");
        c["id"] = id;
      }
      if (!q.param("name").empty()) c["name"] = q.param("name");
      if (!q.param("business_profile[headline]").empty()) c["business_profile"].as_object()["headline"] = q.param("business_profile[headline]");
      return {200, json::serialize(c)};
    }
    if (q.method == "GET" && q.path == std::string("/v1/customers/") + kCustomer) return {200, json::serialize(account_.customer)};
    if (q.method == "POST" && q.path == std::string("/v1/customers/") + kCustomer) {
      for (const char* f : {"email", "name", "phone"}) {
        if (!q.param(f).empty()) account_.customer[f] = q.param(f);
      }
      if (!q.param("address[city]").empty()) account_.customer["address"].as_object()["city"] = q.param("address[city]");
      return {200, json::serialize(account_.customer)};
    }
    if (q.method == "GET" && q.path == "/v1/subscriptions") return list(account_.subscriptions);
    if (q.method == "GET" && q.path == "/v1/invoices") {
      if (q.param("customer") != kCustomer || q.param("limit") != "10") return {400, test::stripe_error_body("invalid_request_error", "unexpected query")};
      return list(account_.invoices);
    }
    if (q.method == "GET" && q.path == "/v1/entitlements/active_entitlements") {
      if (q.param("customer") != kCustomer) return {400, test::stripe_error_body("invalid_request_error", "unexpected query")};
      return list(account_.entitlements);
    }
    if (q.method == "GET" && q.path == std::string("/v1/customers/") + kCustomer + "/payment_methods") {
      return list(account_.payment_methods);
    }
    return {404, test::stripe_error_body("invalid_request_error", "No such resource", "resource_missing")};
  }};
  std::string keys_file_;
  std::unique_ptr<ingress::IngressApp> app_;
  std::uint16_t port_ = 0;
};

TEST_F(PortalApiTest, EachWorkflowCreatesASessionWithItsFlowAndASignedReturnLink) {
  seed_redis();
  start();
  struct Case {
    const char *workflow, *flow, *page;
  } cases[] = {
      {"payment_update", "payment_method_update", "https://app.example.com/dashboard/billing/payment-methods"},
      {"billing_review", "", "https://app.example.com/dashboard/billing/history"},
      {"subscription_management", "subscription_update", "https://app.example.com/dashboard/billing/subscription-updated"},
      {"cancellation_process", "subscription_cancel", "https://app.example.com/dashboard/billing/cancellation-survey"},
      {"profile_update", "customer_update", "https://app.example.com/dashboard/profile"},
  };
  for (const auto& c : cases) {
    auto res = post_session({{"customer_id", kCustomer}, {"workflow_type", c.workflow}});
    ASSERT_EQ(res.status, 200) << c.workflow << ": " << res.body;
    auto body = json::parse(res.body);
    EXPECT_TRUE(body.at("success").as_bool());
    EXPECT_EQ(std::string(body.at("portal_session").at("id").as_string()).rfind("bps_test", 0), 0u);
    EXPECT_EQ(std::string(body.at("portal_session").at("url").as_string()).rfind("https://billing.stripe.com/", 0), 0u);
    EXPECT_FALSE(body.at("portal_session").at("expires_at").as_string().empty());
    std::string link(body.at("portal_session").at("return_url").as_string());
    EXPECT_EQ(link.rfind(std::string(c.page) + "?session_id=ps_", 0), 0u) << link;
    EXPECT_NE(link.find("&customer_id=cus_Rx7Example001&action="), std::string::npos);
    EXPECT_NE(link.find("&sig="), std::string::npos);
    auto sent = fake_.requests().back();
    EXPECT_EQ(sent.param("customer"), kCustomer);
    EXPECT_EQ(sent.param("return_url"), link);
    EXPECT_EQ(sent.param("flow_data[type]"), c.flow) << c.workflow;
    if (*c.flow) {
      EXPECT_EQ(sent.param("flow_data[after_completion][redirect][return_url]"), link);
    }
    if (std::string(c.flow) == "subscription_cancel") {
      EXPECT_EQ(sent.param("flow_data[subscription_cancel][subscription]"), kSub);
    }
    if (std::string(c.flow) == "subscription_update") {
      EXPECT_EQ(sent.param("flow_data[subscription_update][subscription]"), kSub);
    }
  }
}

TEST_F(PortalApiTest, CustomBrandingIsCheckedAndRecordedWithTheVisit) {
  seed_redis();
  start();
  auto bad = post_session({{"customer_id", kCustomer}, {"workflow_type", "billing_review"},
                           {"custom_branding", json::object{{"primary_color", "blue"}}}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("branding.primary_color"), std::string::npos) << bad.body;
  auto ok = post_session({{"customer_id", kCustomer}, {"workflow_type", "billing_review"},
                          {"custom_branding", json::object{{"company_name", "MINGUS"}, {"primary_color", "#2563eb"}}}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  std::string q = return_query(ok);
  std::string session_id = q.substr(std::string("session_id=").size(), q.find('&') - std::string("session_id=").size());
  auto branding = json::parse(hget("stripe:portal:{portal}:visit:" + session_id, "branding"));
  EXPECT_EQ(branding.at("primary_color").as_string(), "#2563eb");
}

TEST_F(PortalApiTest, AReturnUrlOnAnOriginOutsideTheListIsRefused) {
  seed_redis();
  start();
  auto bad = post_session({{"customer_id", kCustomer}, {"workflow_type", "payment_update"},
                           {"return_url", "https://evil.example.net/steal"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body).at("error_code").as_string(), "BAD_REQUEST");
  auto ok = post_session({{"customer_id", kCustomer}, {"workflow_type", "payment_update"},
                          {"return_url", "https://admin.example.com:8443/billing?tab=cards"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(return_query(ok).rfind("tab=cards&session_id=", 0), 0u);
}

TEST_F(PortalApiTest, CancellationWithoutALiveSubscriptionIsAConflictNotAStripeError) {
  seed_redis(/*with_subscription=*/false);
  start();
  auto res = post_session({{"customer_id", kCustomer}, {"workflow_type", "cancellation_process"}});
  EXPECT_EQ(res.status, 409);
  EXPECT_EQ(json::parse(res.body).at("error_code").as_string(), "CONFLICT");
  for (const auto& q : fake_.requests()) EXPECT_NE(q.method, "POST");
}

TEST_F(PortalApiTest, AnUnknownCustomerIs404) {
  start();
  auto res = post_session({{"customer_id", "cus_nobody"}, {"workflow_type", "payment_update"}});
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(json::parse(res.body).at("error_code").as_string(), "CUSTOMER_NOT_FOUND");
}

TEST_F(PortalApiTest, AReturnReportsExactlyWhatChangedAndUpdatesRedis) {
  seed_redis();
  start();
  auto session = post_session({{"customer_id", kCustomer}, {"workflow_type", "payment_update"}});
  ASSERT_EQ(session.status, 200) << session.body;
  {
    // Meanwhile, in the portal: the subscription is canceled, its last invoice voided, and the
    // features it gave are gone but one.
    std::lock_guard lock(account_.mutex);
    account_.subscriptions[kSub]["status"] = "canceled";
    json::object inv = fixture_object("invoice.finalized.json");
    inv["status"] = "void";
    account_.invoices[std::string(inv.at("id").as_string())] = inv;
    account_.entitlements["ent_1"] = json::object{{"id", "ent_1"}, {"object", "entitlements.active_entitlement"},
                                                  {"feature", "feat_1"}, {"livemode", false}, {"lookup_key", "basic"}};
  }
  auto res = get_return(return_query(session));
  ASSERT_EQ(res.status, 200) << res.body;
  auto body = json::parse(res.body);
  const auto& sync = body.at("synchronized_data");
  EXPECT_TRUE(sync.at("customer_updated").as_bool());
  EXPECT_TRUE(sync.at("payment_method_updated").as_bool());
  EXPECT_TRUE(sync.at("subscription_changed").as_bool());
  std::vector<std::string> changes;
  for (const auto& c : sync.at("changes").as_array()) changes.emplace_back(c.as_string());
  EXPECT_EQ(changes, (std::vector<std::string>{"Email updated: jordan.old@example.com → jordan.new@example.com",
                                               "Payment method updated: 4242",
                                               "Subscription sub_1Rx7ExampleSub1 status: active → canceled"}));
  EXPECT_EQ(body.at("redirect_url").as_string(), "/dashboard/billing/payment-methods");

  const std::string base = std::string("stripe:{") + kCustomer + "}:";
  EXPECT_EQ(hget(base + "customer", "email"), "jordan.new@example.com");
  EXPECT_EQ(hget(base + "customer", "default_payment_method"), "pm_new");
  EXPECT_EQ(hget(base + "payment_method:pm_old", "deleted"), "1");
  EXPECT_EQ(hget(base + "subscription:" + kSub, "status"), "canceled");
  auto members = redis_.client()->command({"SMEMBERS", base + "payment_methods"});
  ASSERT_TRUE(members);
  ASSERT_EQ(members->elements.size(), 1u);
  EXPECT_EQ(members->elements[0].str, "pm_new");
  // The newest invoices and the active entitlements came back too.
  EXPECT_EQ(hget(base + "invoice:in_1Rx7ExampleInv1", "status"), "void");
  EXPECT_EQ(redis_.client()->command({"ZCARD", base + "invoices"})->integer, 1);
  auto active = redis_.client()->command({"SMEMBERS", base + "entitlements:active"});
  ASSERT_TRUE(active);
  ASSERT_EQ(active->elements.size(), 1u);
  EXPECT_EQ(active->elements[0].str, "basic");

  // Counted once, answered the same way again.
  std::string session_id = return_query(session).substr(std::string("session_id=").size());
  session_id = session_id.substr(0, session_id.find('&'));
  const std::string visit = "stripe:portal:{portal}:visit:" + session_id;
  std::string returned = hget(visit, "returned_ms");
  EXPECT_FALSE(returned.empty());
  EXPECT_FALSE(hget(visit, "duration_ms").empty());
  auto again = get_return(return_query(session));
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, res.body);
  EXPECT_EQ(hget(visit, "returned_ms"), returned);
}

TEST_F(PortalApiTest, WebhooksAppliedBeforeTheReturnStillShowInTheChangesAndANewerOneIsNotRolledBack) {
  seed_redis();
  start();
  auto session = post_session({{"customer_id", kCustomer}, {"workflow_type", "profile_update"}});
  ASSERT_EQ(session.status, 200);
  // The portal's webhook lands first, with a stamp newer than the snapshot the return will take.
  {
    auto client = redis_.client();
    EventStore store(*client, StoreConfig{});
    json::object c = account_.customer;
    c["email"] = "jordan.newest@example.com";
    ChangeRecord r;
    ASSERT_EQ(extract_snapshot(json::serialize(c), kStripeNow + 60, "evt_newer", "webhook", r).status, ExtractStatus::record);
    ASSERT_TRUE(store.apply(std::span(&r, 1), 1));
  }
  auto res = get_return(return_query(session));
  ASSERT_EQ(res.status, 200) << res.body;
  // The change is reported against the state recorded at session creation...
  EXPECT_NE(res.body.find("Email updated: jordan.old@example.com → jordan.new@example.com"), std::string::npos) << res.body;
  // ...and the older snapshot did not roll the newer webhook back.
  EXPECT_EQ(hget(std::string("stripe:{") + kCustomer + "}:customer", "email"), "jordan.newest@example.com");
}

TEST_F(PortalApiTest, TamperedExpiredAndForeignReturnsAreRefused) {
  seed_redis();
  start([](ingress::IngressConfig& c) { c.portal.session_ttl = 1s; });
  auto session = post_session({{"customer_id", kCustomer}, {"workflow_type", "payment_update"}});
  ASSERT_EQ(session.status, 200);
  std::string q = return_query(session);
  std::string tampered = q.substr(0, q.size() - 1) + (q.back() == 'a' ? "b" : "a");
  auto bad_sig = get_return(tampered);
  EXPECT_EQ(bad_sig.status, 400);
  EXPECT_EQ(json::parse(bad_sig.body).at("error_code").as_string(), "INVALID_SESSION");
  std::string foreign = q;
  foreign.replace(foreign.find(kCustomer), std::strlen(kCustomer), "cus_someoneelse");
  auto other = get_return(foreign);
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(json::parse(other.body).at("error_code").as_string(), "FORBIDDEN");
  auto unknown = get_return("session_id=ps_nope&customer_id=cus_x&action=payment_updated&sig=00");
  EXPECT_EQ(unknown.status, 400);
  // Past its TTL the link is refused. Wait for the clock, not the endpoint: a successful return
  // would be answered the same way ever after.
  std::tm tm{};
  std::string expires(json::parse(session.body).at("portal_session").at("expires_at").as_string());
  ASSERT_NE(strptime(expires.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm), nullptr);
  std::int64_t expires_at = timegm(&tm);
  ASSERT_TRUE(test::eventually([&] { return test::unix_now() > expires_at + 1; }, 5s));
  auto expired = get_return(q);
  EXPECT_EQ(expired.status, 400);
  EXPECT_EQ(json::parse(expired.body).at("error_code").as_string(), "INVALID_SESSION");
  EXPECT_NE(expired.body.find("expired"), std::string::npos);
}

TEST_F(PortalApiTest, StripeFailingTwiceThenAnsweringCreatesOneSessionWithOneIdempotencyKey) {
  seed_redis();
  start();
  account_.fail_session_creates = 2;
  auto res = post_session({{"customer_id", kCustomer}, {"workflow_type", "billing_review"}});
  ASSERT_EQ(res.status, 200) << res.body;
  std::set<std::string> keys;
  int posts = 0;
  for (const auto& q : fake_.requests()) {
    if (q.method != "POST") continue;
    ++posts;
    keys.insert(q.headers.at("idempotency-key"));
  }
  EXPECT_EQ(posts, 3);
  EXPECT_EQ(keys.size(), 1u);
  EXPECT_EQ(account_.sessions, 1);
}

TEST_F(PortalApiTest, StripeDownMeansUpstreamUnavailableAndSyncFailedNotAHang) {
  seed_redis();
  start();
  auto session = post_session({{"customer_id", kCustomer}, {"workflow_type", "payment_update"}});
  ASSERT_EQ(session.status, 200);
  fake_.stop();
  auto started = std::chrono::steady_clock::now();
  auto create = post_session({{"customer_id", kCustomer}, {"workflow_type", "payment_update"}});
  EXPECT_EQ(create.status, 503);
  EXPECT_EQ(json::parse(create.body).at("error_code").as_string(), "UPSTREAM_UNAVAILABLE");
  auto ret = get_return(return_query(session));
  EXPECT_EQ(ret.status, 502);
  EXPECT_EQ(json::parse(ret.body).at("error_code").as_string(), "SYNC_FAILED");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
  // Nothing was half-written: the customer is as before.
  EXPECT_EQ(hget(std::string("stripe:{") + kCustomer + "}:customer", "email"), "jordan.old@example.com");
}

TEST_F(PortalApiTest, KeysAndRateLimitsGuardTheRoutes) {
  seed_redis();
  start([](ingress::IngressConfig& c) {
    c.portal.rate_per_s = 0.001;  // no refill within the test, however slow the machine
    c.portal.burst = 2;
  });
  json::object body{{"customer_id", kCustomer}, {"workflow_type", "billing_review"}};
  EXPECT_EQ(post_session(body, nullptr).status, 401);
  auto wrong = post_session(body, "Bearer not_a_key");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(json::parse(wrong.body).at("error_code").as_string(), "UNAUTHORIZED");
  EXPECT_EQ(wrong.body.find("not_a_key"), std::string::npos);
  EXPECT_EQ(post_session(body).status, 200);
  EXPECT_EQ(post_session(body).status, 200);
  auto limited = post_session(body);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(json::parse(limited.body).at("error_code").as_string(), "RATE_LIMITED");
  EXPECT_FALSE(limited.headers["retry-after"].empty());
}

TEST_F(PortalApiTest, AnalyticsOverAKnownSetOfSessions) {
  seed_redis();
  start();
  // A session Stripe reported that was opened elsewhere (the worker keeps it under the portal tag).
  {
    auto client = redis_.client();
    EventStore store(*client, StoreConfig{});
    ChangeRecord r;
    ASSERT_EQ(extract_change(test::read_fixture("events/billing_portal.session.created.json"), r).status, ExtractStatus::record);
    ASSERT_TRUE(store.apply(std::span(&r, 1), 1));
  }
  auto first = post_session({{"customer_id", kCustomer}, {"workflow_type", "payment_update"}});
  auto second = post_session({{"customer_id", kCustomer}, {"workflow_type", "billing_review"}});
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(second.status, 200);
  ASSERT_EQ(get_return(return_query(first)).status, 200);  // changes the card and the email

  test::HttpClient c(port_);
  auto admin = [&](const std::string& query, const char* key = "Bearer admin_key_portal_test") {
    return c.request("GET", "/api/payment/portal/analytics" + query, "", {{"Authorization", key}});
  };
  auto res = admin("?start_date=2026-01-01&end_date=2099-12-31");
  ASSERT_EQ(res.status, 200) << res.body;
  auto a = json::parse(res.body).at("analytics");
  EXPECT_EQ(a.at("total_sessions").as_int64(), 3);
  EXPECT_EQ(a.at("unique_customers").as_int64(), 1);
  EXPECT_DOUBLE_EQ(a.at("return_rate").as_double(), 0.5);
  std::map<std::string, std::int64_t> features;
  for (const auto& f : a.at("most_used_features").as_array()) features[std::string(f.at(0).as_string())] = f.at(1).as_int64();
  // payment_update's flow twice over (the workflow, and the card the return showed changed) counts
  // once for that visit; the external session's flow counts once more.
  EXPECT_EQ(features, (std::map<std::string, std::int64_t>{{"payment_method_update", 2}, {"customer_update", 1},
                                                          {"invoice_history", 1}}));
  const auto& d = a.at("session_duration_stats");
  EXPECT_EQ(d.at("average_duration_minutes"), d.at("median_duration_minutes"));  // one returned visit
  EXPECT_EQ(a.at("period").at("start_date").as_string(), "2026-01-01");
  EXPECT_EQ(a.at("period").at("end_date").as_string(), "2099-12-31");

  auto empty = json::parse(admin("?start_date=2000-01-01&end_date=2000-01-02").body).at("analytics");
  EXPECT_EQ(empty.at("total_sessions").as_int64(), 0);
  EXPECT_DOUBLE_EQ(empty.at("return_rate").to_number<double>(), 0.0);
  EXPECT_EQ(admin("?start_date=2026-13-01").status, 400);
  EXPECT_EQ(admin("?start_date=2026-02-01&end_date=2026-01-01").status, 400);
  auto app = admin("", kApp);
  EXPECT_EQ(app.status, 403);
  EXPECT_EQ(json::parse(app.body).at("error_code").as_string(), "FORBIDDEN");
}

TEST_F(PortalApiTest, CustomerUpdatesGoToStripeAndAreAppliedHere) {
  seed_redis();
  start();
  test::HttpClient c(port_);
  auto res = c.request("POST", std::string("/api/payment/customers/") + kCustomer,
                       R"({"email":"jordan.api@example.com","address":{"city":"Savannah"}})",
                       {{"Authorization", kApp}, {"Content-Type", "application/json"}, {"Idempotency-Key", "caller-key-1"}});
  ASSERT_EQ(res.status, 200) << res.body;
  auto body = json::parse(res.body);
  EXPECT_EQ(body.at("customer").at("email").as_string(), "jordan.api@example.com");
  EXPECT_EQ(body.at("customer").at("address").at("city").as_string(), "Savannah");
  auto sent = fake_.requests().back();
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.param("email"), "jordan.api@example.com");
  EXPECT_EQ(sent.param("address[city]"), "Savannah");
  EXPECT_EQ(sent.headers.at("idempotency-key"), "caller-key-1");
  EXPECT_EQ(hget(std::string("stripe:{") + kCustomer + "}:customer", "email"), "jordan.api@example.com");

  auto bad = c.request("POST", std::string("/api/payment/customers/") + kCustomer, R"({"plan":"free"})",
                       {{"Authorization", kApp}, {"Content-Type", "application/json"}});
  EXPECT_EQ(bad.status, 400);
  auto missing = c.request("POST", "/api/payment/customers/cus_nobody", R"({"name":"X"})",
                           {{"Authorization", kApp}, {"Content-Type", "application/json"}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body).at("error_code").as_string(), "CUSTOMER_NOT_FOUND");
  // GET reads the document (ReadApiTest); any other method is 405 naming both.
  auto wrong = c.request("DELETE", std::string("/api/payment/customers/") + kCustomer, "", {{"Authorization", kApp}});
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers["allow"], "GET, POST");
}

TEST_F(PortalApiTest, ConfigurationsRoundTripWithBrandingAndACacheTheWebhookDrops) {
  start();
  test::HttpClient c(port_);
  std::map<std::string, std::string> admin{{"Authorization", "Bearer admin_key_portal_test"}, {"Content-Type", "application/json"}};
  auto created = c.request("POST", "/api/payment/portal/configuration", R"({"name":"MINGUS Enhanced Portal",
      "business_profile":{"headline":"MINGUS Financial Management","privacy_policy_url":"https://mingus.com/privacy"},
      "features":{"customer_update":{"enabled":true,"allowed_updates":["address","email"]},"invoice_history":{"enabled":true}},
      "branding":{"company_name":"MINGUS","logo_url":"https://mingus.com/logo.png","primary_color":"#2563eb"}})", admin);
  ASSERT_EQ(created.status, 200) << created.body;
  auto cfg = json::parse(created.body).at("configuration");
  std::string id(cfg.at("id").as_string());
  EXPECT_EQ(cfg.at("name").as_string(), "MINGUS Enhanced Portal");
  EXPECT_EQ(cfg.at("branding").at("primary_color").as_string(), "#2563eb");
  auto sent = fake_.requests().back();
  EXPECT_EQ(sent.param("features[customer_update][allowed_updates][]"), "address");
  EXPECT_EQ(sent.param("business_profile[privacy_policy_url]"), "https://mingus.com/privacy");

  auto updated = c.request("POST", "/api/payment/portal/configuration/" + id,
                           R"({"business_profile":{"headline":"Billing, simply"}})", admin);
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(json::parse(updated.body).at("configuration").at("branding").at("company_name").as_string(), "MINGUS");

  auto listed = c.request("GET", "/api/payment/portal/configuration", "", admin);
  ASSERT_EQ(listed.status, 200);
  auto configs = json::parse(listed.body).at("configurations").as_array();
  ASSERT_EQ(configs.size(), 1u);
  EXPECT_EQ(configs[0].at("business_profile").at("headline").as_string(), "Billing, simply");
  EXPECT_EQ(configs[0].at("branding").at("logo_url").as_string(), "https://mingus.com/logo.png");
  // Cached: a second list does not ask Stripe...
  EXPECT_EQ(c.request("GET", "/api/payment/portal/configuration", "", admin).body, listed.body);
  EXPECT_EQ(account_.configuration_lists, 1);
  // ...until a configuration webhook is applied (by the worker's script), which drops the cache.
  {
    auto client = redis_.client();
    EventStore store(*client, StoreConfig{});
    ChangeRecord r;
    ASSERT_EQ(extract_change(test::read_fixture("events/billing_portal.configuration.updated.json"), r).status, ExtractStatus::record);
    ASSERT_EQ(store.apply(std::span(&r, 1), 1)->front().outcome, ApplyOutcome::applied);
  }
  c.request("GET", "/api/payment/portal/configuration", "", admin);
  EXPECT_EQ(account_.configuration_lists, 2);

  auto missing = c.request("POST", "/api/payment/portal/configuration/bpc_nope", R"({"name":"x"})", admin);
  EXPECT_EQ(missing.status, 404);
  auto traversal = c.request("POST", "/api/payment/portal/configuration/bpc_..%2F..%2Fcustomers", R"({"name":"x"})", admin);
  EXPECT_EQ(traversal.status, 400);
  auto app = c.request("GET", "/api/payment/portal/configuration", "", {{"Authorization", kApp}});
  EXPECT_EQ(app.status, 403);
}

TEST_F(PortalApiTest, InvalidConfigurationsAreRejectedFieldByField) {
  start();
  test::HttpClient c(port_);
  auto res = c.request("POST", "/api/payment/portal/configuration",
                       R"({"features":{"customer_update":{"allowed_updates":["shoe_size"]}},
                           "business_profile":{"terms_of_service_url":"http://x.example"},"branding":{"primary_color":"red"}})",
                       {{"Authorization", "Bearer admin_key_portal_test"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(res.status, 400);
  auto body = json::parse(res.body);
  EXPECT_EQ(body.at("error_code").as_string(), "CONFIGURATION_INVALID");
  std::string message(body.at("error").as_string());
  EXPECT_NE(message.find("features.customer_update.allowed_updates"), std::string::npos) << message;
  EXPECT_NE(message.find("business_profile.terms_of_service_url: must be an https URL"), std::string::npos);
  EXPECT_NE(message.find("branding.primary_color: must be a colour as #rrggbb"), std::string::npos);
  for (const auto& q : fake_.requests()) EXPECT_NE(q.method, "POST");  // Stripe never asked
}

TEST_F(PortalApiTest, WithoutAStripeKeyThePortalRoutesSaySo) {
  start([](ingress::IngressConfig& c) { c.portal.stripe_api_key = Secret(); });
  auto res = post_session({{"customer_id", kCustomer}, {"workflow_type", "billing_review"}});
  EXPECT_EQ(res.status, 503);
  EXPECT_NE(res.body.find("STRIPE_API_KEY"), std::string::npos);
}

}  // namespace
}  // namespace stripe_sync

namespace stripe_sync {
namespace {

// Stripe (or a proxy in front of it) answering badly, on every portal route that calls it: each
// answer is a 5xx in the error format, the process keeps serving webhooks, nothing is written.
TEST_F(PortalApiTest, MalformedStripeAnswersAre5xxInTheErrorFormatAndNothingDies) {
  seed_redis();
  start();
  auto session = post_session({{"customer_id", kCustomer}, {"workflow_type", "payment_update"}});
  ASSERT_EQ(session.status, 200) << session.body;
  const std::string query = return_query(session);
  const std::map<std::string, std::string> html{{"Content-Type", "text/html"}};
  const std::pair<const char*, test::FakeResponse> modes[] = {
      {"html", {200, "<html><body>Service Unavailable</body></html>", html}},
      {"empty", {200, ""}},
      {"truncated", {200, R"({"id":"cus_Rx7Example001","object":"cust)"}},
      {"wrong types", {200, R"({"id":5,"object":["customer"],"data":"x","has_more":"yes","url":7,"email":{}})"}},
      {"missing fields", {200, "{}"}},
      {"64 MiB", {200, "{\"pad\":\"" + std::string(64 << 20, 'x') + "\"}"}},
      {"500 html", {500, "<html>Internal Server Error</html>", html}},
  };
  test::HttpClient c(port_);
  const std::map<std::string, std::string> app{{"Authorization", kApp}, {"Content-Type", "application/json"}};
  const std::map<std::string, std::string> admin{{"Authorization", "Bearer admin_key_portal_test"},
                                                 {"Content-Type", "application/json"}};
  const std::string config = R"({"business_profile":{"headline":"H"},"features":{"invoice_history":{"enabled":true}}})";
  int webhook = 0;
  for (const auto& [name, answer] : modes) {
    {
      std::lock_guard lock(account_.mutex);
      account_.hostile = answer;
    }
    const std::pair<const char*, test::HttpResult> answers[] = {
        {"session", post_session({{"customer_id", kCustomer}, {"workflow_type", "payment_update"}})},
        {"return", get_return(query)},
        {"configuration list", c.request("GET", "/api/payment/portal/configuration", "", admin)},
        {"configuration create", c.request("POST", "/api/payment/portal/configuration", config, admin)},
        {"configuration update", c.request("POST", "/api/payment/portal/configuration/bpc_1", config, admin)},
        {"customer update", c.request("POST", std::string("/api/payment/customers/") + kCustomer,
                                      R"({"email":"hostile@example.com"})", app)},
    };
    // What is not Stripe's API is a bad gateway (502); a 500 from Stripe is Stripe unavailable
    // (503, retry later); a return that could not sync is 502 SYNC_FAILED.
    const bool stripe_down = answer.status >= 500;
    for (const auto& [route, res] : answers) {
      const bool is_return = std::string_view(route) == "return";
      EXPECT_EQ(res.status, is_return || !stripe_down ? 502 : 503) << name << ", " << route << ": " << res.body;
      boost::system::error_code ec;
      auto body = json::parse(res.body, ec);
      ASSERT_FALSE(ec) << name << ", " << route << ": " << res.body;
      EXPECT_EQ(body.at("success"), json::value(false)) << name << ", " << route;
      std::string code(body.at("error_code").as_string());
      EXPECT_EQ(code, is_return ? "SYNC_FAILED" : "UPSTREAM_UNAVAILABLE") << name << ", " << route;
    }
    // Webhook intake never depended on Stripe's answers.
    json::object ev = json::parse(test::read_fixture("events/customer.updated.json")).as_object();
    ev["id"] = "evt_hostile_" + std::to_string(++webhook);
    std::string body = json::serialize(ev);
    std::vector<std::string> secrets{"whsec_portal"};
    auto ack = c.request("POST", "/webhooks/stripe", body,
                         {{"Content-Type", "application/json"},
                          {"Stripe-Signature", sign_payload(body, secrets, std::time(nullptr))}});
    EXPECT_EQ(ack.status, 200) << name << ": " << ack.body;
  }
  // Nothing half-written: the customer is as before, and the return was never counted.
  EXPECT_EQ(hget(std::string("stripe:{") + kCustomer + "}:customer", "email"), "jordan.old@example.com");
  {
    std::lock_guard lock(account_.mutex);
    account_.hostile.reset();
  }
  auto healthy = get_return(query);
  EXPECT_EQ(healthy.status, 200) << healthy.body;
}

}  // namespace
}  // namespace stripe_sync

namespace stripe_sync {
namespace {

// The app's read side: Stripe's example events applied through the one path, then read back as
// typed JSON and compared field by field with the events they came from.
class ReadApiTest : public PortalApiTest {
 protected:
  void apply_fixtures() {
    auto client = redis_.client();
    EventStore store(*client, StoreConfig{});
    for (const char* f : {"customer.created.json", "customer.updated.json", "customer.subscription.updated.json",
                          "payment_method.attached.json", "invoice.created.json", "invoice.finalized.json",
                          "invoice.payment_succeeded.json", "invoice.voided.json", "invoice.marked_uncollectible.json",
                          "entitlements.active_entitlement_summary.updated.json", "price.updated.json",
                          "product.updated.json"}) {
      ChangeRecord r;
      ASSERT_EQ(extract_change(test::read_fixture(std::string("events/") + f), r).status, ExtractStatus::record) << f;
      ASSERT_TRUE(store.apply(std::span(&r, 1), 1795500000123)) << f;
    }
  }
  test::HttpResult get(const std::string& target, std::map<std::string, std::string> headers = {}) {
    test::HttpClient c(port_);
    headers["Authorization"] = kApp;
    return c.request("GET", target, "", headers);
  }
};

TEST_F(ReadApiTest, TheCustomerDocumentHasStripesTypesAndValues) {
  apply_fixtures();
  start();
  auto res = get(std::string("/api/payment/customers/") + kCustomer);
  ASSERT_EQ(res.status, 200) << res.body;
  auto doc = json::parse(res.body).as_object();
  // The customer: as its newest event has it, typed.
  const auto src = fixture_object("customer.updated.json");
  const auto& c = doc.at("customer").as_object();
  for (const char* f : {"id", "email", "name", "phone", "address", "livemode", "metadata", "balance"}) {
    EXPECT_EQ(c.at(f), src.at(f)) << "customer." << f;
  }
  EXPECT_EQ(c.at("default_payment_method"), src.at("invoice_settings").at("default_payment_method"));
  EXPECT_EQ(c.at("deleted"), json::value(false));
  EXPECT_TRUE(c.at("livemode").is_bool());
  // The subscription, its item named by the synced price and product.
  const auto sub_src = fixture_object("customer.subscription.updated.json");
  ASSERT_EQ(doc.at("subscriptions").as_array().size(), 1u);
  const auto& s = doc.at("subscriptions").as_array()[0].as_object();
  for (const char* f : {"id", "status", "cancel_at_period_end", "cancel_at", "billing_cycle_anchor", "collection_method",
                        "latest_invoice", "trial_end", "metadata", "created"}) {
    EXPECT_EQ(s.at(f), sub_src.at(f)) << "subscription." << f;
  }
  const auto& item = s.at("items").as_array()[0].as_object();
  EXPECT_EQ(item.at("price").as_string(), "price_1Rx7ExamplePro");
  EXPECT_EQ(item.at("quantity").as_int64(), 1);
  EXPECT_EQ(item.at("price_nickname"), fixture_object("price.updated.json").at("nickname"));
  EXPECT_EQ(item.at("product_name"), fixture_object("product.updated.json").at("name"));
  // The payment method, and which one is the default.
  ASSERT_EQ(doc.at("payment_methods").as_array().size(), 1u);
  const auto& pm = doc.at("payment_methods").as_array()[0].as_object();
  EXPECT_EQ(pm.at("card_last4"), fixture_object("payment_method.attached.json").at("card").at("last4"));
  EXPECT_EQ(pm.at("card_exp_year"), fixture_object("payment_method.attached.json").at("card").at("exp_year"));
  EXPECT_EQ(pm.at("default"), json::value(true));
  // The active entitlements.
  EXPECT_EQ(doc.at("entitlements").at("active"), (json::array{"priority-support", "advanced-reports"}));
  // The invoices, newest first, each as its newest event has it.
  std::vector<std::pair<std::int64_t, std::string>> by_created;
  std::map<std::string, json::object> newest;
  for (const char* f : {"invoice.payment_succeeded.json", "invoice.voided.json", "invoice.marked_uncollectible.json"}) {
    auto o = fixture_object(f);
    by_created.emplace_back(o.at("created").as_int64(), std::string(o.at("id").as_string()));
    newest[std::string(o.at("id").as_string())] = o;
  }
  std::sort(by_created.rbegin(), by_created.rend());
  const auto& invoices = doc.at("invoices").as_array();
  ASSERT_EQ(invoices.size(), by_created.size());
  for (std::size_t i = 0; i < invoices.size(); ++i) {
    const auto& inv = invoices[i].as_object();
    EXPECT_EQ(inv.at("id").as_string(), by_created[i].second);
    const auto& src_inv = newest[by_created[i].second];
    for (const char* f : {"status", "amount_due", "amount_paid", "amount_remaining", "currency", "number", "livemode",
                          "hosted_invoice_url", "status_transitions", "due_date", "created"}) {
      EXPECT_EQ(inv.at(f), src_inv.at(f)) << inv.at("id") << "." << f;
    }
  }
  // Our bookkeeping apart from Stripe's fields.
  const auto& sync = doc.at("_sync").as_object();
  EXPECT_EQ(sync.at("event").as_string(), "evt_1Sx00002ExampleA");
  EXPECT_EQ(sync.at("synced_ms").as_int64(), 1795500000123);
  EXPECT_EQ(sync.at("revalidate_pending"), json::value(false));
  EXPECT_EQ(std::to_string(sync.at("version").as_int64()), hget("stripe:{cus_Rx7Example001}:customer", "_v"));
  EXPECT_FALSE(c.contains("_v"));
}

TEST_F(ReadApiTest, TheDocumentHasAnETagAndAnswers304UntilTheStateChanges) {
  apply_fixtures();
  start();
  const std::string path = std::string("/api/payment/customers/") + kCustomer;
  auto first = get(path);
  ASSERT_EQ(first.status, 200);
  const std::string etag = first.headers["etag"];
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(get(path).headers["etag"], etag);  // equal state, equal tag
  auto cached = get(path, {{"If-None-Match", etag}});
  EXPECT_EQ(cached.status, 304);
  EXPECT_TRUE(cached.body.empty());
  EXPECT_EQ(get(path, {{"If-None-Match", "\"other\", W/" + etag}}).status, 304);
  EXPECT_EQ(get(path, {{"If-None-Match", "\"other\""}}).status, 200);
  // A newer event changes the document and its tag.
  auto client = redis_.client();
  EventStore store(*client, StoreConfig{});
  auto ev = json::parse(test::read_fixture("events/customer.updated.json"));
  ev.as_object()["id"] = "evt_newer";
  ev.as_object()["created"] = ev.at("created").as_int64() + 10;
  ev.at("data").at("object").as_object()["email"] = "jordan.newer@example.com";
  ChangeRecord r;
  ASSERT_EQ(extract_change(json::serialize(ev), r).status, ExtractStatus::record);
  ASSERT_TRUE(store.apply(std::span(&r, 1), 1));
  auto changed = get(path, {{"If-None-Match", etag}});
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(changed.headers["etag"], etag);
  EXPECT_EQ(json::parse(changed.body).at("customer").at("email").as_string(), "jordan.newer@example.com");
}

TEST_F(ReadApiTest, UnknownCustomersAndBadIdsGetClearErrors) {
  apply_fixtures();
  start();
  auto missing = get("/api/payment/customers/cus_nobody");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body).at("error_code").as_string(), "CUSTOMER_NOT_FOUND");
  EXPECT_EQ(get("/api/payment/customers/cus_nobody/invoices").status, 404);
  auto bad = get("/api/payment/customers/prod_x");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body).at("error_code").as_string(), "BAD_REQUEST");
  test::HttpClient anonymous(port_);
  EXPECT_EQ(anonymous.request("GET", std::string("/api/payment/customers/") + kCustomer, "", {}).status, 401);
}

TEST_F(ReadApiTest, AnEntitlementCheckIsActiveOrNot) {
  apply_fixtures();
  start();
  const std::string base = std::string("/api/payment/customers/") + kCustomer + "/entitlements/";
  auto yes = get(base + "priority-support");
  ASSERT_EQ(yes.status, 200) << yes.body;
  EXPECT_EQ(json::parse(yes.body), (json::value(json::object{{"success", true}, {"active", true}})));
  EXPECT_EQ(json::parse(get(base + "sso").body).at("active"), json::value(false));
  EXPECT_EQ(json::parse(get("/api/payment/customers/cus_nobody/entitlements/sso").body).at("active"), json::value(false));
}

TEST_F(ReadApiTest, TheInvoiceHistoryPagesNewestFirst) {
  apply_fixtures();
  start();
  const std::string base = std::string("/api/payment/customers/") + kCustomer + "/invoices";
  auto all = json::parse(get(base).body).as_object();
  ASSERT_EQ(all.at("data").as_array().size(), 3u);
  EXPECT_EQ(all.at("has_more"), json::value(false));
  std::vector<std::string> ids;
  for (const auto& i : all.at("data").as_array()) ids.emplace_back(i.at("id").as_string());
  auto first = json::parse(get(base + "?limit=2").body).as_object();
  ASSERT_EQ(first.at("data").as_array().size(), 2u);
  EXPECT_EQ(first.at("has_more"), json::value(true));
  EXPECT_EQ(first.at("data").as_array()[1].at("id").as_string(), ids[1]);
  auto second = json::parse(get(base + "?limit=2&starting_after=" + ids[1]).body).as_object();
  ASSERT_EQ(second.at("data").as_array().size(), 1u);
  EXPECT_EQ(second.at("data").as_array()[0].at("id").as_string(), ids[2]);
  EXPECT_EQ(second.at("has_more"), json::value(false));
  EXPECT_EQ(get(base + "?limit=0").status, 400);
  EXPECT_EQ(get(base + "?limit=abc").status, 400);
  EXPECT_EQ(get(base + "?starting_after=evil").status, 400);
}

}  // namespace
}  // namespace stripe_sync
