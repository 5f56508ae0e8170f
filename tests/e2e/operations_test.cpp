// Operating the pipeline, end to end with every component a real process: the counts /metrics
// shows after a scripted run, backfill from Stripe's event list (the stand-in Stripe), and that no
// log line of any process ever carries a secret.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fstream>
#include <algorithm>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <atomic>
#include <cstdlib>
#include <iterator>

#include "common/billing/keys.hpp"
#include "common/core/time.hpp"
#include "common/stripe/signature.hpp"
#include "common/kafka/topic_reader.hpp"
#include "ingress/portal/api_access.hpp"
#include "tests/support/fake_stripe.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/stack.hpp"

namespace stripe_sync {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Recognisable values: if any of them shows up in a log line, it leaked.
constexpr const char* kWebhookSecret = "whsec_LEAKCHECK_webhook_0123456789";
constexpr const char* kStripeKey = "sk_test_LEAKCHECK_stripe_0123456789";
constexpr const char* kAppKey = "LEAKCHECK_app_key_0123456789";
constexpr const char* kAdminKey = "LEAKCHECK_admin_key_0123456789";
constexpr const char* kReturnSecret = "LEAKCHECK_return_secret_0123456789";

test::StackBinaries binaries() { return {STRIPE_SYNC_CLI, STRIPE_INGRESS_BIN, STRIPE_WORKER_BIN}; }

// A fixture event with its ids, time and customer replaced.
std::string make_event(const std::string& fixture, const std::string& id, std::int64_t created,
                       const std::string& customer, const std::function<void(json::object&)>& edit = {}) {
  json::object ev = json::parse(test::read_fixture("events/" + fixture)).as_object();
  ev["id"] = id;
  ev["created"] = created;
  json::object& data = ev["data"].as_object();
  data.erase("previous_attributes");
  json::object& obj = data["object"].as_object();
  if (fixture.rfind("customer.", 0) == 0 && fixture.find("subscription") == std::string::npos) obj["id"] = customer;
  else obj["customer"] = customer;
  if (edit) edit(obj);
  return json::serialize(ev);
}

std::string sign(const std::string& body, const std::string& secret) {
  std::vector<std::string> s{secret};
  return sign_payload(body, s, test::unix_now());
}

double metric(const std::string& text, const std::string& series) { return test::metric_value(text, series); }
std::string scrape(std::uint16_t port) { return test::scrape_metrics(port); }

TEST(Operations, MetricsShowExactlyTheCountsOfAScriptedRun) {
  test::Stack stack(binaries(), kWebhookSecret);
  stack.start_worker();
  const std::int64_t now = test::unix_now();
  std::vector<std::string> events;
  for (int i = 0; i < 20; ++i) {
    events.push_back(make_event("customer.created.json", "evt_metrics_" + std::to_string(i), now - 60,
                                "cus_metrics_" + std::to_string(i)));
  }
  int accepted = 0, forged = 0;
  for (const auto& e : events) accepted += test::post_webhook(stack.ingress_port(), e, sign(e, kWebhookSecret)).status == 200;
  for (int i = 0; i < 5; ++i) {  // signed with the wrong secret
    forged += test::post_webhook(stack.ingress_port(), events[i], sign(events[i], "whsec_wrong")).status == 400;
  }
  for (int i = 0; i < 3; ++i) {  // Stripe delivers again: the same event id
    accepted += test::post_webhook(stack.ingress_port(), events[i], sign(events[i], kWebhookSecret)).status == 200;
  }
  // A known type that names no customer: it can never apply, so it is dead-lettered.
  std::string dead = make_event("customer.subscription.updated.json", "evt_metrics_dead", now - 60, "x",
                                [](json::object& o) { o.erase("customer"); });
  accepted += test::post_webhook(stack.ingress_port(), dead, sign(dead, kWebhookSecret)).status == 200;
  ASSERT_EQ(accepted, 24);
  ASSERT_EQ(forged, 5);

  std::string in = scrape(stack.ingress_port());
  EXPECT_EQ(metric(in, R"(stripe_ingress_webhooks_total{outcome="accepted",status="200"})"), 24) << in;
  EXPECT_EQ(metric(in, R"(stripe_ingress_webhooks_total{outcome="invalid_signature",status="400"})"), 5);
  EXPECT_EQ(metric(in, R"(stripe_ingress_webhooks_total{outcome="upstream_unavailable",status="503"})"), 0);
  EXPECT_EQ(metric(in, "stripe_ingress_produce_seconds_count"), 24);
  EXPECT_EQ(metric(in, "stripe_ingress_webhook_ack_seconds_count"), 24);
  EXPECT_EQ(metric(in, R"(stripe_ingress_http_responses_total{code="4xx"})"), 5);

  const std::string applied = R"(stripe_worker_events_total{type="customer.created",outcome="applied"})";
  const std::string duplicate = R"(stripe_worker_events_total{type="customer.created",outcome="duplicate"})";
  const std::string dead_lettered =
      R"(stripe_worker_events_total{type="customer.subscription.updated",outcome="dead_lettered"})";
  std::string w;
  bool settled = test::eventually([&] {
    w = scrape(stack.worker_status_port());
    return metric(w, applied) + metric(w, duplicate) + metric(w, dead_lettered) == 24 &&
           metric(w, "stripe_worker_dlq_messages") == 1;
  }, 60s);
  ASSERT_TRUE(settled) << w;
  EXPECT_EQ(metric(w, applied), 20);
  EXPECT_EQ(metric(w, duplicate), 3);
  EXPECT_EQ(metric(w, dead_lettered), 1);
  EXPECT_EQ(metric(w, "stripe_worker_end_to_end_seconds_count"), 23);  // applied or duplicate
  EXPECT_EQ(metric(w, "stripe_worker_event_age_seconds_count"), 23);
  EXPECT_EQ(metric(w, R"(stripe_worker_redis_retries_total{class="connection"})"), 0) << w;
  EXPECT_EQ(metric(w, R"(stripe_worker_redis_retries_total{class="oom"})"), 0);
  EXPECT_EQ(metric(w, "stripe_worker_ready"), 1);
  EXPECT_EQ(metric(w, "stripe_worker_assigned_partitions"), 6);
  // Nothing left behind: every partition that has messages shows a lag of 0.
  EXPECT_NE(w.find("# TYPE stripe_worker_consumer_lag gauge"), std::string::npos);
  EXPECT_EQ(w.find(R"(stripe_worker_consumer_lag{partition="0"} 1)"), std::string::npos);
  EXPECT_EQ(test::HttpClient(stack.worker_status_port()).get("/readyz").status, 200);
  EXPECT_EQ(test::HttpClient(stack.worker_status_port()).get("/healthz").status, 200);
  EXPECT_EQ(w.find(kWebhookSecret), std::string::npos);
}

// The stand-in for Stripe's event list: `events` newest first, pages of `limit`, created[gte],
// starting_after, types[] and delivery_success honoured, one 429 on the second page's first ask.
class EventList {
 public:
  explicit EventList(std::vector<std::string> newest_first) : events_(std::move(newest_first)) {}

  test::FakeResponse answer(const test::FakeRequest& q) {
    if (q.method != "GET" || q.path != "/v1/events") return {404, test::stripe_error_body("invalid_request_error", "no such route")};
    std::lock_guard lock(mutex_);
    ++asks_;
    std::string after = q.param("starting_after");
    if (!after.empty() && !throttled_) {
      throttled_ = true;
      return {429, test::stripe_error_body("rate_limit_error", "Too many requests"), {{"Retry-After", "1"}}};
    }
    std::int64_t gte = std::stoll(q.param("created[gte]"));
    std::size_t limit = std::stoul(q.param("limit"));
    bool started = after.empty();
    json::array data;
    bool more = false;
    for (const auto& e : events_) {
      json::object ev = json::parse(e).as_object();
      if (!started) {
        started = ev["id"].as_string() == after;
        continue;
      }
      if (ev["created"].as_int64() < gte) continue;
      if (data.size() == limit) {
        more = true;
        break;
      }
      data.push_back(ev);
    }
    return {200, json::serialize(json::object{{"object", "list"}, {"url", "/v1/events"}, {"has_more", more}, {"data", data}}),
            {{"Date", "Tue, 24 Nov 2026 18:00:00 GMT"}}};
  }
  int asks() {
    std::lock_guard lock(mutex_);
    return asks_;
  }

 private:
  std::vector<std::string> events_;
  std::mutex mutex_;
  int asks_ = 0;
  bool throttled_ = false;
};

// Everything the worker wrote, except the audit entries' contents (only their count).
std::map<std::string, std::string> snapshot(RedisClient& redis) {
  std::map<std::string, std::string> out;
  auto keys = redis.command({"KEYS", "stripe:{cus_*"});
  for (const auto& k : keys->elements) {
    auto type = redis.command({"TYPE", k.str});
    std::string v = type->str + ":";
    if (type->str == "hash") {
      std::map<std::string, std::string> h;
      auto all = redis.command({"HGETALL", k.str});
      for (std::size_t i = 0; i + 1 < all->elements.size(); i += 2) h[all->elements[i].str] = all->elements[i + 1].str;
      for (const auto& [f, x] : h) v += f + "=" + x + ";";
    } else if (type->str == "set") {
      std::set<std::string> m;
      auto members = redis.command({"SMEMBERS", k.str});
      for (const auto& e : members->elements) m.insert(e.str);
      for (const auto& e : m) v += e + ";";
    } else if (type->str == "stream") {
      v += std::to_string(redis.command({"XLEN", k.str})->integer);
    } else {
      v += redis.command({"GET", k.str})->str;
    }
    out[k.str] = v;
  }
  return out;
}

TEST(Operations, BackfillProducesEveryListedEventOnceAndARepeatChangesNothing) {
  // 50 customers, five events each, over the last hour: 250 events, three pages of 100.
  const std::int64_t t0 = test::unix_now() - 3600;
  std::vector<std::string> oldest_first;
  for (int c = 0; c < 50; ++c) {
    std::string cus = "cus_bf" + std::to_string(c), sub = "sub_bf" + std::to_string(c);
    std::int64_t t = t0 + c * 60;
    auto id = [&](int n) { return "evt_bf" + std::to_string(c) + "_" + std::to_string(n); };
    oldest_first.push_back(make_event("customer.created.json", id(0), t, cus,
                                      [&](json::object& o) { o["email"] = cus + "@example.com"; }));
    oldest_first.push_back(make_event("customer.subscription.created.json", id(1), t + 1, cus,
                                      [&](json::object& o) { o["id"] = sub; o["status"] = "trialing"; }));
    oldest_first.push_back(make_event("customer.updated.json", id(2), t + 2, cus,
                                      [&](json::object& o) { o["email"] = cus + "-v2@example.com"; }));
    oldest_first.push_back(make_event("customer.subscription.updated.json", id(3), t + 3, cus,
                                      [&](json::object& o) { o["id"] = sub; o["status"] = "active"; }));
    oldest_first.push_back(make_event("customer.updated.json", id(4), t + 4, cus,
                                      [&](json::object& o) { o["email"] = cus + "-final@example.com"; }));
  }
  // One event older than --since: listed by Stripe only if the filter were ignored.
  std::vector<std::string> newest_first(oldest_first.rbegin(), oldest_first.rend());
  newest_first.push_back(make_event("customer.updated.json", "evt_bf_too_old", t0 - 86400, "cus_bf0",
                                    [](json::object& o) { o["email"] = "too-old@example.com"; }));
  EventList list(newest_first);
  test::FakeStripe stripe([&](const test::FakeRequest& q) { return list.answer(q); });

  test::Stack stack(binaries(), kWebhookSecret);
  stack.start_worker();
  const std::vector<std::string> env{std::string("STRIPE_API_KEY=") + kStripeKey, "STRIPE_API_BASE=" + stripe.base_url()};
  std::string out = stack.cli({"backfill", "--since", "2h"}, env);
  EXPECT_NE(out.find("backfill: 250 events listed, 250 produced, 0 failed, 0 unreadable, 3 page(s)"), std::string::npos) << out;
  EXPECT_EQ(list.asks(), 4);  // three pages and the retry of the throttled one
  EXPECT_TRUE(stripe.violations().empty()) << stripe.violations().front();
  for (const auto& q : stripe.requests()) {
    EXPECT_EQ(q.param("limit"), "100");
    EXPECT_EQ(q.headers.at("authorization"), std::string("Bearer ") + kStripeKey);
  }

  auto produced = read_topic(stack.bootstrap(), "stripe.events");
  ASSERT_EQ(produced.size(), 250u);
  std::map<std::string, int> seen;
  for (const auto& m : produced) {
    ++seen[m.header("stripe-event-id")];
    EXPECT_EQ(m.header("source"), "backfill");
    EXPECT_FALSE(m.header("ingress-received-ms").empty());
    EXPECT_EQ(m.key.rfind("cus_bf", 0), 0u) << m.key;
  }
  EXPECT_EQ(seen.size(), 250u);
  EXPECT_EQ(seen.count("evt_bf_too_old"), 0u);

  auto redis = stack.redis().client();
  const std::string applied_series = R"(stripe_worker_events_total{type="customer.updated",outcome="applied"})";
  auto worker_total = [&](const std::string& outcome) {
    std::string w = scrape(stack.worker_status_port());
    double n = 0;
    for (const char* t : {"customer.created", "customer.updated", "customer.subscription.created",
                          "customer.subscription.updated"}) {
      double v = metric(w, std::string("stripe_worker_events_total{type=\"") + t + "\",outcome=\"" + outcome + "\"}");
      n += v > 0 ? v : 0;
    }
    return n;
  };
  // Events of one customer are applied in whatever order the pages gave them: the stamps decide.
  ASSERT_TRUE(test::eventually([&] { return worker_total("applied") + worker_total("stale") == 250; }, 120s))
      << scrape(stack.worker_status_port());
  for (int c = 0; c < 50; ++c) {
    std::string cus = "cus_bf" + std::to_string(c);
    EXPECT_EQ(redis->command({"HGET", "stripe:{" + cus + "}:customer", "email"})->str, cus + "-final@example.com");
    EXPECT_EQ(redis->command({"HGET", "stripe:{" + cus + "}:subscription:sub_bf" + std::to_string(c), "status"})->str,
              "active");
  }
  auto before = snapshot(*redis);

  // A second run: everything is produced again, and the worker keeps none of it.
  out = stack.cli({"backfill", "--since", "2h"}, env);
  EXPECT_NE(out.find("250 produced, 0 failed"), std::string::npos) << out;
  EXPECT_EQ(read_topic(stack.bootstrap(), "stripe.events").size(), 500u);
  ASSERT_TRUE(test::eventually([&] { return worker_total("duplicate") == 250; }, 120s))
      << scrape(stack.worker_status_port());
  auto after = snapshot(*redis);
  EXPECT_EQ(before.size(), after.size());
  EXPECT_TRUE(before == after) << "the second backfill changed the state or the audit";
  EXPECT_TRUE(stripe.violations().empty());
}

TEST(Operations, UndeliveredBackfillAsksForFailedDeliveriesAndKeepsItsCursor) {
  std::vector<std::string> events{make_event("customer.created.json", "evt_undelivered_1", test::unix_now() - 600, "cus_u1")};
  std::mutex mutex;
  std::vector<std::string> gte_seen;
  test::FakeStripe stripe([&](const test::FakeRequest& q) -> test::FakeResponse {
    std::lock_guard lock(mutex);
    gte_seen.push_back(q.param("created[gte]"));
    EXPECT_EQ(q.param("delivery_success"), "false");
    json::array data;
    for (const auto& e : events) data.push_back(json::parse(e));
    return {200, json::serialize(json::object{{"object", "list"}, {"has_more", false}, {"data", data}}),
            {{"Date", "Tue, 24 Nov 2026 18:00:00 GMT"}}};
  });
  test::Stack stack(binaries(), kWebhookSecret);
  const std::vector<std::string> env{std::string("STRIPE_API_KEY=") + kStripeKey, "STRIPE_API_BASE=" + stripe.base_url()};
  std::string out = stack.cli({"backfill", "--undelivered"}, env);
  EXPECT_NE(out.find("1 events listed, 1 produced"), std::string::npos) << out;
  // 2026-11-24T18:00:00Z (Stripe's Date) less five minutes of overlap.
  EXPECT_EQ(stack.redis().client()->command({"GET", "stripe:backfill:undelivered:cursor"})->str, "1795542900");
  stack.cli({"backfill", "--undelivered"}, env);
  std::lock_guard lock(mutex);
  ASSERT_EQ(gte_seen.size(), 2u);
  EXPECT_NEAR(std::stoll(gte_seen[0]), test::unix_now() - 30 * 86400, 120);  // first run: all Stripe keeps
  EXPECT_EQ(gte_seen[1], "1795542900");                                       // then from the cursor
  EXPECT_TRUE(stripe.violations().empty());
}

// A worker that revalidates ties at `stripe`.
test::StackOptions revalidating(const test::FakeStripe& stripe) {
  test::StackOptions options;
  options.worker_env = {"WORKER_REVALIDATE=1", std::string("STRIPE_API_KEY=") + kStripeKey,
                        "STRIPE_API_BASE=" + stripe.base_url()};
  return options;
}

TEST(Operations, AnAmbiguousEventIsSettledByTheObjectFetchedFromStripe) {
  json::object truth = json::parse(test::read_fixture("events/customer.updated.json")).at("data").at("object").as_object();
  truth["id"] = "cus_reval";
  truth["email"] = "truth@example.com";
  const std::int64_t now = test::unix_now();
  test::FakeStripe stripe([&](const test::FakeRequest& q) -> test::FakeResponse {
    if (q.method == "GET" && q.path == "/v1/customers/cus_reval") {
      return {200, json::serialize(truth), {{"Date", test::http_date(test::unix_now())}}};
    }
    return {404, test::stripe_error_body("invalid_request_error", "No such thing")};
  });
  test::Stack stack(binaries(), kWebhookSecret, revalidating(stripe));
  stack.start_worker();
  // Two updates in the same second, neither naming what it changed: the second is ambiguous.
  std::vector<std::string> events{
      make_event("customer.created.json", "evt_reval_1", now - 30, "cus_reval"),
      make_event("customer.updated.json", "evt_reval_2", now - 20, "cus_reval",
                 [](json::object& o) { o["email"] = "a@example.com"; }),
      make_event("customer.updated.json", "evt_reval_3", now - 20, "cus_reval",
                 [](json::object& o) { o["email"] = "b@example.com"; })};
  for (const auto& e : events) ASSERT_EQ(test::post_webhook(stack.ingress_port(), e, sign(e, kWebhookSecret)).status, 200);
  std::string w;
  ASSERT_TRUE(test::eventually([&] {
    w = scrape(stack.worker_status_port());
    return metric(w, R"(stripe_worker_revalidations_total{outcome="applied"})") == 1;
  }, 60s)) << w;
  EXPECT_EQ(metric(w, R"(stripe_worker_events_total{type="customer.updated",outcome="ambiguous"})"), 1);
  EXPECT_EQ(metric(w, R"(stripe_api_requests_total{method="GET",code="200"})"), 1);
  auto redis = stack.redis().client();
  EXPECT_EQ(redis->command({"HGET", "stripe:{cus_reval}:customer", "email"})->str, "truth@example.com");
  EXPECT_EQ(redis->command({"HEXISTS", "stripe:{cus_reval}:customer", "_revalidate"})->integer, 0);
  ASSERT_EQ(stripe.requests().size(), 1u);
  EXPECT_EQ(stripe.requests()[0].path, "/v1/customers/cus_reval");
  EXPECT_TRUE(stripe.violations().empty());
}


// A revalidation whose snapshot Redis refuses (OOM for a moment, right after the batch applied)
// holds the batch like any Redis failure: its retry answers duplicate with the tie kept in the
// marker, fetches again, and settles the object. Before, the settlement was dropped and the
// tie's guess stayed (found by the chaos runner on a Redis Cluster).
TEST(Operations, ARevalidationRedisRefusesHoldsTheBatchUntilItApplies) {
  json::object truth = json::parse(test::read_fixture("events/customer.updated.json")).at("data").at("object").as_object();
  truth["id"] = "cus_oomreval";
  truth["email"] = "truth@example.com";
  const std::int64_t now = test::unix_now();
  std::atomic<int> fetches{0};
  std::atomic<test::Stack*> stack_ptr{nullptr};
  std::thread restore;
  test::FakeStripe stripe([&](const test::FakeRequest& q) -> test::FakeResponse {
    if (q.method == "GET" && q.path == "/v1/customers/cus_oomreval") {
      if (fetches.fetch_add(1) == 0) {
        // Redis fills up between the batch and the snapshot; it has room again 1.5 s later.
        EXPECT_TRUE(stack_ptr.load()->redis().client()->command({"CONFIG", "SET", "maxmemory", "1"}));
        restore = std::thread([&] {
          std::this_thread::sleep_for(1500ms);  // the length of the fault window, not a wait
          EXPECT_TRUE(stack_ptr.load()->redis().client()->command({"CONFIG", "SET", "maxmemory", "0"}));
        });
      }
      return {200, json::serialize(truth), {{"Date", test::http_date(test::unix_now())}}};
    }
    return {404, test::stripe_error_body("invalid_request_error", "No such thing")};
  });
  test::Stack stack(binaries(), kWebhookSecret, revalidating(stripe));
  struct JoinAtExit {
    std::thread& t;
    ~JoinAtExit() { if (t.joinable()) t.join(); }
  } join_restore{restore};  // before the stack goes, whatever the test's end
  stack_ptr = &stack;
  stack.start_worker();
  std::vector<std::string> events{
      make_event("customer.created.json", "evt_oomreval_1", now - 30, "cus_oomreval"),
      make_event("customer.updated.json", "evt_oomreval_2", now - 20, "cus_oomreval",
                 [](json::object& o) { o["email"] = "a@example.com"; }),
      make_event("customer.updated.json", "evt_oomreval_3", now - 20, "cus_oomreval",
                 [](json::object& o) { o["email"] = "b@example.com"; })};
  for (const auto& e : events) ASSERT_EQ(test::post_webhook(stack.ingress_port(), e, sign(e, kWebhookSecret)).status, 200);
  auto redis = stack.redis().client();
  std::string w;
  ASSERT_TRUE(test::eventually([&] {
    w = scrape(stack.worker_status_port());
    return metric(w, R"(stripe_worker_revalidations_total{outcome="applied"})") == 1;
  }, 60s)) << w << " fetches=" << fetches.load();
  EXPECT_EQ(fetches.load(), 2);  // once refused by Redis, once applied
  EXPECT_GE(metric(w, R"(stripe_worker_redis_retries_total{class="oom"})"), 1);
  EXPECT_EQ(redis->command({"HGET", "stripe:{cus_oomreval}:customer", "email"})->str, "truth@example.com");
  EXPECT_EQ(stack.count_in_worker_logs("event dead-lettered"), 0);
  EXPECT_TRUE(stripe.violations().empty());
}
// Revalidation meeting a broken Stripe (or a proxy in front of it): each malformed answer is a
// failed fetch, counted; the worker keeps going, the event stays durable with its object marked
// for revalidation, and nothing is written from the bad answer.
TEST(Operations, RevalidationTreatsAMalformedAnswerAsAFailedFetch) {
  const std::map<std::string, std::string> html{{"Content-Type", "text/html"}};
  const std::vector<test::FakeResponse> answers{
      {200, "<html><body>Bad gateway</body></html>", html},
      {200, ""},
      {200, R"({"id":"cus_h","object":"custo)"},
      {200, R"({"id":7,"object":"customer","email":[]})"},
      {200, R"({"object":"customer"})"},
      {200, "{\"pad\":\"" + std::string(24 << 20, 'x') + "\"}"},
      {500, "<html>Internal Server Error</html>", html},
  };
  std::mutex mutex;
  std::map<std::string, int> fetches;  // customer -> GETs
  test::FakeStripe stripe([&](const test::FakeRequest& q) -> test::FakeResponse {
    std::lock_guard lock(mutex);
    const std::string prefix = "/v1/customers/cus_hostile";
    if (q.method == "GET" && q.path.rfind(prefix, 0) == 0) {
      ++fetches[q.path];
      test::FakeResponse r = answers.at(static_cast<std::size_t>(std::stoi(q.path.substr(prefix.size()))));
      r.headers["Date"] = test::http_date(test::unix_now());
      return r;
    }
    return {404, test::stripe_error_body("invalid_request_error", "No such thing")};
  });
  test::Stack stack(binaries(), kWebhookSecret, revalidating(stripe));
  stack.start_worker();
  const std::int64_t now = test::unix_now();
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const std::string cus = "cus_hostile" + std::to_string(i);
    for (const auto& e : {make_event("customer.created.json", "evt_h" + std::to_string(i) + "_1", now - 30, cus),
                          make_event("customer.updated.json", "evt_h" + std::to_string(i) + "_2", now - 20, cus,
                                     [](json::object& o) { o["email"] = "a@example.com"; }),
                          make_event("customer.updated.json", "evt_h" + std::to_string(i) + "_3", now - 20, cus,
                                     [](json::object& o) { o["email"] = "b@example.com"; })}) {
      ASSERT_EQ(test::post_webhook(stack.ingress_port(), e, sign(e, kWebhookSecret)).status, 200);
    }
  }
  std::string w;
  ASSERT_TRUE(test::eventually([&] {
    w = scrape(stack.worker_status_port());
    return metric(w, R"(stripe_worker_revalidations_total{outcome="failed"})") == static_cast<double>(answers.size());
  }, 120s)) << w;
  EXPECT_EQ(metric(w, R"(stripe_worker_revalidations_total{outcome="applied"})"), 0);
  EXPECT_LE(metric(w, R"(stripe_worker_events_total{type="customer.updated",outcome="dead_lettered"})"), 0);
  auto redis = stack.redis().client();
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const std::string key = "stripe:{cus_hostile" + std::to_string(i) + "}:customer";
    EXPECT_EQ(redis->command({"HGET", key, "email"})->str, "a@example.com") << i;  // kept: the bad answer wrote nothing
    EXPECT_EQ(redis->command({"HEXISTS", key, "_revalidate"})->integer, 1) << i;
    EXPECT_EQ(redis->command({"XLEN", "stripe:{cus_hostile" + std::to_string(i) + "}:audit"})->integer, 3) << i;
  }
  // What is not a JSON object (HTML, empty, cut, too large, a 500) was retried as a failed
  // attempt; JSON of the wrong shape (3, 4) was answered once and refused when read.
  for (const auto& [path, n] : fetches) {
    bool json_object = path.ends_with("3") || path.ends_with("4");
    if (json_object) EXPECT_EQ(n, 1) << path;
    else EXPECT_GT(n, 1) << path;
  }
  EXPECT_EQ(fetches.size(), answers.size());
  EXPECT_EQ(test::HttpClient(stack.worker_status_port()).get("/healthz").status, 200);
  EXPECT_TRUE(stripe.violations().empty());
}

TEST(Operations, NoLogLineOfAnyProcessCarriesASecret) {
  std::mutex mutex;
  int sessions = 0;
  test::FakeStripe stripe([&](const test::FakeRequest& q) -> test::FakeResponse {
    std::lock_guard lock(mutex);
    if (q.method == "POST" && q.path == "/v1/billing_portal/sessions") {
      ++sessions;
      return {200, json::serialize(json::object{{"id", "bps_leak" + std::to_string(sessions)},
                                                {"object", "billing_portal.session"},
                                                {"customer", q.param("customer")},
                                                {"return_url", q.param("return_url")},
                                                {"url", "https://billing.stripe.com/p/session/test_leak"}})};
    }
    // Anything else fails, loudly: error paths log the most.
    return {401, test::stripe_error_body("invalid_request_error", "Invalid API Key provided: sk_test_****6789")};
  });
  std::string keys_file = ::testing::TempDir() + "leak_api_keys";
  std::ofstream(keys_file) << ingress::sha256_hex(kAppKey) << " app web\n"
                           << ingress::sha256_hex(kAdminKey) << " admin ops\n";
  test::StackOptions options;
  options.ingress_env = {std::string("STRIPE_API_KEY=") + kStripeKey, "STRIPE_API_BASE=" + stripe.base_url(),
                         "API_KEYS_FILE=" + keys_file, std::string("PORTAL_RETURN_SECRET=") + kReturnSecret,
                         "LOG_LEVEL=debug"};
  options.worker_env = {"LOG_LEVEL=debug", "WORKER_REVALIDATE=1", std::string("STRIPE_API_KEY=") + kStripeKey,
                        "STRIPE_API_BASE=" + stripe.base_url()};
  test::Stack stack(binaries(), kWebhookSecret, options);
  stack.start_worker();

  // Webhooks: good, forged, replayed with the secret itself as the signature, a same-second
  // pair the worker revalidates (and Stripe refuses).
  const std::int64_t now = test::unix_now();
  std::string created = make_event("customer.created.json", "evt_leak_1", now - 30, "cus_leak");
  std::string tie_a = make_event("customer.updated.json", "evt_leak_2", now - 20, "cus_leak",
                                 [](json::object& o) { o["email"] = "a@example.com"; });
  std::string tie_b = make_event("customer.updated.json", "evt_leak_3", now - 20, "cus_leak",
                                 [](json::object& o) { o["email"] = "b@example.com"; });
  for (const auto& e : {created, tie_a, tie_b}) {
    ASSERT_EQ(test::post_webhook(stack.ingress_port(), e, sign(e, kWebhookSecret)).status, 200);
  }
  EXPECT_EQ(test::post_webhook(stack.ingress_port(), created, sign(created, "whsec_other")).status, 400);
  EXPECT_EQ(test::post_webhook(stack.ingress_port(), created, std::string("t=1,v1=") + kWebhookSecret).status, 400);
  ASSERT_TRUE(test::eventually([&] { return stack.count_in_worker_logs("evt_leak_3") > 0; }, 60s));

  // Portal: the right key, a wrong one, the admin key where an app key belongs and back.
  auto call = [&](const std::string& method, const std::string& target, const std::string& key, const std::string& body) {
    return test::HttpClient(stack.ingress_port())
        .request(method, target, body, {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}});
  };
  const std::string session = R"({"customer_id":"cus_leak","workflow_type":"billing_review"})";
  EXPECT_EQ(call("POST", "/api/payment/portal/session", kAppKey, session).status, 200);
  EXPECT_EQ(call("POST", "/api/payment/portal/session", std::string(kAppKey) + "x", session).status, 401);
  EXPECT_EQ(call("GET", "/api/payment/portal/configuration", kAppKey, "").status, 403);
  EXPECT_GE(call("GET", "/api/payment/portal/configuration", kAdminKey, "").status, 500);  // Stripe says 401
  EXPECT_GE(call("POST", "/api/payment/customers/cus_leak", kAppKey, R"({"email":"c@example.com"})").status, 400);

  // The CLI: a backfill that Stripe refuses.
  std::string out;
  {
    std::vector<std::string> args{STRIPE_SYNC_CLI, "backfill", "--since", "1h"};
    test::ChildProcess p(args, {"KAFKA_BROKERS=" + stack.bootstrap(), std::string("STRIPE_API_KEY=") + kStripeKey,
                                "STRIPE_API_BASE=" + stripe.base_url(), "LOG_LEVEL=debug"},
                         stack.dir() + "/cli-backfill.log");
    p.close_stdin();
    out = p.read_all_stdout(60s);
    EXPECT_EQ(p.wait(30s), 1);  // Stripe said 401
  }
  EXPECT_EQ(out.find(kStripeKey), std::string::npos);

  auto lines = stack.log_lines();
  // The paths that handle secrets did run and log: rejections, Stripe's refusals, revalidation.
  auto logged = [&](const std::string& text) {
    return std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
  };
  EXPECT_EQ(logged("\"webhook rejected\""), 2);
  EXPECT_GE(logged("\"revalidation failed\""), 1);
  EXPECT_GE(logged("evt_leak_3"), 1);
  int leaks = 0;
  for (const auto& line : lines) {
    for (const char* secret : {kWebhookSecret, kStripeKey, kAppKey, kAdminKey, kReturnSecret}) {
      if (line.find(secret) != std::string::npos || line.find("LEAKCHECK") != std::string::npos) {
        ++leaks;
        ADD_FAILURE() << "a log line carries a secret: " << line;
        break;
      }
    }
  }
  EXPECT_EQ(leaks, 0);
}

}  // namespace
}  // namespace stripe_sync

namespace stripe_sync {
namespace {

// The thin path end to end: notifications signed with the destination's secret go through the
// ingress and the topic; the worker queues one fetch per object in Redis; Stripe is down, the
// worker is SIGKILLed with fetches queued, and a new worker finishes them once Stripe is back.
// A snapshot event older than the fetch, arriving last, changes nothing: the state is Stripe's.
TEST(Operations, ThinNotificationsAreFetchedOncePerObjectAndSurviveStripeDownAndAWorkerKill) {
  std::mutex mutex;
  bool down = true;
  std::map<std::string, int> fetches;
  test::FakeStripe stripe([&](const test::FakeRequest& q) -> test::FakeResponse {
    std::lock_guard lock(mutex);
    ++fetches[q.path];
    if (down) return {503, "<html>maintenance</html>", {{"Content-Type", "text/html"}}};
    const std::string prefix = "/v1/customers/";
    if (q.path.rfind(prefix, 0) != 0) return {404, test::stripe_error_body("invalid_request_error", "No such thing")};
    json::object c = json::parse(test::read_fixture("events/customer.updated.json")).at("data").at("object").as_object();
    c["id"] = q.path.substr(prefix.size());
    c["email"] = q.path.substr(prefix.size()) + "@stripe.example.com";
    return {200, json::serialize(c), {{"Date", test::http_date(test::unix_now())}}};
  });
  test::StackOptions options;
  options.worker_env = {std::string("STRIPE_API_KEY=") + kStripeKey, "STRIPE_API_BASE=" + stripe.base_url()};
  test::Stack stack(binaries(), kWebhookSecret, options);
  stack.start_worker();

  const json::object thin = json::parse(test::read_fixture("thin/thin.v1.customer.updated.json")).as_object();
  constexpr int kCustomers = 10, kEach = 5;
  for (int c = 0; c < kCustomers; ++c) {
    const std::string cus = "cus_thin" + std::to_string(c);
    for (int n = 0; n < kEach; ++n) {
      json::object o = thin;
      o["id"] = "evt_test_thin_" + std::to_string(c) + "_" + std::to_string(n);
      o["related_object"] = json::object{{"id", cus}, {"type", "customer"}, {"url", "/v1/customers/" + cus}};
      std::string body = json::serialize(o);
      ASSERT_EQ(test::post_webhook(stack.ingress_port(), body, sign(body, kWebhookSecret)).status, 200);
    }
  }
  auto redis = stack.redis().client();
  auto queued = [&] {
    auto v = redis->command({"ZCARD", "stripe:{fetch}:due"});
    return v ? v->integer : -1;
  };
  // Every notification consumed, one entry per customer, none applied while Stripe is down.
  ASSERT_TRUE(test::eventually([&] {
    return metric(scrape(stack.worker_status_port()), R"(stripe_worker_thin_notifications_total{outcome="coalesced"})") ==
           kCustomers * (kEach - 1);
  }, 60s));
  EXPECT_EQ(queued(), kCustomers);
  ASSERT_TRUE(test::eventually([&] { return metric(scrape(stack.worker_status_port()), R"(stripe_worker_thin_fetches_total{outcome="failed"})") >= 1; }, 30s));
  stack.kill_worker();  // fetches queued, some leased: nothing may be lost
  {
    std::lock_guard lock(mutex);
    down = false;
  }
  stack.start_worker();
  ASSERT_TRUE(test::eventually([&] { return queued() == 0; }, 90s)) << queued() << " still queued";
  for (int c = 0; c < kCustomers; ++c) {
    const std::string cus = "cus_thin" + std::to_string(c);
    EXPECT_EQ(redis->command({"HGET", "stripe:{" + cus + "}:customer", "email"})->str, cus + "@stripe.example.com");
  }
  {
    std::lock_guard lock(mutex);
    // Fifty notifications: at most a fetch per customer once Stripe was back (plus the failed ones).
    int ok_fetches = 0;
    for (const auto& [path, n] : fetches) ok_fetches += n;
    EXPECT_LE(ok_fetches, kCustomers * kEach);
  }
  EXPECT_TRUE(stripe.violations().empty());
  // The snapshot event of a change before the fetch, delivered last: stale, nothing goes back.
  const std::int64_t old_created = test::unix_now() - 3600;
  std::string old = make_event("customer.updated.json", "evt_thin_old_snapshot", old_created, "cus_thin0",
                               [](json::object& o) { o["email"] = "old@example.com"; });
  ASSERT_EQ(test::post_webhook(stack.ingress_port(), old, sign(old, kWebhookSecret)).status, 200);
  const std::string markers = Keys().markers("cus_thin0", old_created);
  ASSERT_TRUE(test::eventually([&] {
    return redis->command({"HEXISTS", markers, "evt_thin_old_snapshot"})->integer == 1;
  }, 30s));
  EXPECT_EQ(redis->command({"HGET", markers, "evt_thin_old_snapshot"})->str, "s");  // stale
  EXPECT_EQ(redis->command({"HGET", "stripe:{cus_thin0}:customer", "email"})->str, "cus_thin0@stripe.example.com");
  EXPECT_EQ(topic_message_count(stack.bootstrap(), "stripe.events.dlq"), 0);
}


// The dashboard (deploy/grafana/stripe-sync.json) names only series the processes export: both
// are started as deployed (portal on, the worker with a Stripe key), scraped, and the dashboard
// check is run against the scrapes.
TEST(Operations, TheDashboardNamesOnlySeriesTheProcessesExport) {
  test::FakeStripe stripe([](const test::FakeRequest&) -> test::FakeResponse {
    return {404, test::stripe_error_body("invalid_request_error", "No such thing")};
  });
  std::string keys_file = ::testing::TempDir() + "dashboard_api_keys";
  std::ofstream(keys_file) << ingress::sha256_hex(kAppKey) << " app web\n";
  test::StackOptions options;
  options.ingress_env = {std::string("STRIPE_API_KEY=") + kStripeKey, "STRIPE_API_BASE=" + stripe.base_url(),
                         "API_KEYS_FILE=" + keys_file, std::string("PORTAL_RETURN_SECRET=") + kReturnSecret};
  options.worker_env = {std::string("STRIPE_API_KEY=") + kStripeKey, "STRIPE_API_BASE=" + stripe.base_url()};
  test::Stack stack(binaries(), kWebhookSecret, options);
  stack.start_worker();
  // One webhook through, so the worker's partitions are assigned and its lag is reported.
  std::string e = make_event("customer.created.json", "evt_dashboard_1", test::unix_now(), "cus_dashboard");
  ASSERT_EQ(test::post_webhook(stack.ingress_port(), e, sign(e, kWebhookSecret)).status, 200);
  ASSERT_TRUE(test::eventually([&] {
    return scrape(stack.worker_status_port()).find("stripe_worker_consumer_lag{") != std::string::npos;
  }, 60s));
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "dashboard_ingress.prom") << scrape(stack.ingress_port());
  std::ofstream(dir + "dashboard_worker.prom") << scrape(stack.worker_status_port());
  const std::string root = std::string(STRIPE_SYNC_SCHEMAS_DIR) + "/..";
  const std::string command = "/usr/bin/python3 " + std::string(STRIPE_SYNC_FIXTURES_DIR) +
                              "/../deploy/check_dashboard.py " + root + " --scrape " + dir +
                              "dashboard_ingress.prom --scrape " + dir + "dashboard_worker.prom > " + dir +
                              "dashboard_check.txt 2>&1";
  int status = std::system(command.c_str());
  std::ifstream report(dir + "dashboard_check.txt");
  std::string text((std::istreambuf_iterator<char>(report)), std::istreambuf_iterator<char>());
  EXPECT_EQ(status, 0) << text;
  EXPECT_NE(text.find("against 2 scrapes: 0 problems"), std::string::npos) << text;
}

// stripe-sync backfill --thin: pages GET /v2/core/events by next_page_url, produces each event as
// a thin notification, and the worker fetches each object; a second run queues nothing (every
// notification id was queued before).
TEST(Operations, ThinBackfillFollowsNextPageUrlAndARepeatFetchesNothing) {
  const json::object thin = json::parse(test::read_fixture("thin/thin.v1.customer.updated.json")).as_object();
  constexpr int kCustomers = 15, kEach = 3, kPage = 20;
  std::vector<json::object> events;  // newest first, as a list answers
  for (int n = kEach - 1; n >= 0; --n) {
    for (int c = 0; c < kCustomers; ++c) {
      const std::string cus = "cus_tbf" + std::to_string(c);
      json::object o = thin;
      o["id"] = "evt_test_tbf_" + std::to_string(c) + "_" + std::to_string(n);
      o["created"] = rfc3339_utc_ms((test::unix_now() - 600 + n) * 1000);
      o["related_object"] = json::object{{"id", cus}, {"type", "customer"}, {"url", "/v1/customers/" + cus}};
      events.push_back(std::move(o));
    }
  }
  std::mutex mutex;
  std::map<std::string, int> fetches;
  std::vector<std::string> created_gte;
  test::FakeStripe stripe([&](const test::FakeRequest& q) -> test::FakeResponse {
    std::lock_guard lock(mutex);
    const std::string date = test::http_date(test::unix_now());
    if (q.path == "/v2/core/events") {
      std::size_t from = q.param("page").empty() ? 0 : std::stoul(q.param("page"));
      if (from == 0) created_gte.push_back(q.param("created[gte]"));
      json::array data;
      for (std::size_t i = from; i < events.size() && data.size() < kPage; ++i) data.push_back(events[i]);
      json::value next = from + kPage < events.size() ? json::value("/v2/core/events?page=" + std::to_string(from + kPage))
                                                      : json::value(nullptr);
      return {200, json::serialize(json::object{{"data", data}, {"next_page_url", next}, {"previous_page_url", nullptr}}),
              {{"Date", date}}};
    }
    ++fetches[q.path];
    const std::string prefix = "/v1/customers/";
    if (q.path.rfind(prefix, 0) != 0) return {404, test::stripe_error_body("invalid_request_error", "No such thing")};
    json::object c = json::parse(test::read_fixture("events/customer.updated.json")).at("data").at("object").as_object();
    c["id"] = q.path.substr(prefix.size());
    c["email"] = q.path.substr(prefix.size()) + "@backfilled.example.com";
    return {200, json::serialize(c), {{"Date", date}}};
  });
  test::StackOptions options;
  options.worker_env = {std::string("STRIPE_API_KEY=") + kStripeKey, "STRIPE_API_BASE=" + stripe.base_url()};
  test::Stack stack(binaries(), kWebhookSecret, options);
  stack.start_worker();
  const std::vector<std::string> env{std::string("STRIPE_API_KEY=") + kStripeKey, "STRIPE_API_BASE=" + stripe.base_url()};
  std::string out = stack.cli({"backfill", "--thin", "--since", "2h"}, env);
  EXPECT_NE(out.find("backfill: 45 events listed, 45 produced, 0 failed, 0 unreadable, 3 page(s)"), std::string::npos) << out;
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(created_gte.size(), 1u);
    // An RFC 3339 time (what v2 takes), two hours back.
    bool two_hours_back = false;
    for (std::int64_t t = test::unix_now() - 7260; t <= test::unix_now() - 7140; ++t)
      two_hours_back = two_hours_back || rfc3339_utc_ms(t * 1000) == created_gte[0];
    EXPECT_TRUE(two_hours_back) << created_gte[0];
  }
  auto produced = read_topic(stack.bootstrap(), "stripe.events");
  ASSERT_EQ(produced.size(), 45u);
  for (const auto& m : produced) {
    EXPECT_EQ(m.header("source"), "thin");
    EXPECT_EQ(m.header("stripe-thin-type"), "v1.customer.updated");
    EXPECT_EQ(m.key, m.header("stripe-related-object"));
  }
  auto redis = stack.redis().client();
  auto thin_total = [&](const char* outcome) {
    return metric(scrape(stack.worker_status_port()),
                  std::string("stripe_worker_thin_notifications_total{outcome=\"") + outcome + "\"}");
  };
  ASSERT_TRUE(test::eventually([&] {
    return redis->command({"ZCARD", "stripe:{fetch}:due"})->integer == 0 &&
           thin_total("queued") + thin_total("coalesced") == kCustomers * kEach;
  }, 60s)) << scrape(stack.worker_status_port());
  for (int c = 0; c < kCustomers; ++c) {
    const std::string cus = "cus_tbf" + std::to_string(c);
    EXPECT_EQ(redis->command({"HGET", "stripe:{" + cus + "}:customer", "email"})->str, cus + "@backfilled.example.com");
  }
  int first_fetches = 0;
  {
    std::lock_guard lock(mutex);
    for (const auto& [path, n] : fetches) first_fetches += n;
  }
  EXPECT_GE(first_fetches, kCustomers);
  EXPECT_LE(first_fetches, kCustomers * kEach);

  // Again: every notification id was queued before, so nothing is fetched.
  out = stack.cli({"backfill", "--thin", "--since", "2h"}, env);
  EXPECT_NE(out.find("45 produced, 0 failed"), std::string::npos) << out;
  ASSERT_TRUE(test::eventually([&] { return thin_total("duplicate") == kCustomers * kEach; }, 60s))
      << scrape(stack.worker_status_port());
  EXPECT_EQ(redis->command({"ZCARD", "stripe:{fetch}:due"})->integer, 0);
  {
    std::lock_guard lock(mutex);
    int total = 0;
    for (const auto& [path, n] : fetches) total += n;
    EXPECT_EQ(total, first_fetches);
  }
  EXPECT_TRUE(stripe.violations().empty()) << stripe.violations().front();
  EXPECT_EQ(topic_message_count(stack.bootstrap(), "stripe.events.dlq"), 0);
}

}  // namespace
}  // namespace stripe_sync
