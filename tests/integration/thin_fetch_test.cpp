// The thin path's fetch queue and fetcher, against a real redis-server and the stand-in Stripe:
// coalescing, a notification during a fetch, Stripe down then back, a 404, a connected account.
#include "worker/thin_fetcher.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <atomic>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/billing/envelope.hpp"
#include "common/billing/fetch_queue.hpp"
#include "common/core/metrics.hpp"
#include "tests/support/fake_stripe.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/record_log.hpp"
#include "tests/support/redis_server.hpp"

namespace stripe_sync::worker {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;


// The thin fixture, naming another customer (and context) when asked.
Envelope thin_for(const std::string& customer, const std::string& context = {}) {
  json::object o = json::parse(test::read_fixture("thin/thin.v1.customer.updated.json")).as_object();
  o["related_object"] = json::object{{"id", customer}, {"type", "customer"}, {"url", "/v1/customers/" + customer}};
  if (!context.empty()) o["context"] = context;
  Envelope env;
  EXPECT_TRUE(read_envelope(json::serialize(o), env));
  return env;
}

class ThinFetch : public ::testing::Test {
 protected:
  ThinFetch() : pool_(redis_.endpoint(), 2s), metrics_(registry_), fake_([this](const test::FakeRequest& q) { return answer(q); }) {}

  test::FakeResponse answer(const test::FakeRequest& q) {
    std::lock_guard lock(mutex_);
    ++fetches_[q.path];
    if (during_fetch_) during_fetch_();
    if (down_) return {500, "<html>bad gateway</html>", {{"Content-Type", "text/html"}}};
    if (q.path.rfind("/v2/core/events/", 0) == 0) {
      // The entitlement notification's event. Its fields beyond the notification's are not in
      // Stripe's published types: the customer is where v1.invoice.upcoming's event has it.
      json::object e = json::parse(test::read_fixture("thin/thin.v1.customer.updated.json")).as_object();
      e["id"] = q.path.substr(std::string("/v2/core/events/").size());
      e["type"] = "v1.entitlements.active_entitlement_summary.updated";
      e.erase("related_object");
      if (event_customer_) e["data"] = json::object{{"customer", *event_customer_}};
      return {200, json::serialize(e), {{"Date", test::http_date(test::unix_now())}}};
    }
    if (q.path == "/v1/entitlements/active_entitlements") {
      json::object summary = json::parse(test::read_fixture("events/entitlements.active_entitlement_summary.updated.json"))
                                 .at("data").at("object").as_object();
      json::object list = summary.at("entitlements").as_object();
      list["url"] = "/v1/entitlements/active_entitlements";
      entitlement_customer_ = q.param("customer");
      return {200, json::serialize(list), {{"Date", test::http_date(test::unix_now())}}};
    }
    const std::string prefix = "/v1/customers/";
    std::string id = q.path.substr(prefix.size());
    if (gone_.count(id)) return {404, test::stripe_error_body("invalid_request_error", "No such customer", "resource_missing"), {{"Date", test::http_date(test::unix_now())}}};
    json::object c = json::parse(test::read_fixture("events/customer.updated.json")).at("data").at("object").as_object();
    c["id"] = id;
    c["email"] = id + "@now.example.com";
    last_context_ = q.headers.count("stripe-context") ? q.headers.at("stripe-context") : "";
    return {200, json::serialize(c), {{"Date", test::http_date(test::unix_now())}}};
  }

  // `times` notifications of the object env names, each with its own notification id (as
  // Stripe sends them); the replies of the enqueues.
  std::vector<long long> enqueue(const Envelope& env, int times) {
    auto client = redis_.client();
    FetchQueue queue(*client, keys_);
    auto request = fetch_request_of(env);
    EXPECT_TRUE(request);
    std::vector<long long> replies;
    for (int i = 0; request && i < times; ++i) {
      request->notification = env.id + "_" + std::to_string(++notifications_);
      auto a = queue.enqueue_command(*request, test::unix_now() * 1000, 3600);
      auto v = client->command(std::vector<std::string_view>(a.begin(), a.end()));
      EXPECT_TRUE(v && !v->is_error());
      replies.push_back(v ? v->integer : -1);
    }
    return replies;
  }

  std::unique_ptr<ThinFetcher> fetcher(ThinFetcherOptions o = {}) {
    StripeClientConfig c;
    c.api_base = fake_.base_url();
    c.api_key = Secret("sk_test_thin");
    c.max_retries = 0;
    stripe_client_ = std::make_unique<StripeClient>(c);
    return std::make_unique<ThinFetcher>(*stripe_client_, pool_, store_, metrics_, o);
  }

  std::string hget(const std::string& key, const std::string& field) {
    auto v = redis_.client()->command({"HGET", key, field});
    return v ? v->str : "<io error>";
  }
  long long queued() { return redis_.client()->command({"ZCARD", keys_.fetch_due()})->integer; }
  int fetches(const std::string& path) {
    std::lock_guard lock(mutex_);
    return fetches_[path];
  }

  test::RedisServer redis_;
  RedisPool pool_;
  StoreConfig store_;
  Keys keys_;
  metrics::Registry registry_;
  WorkerMetrics metrics_;
  std::mutex mutex_;
  std::map<std::string, int> fetches_;
  std::set<std::string> gone_;
  bool down_ = false;
  std::function<void()> during_fetch_;
  std::string last_context_;
  std::atomic<int> notifications_{0};
  std::optional<std::string> event_customer_ = "cus_ent";
  std::string entitlement_customer_;
  test::FakeStripe fake_;
  std::unique_ptr<StripeClient> stripe_client_;  // made by fetcher(), once the fake listens
};

TEST_F(ThinFetch, FiftyNotificationsForOneObjectCostOneFetchAndItIsApplied) {
  auto replies = enqueue(thin_for("cus_burst"), 50);
  ASSERT_EQ(replies.size(), 50u);
  EXPECT_EQ(replies.front(), 1);  // the first queues, the other 49 coalesce
  EXPECT_EQ(replies.back(), 50);
  EXPECT_EQ(queued(), 1);
  auto f = fetcher();
  EXPECT_EQ(f->run_once(), 1);
  EXPECT_EQ(fetches("/v1/customers/cus_burst"), 1);
  EXPECT_EQ(hget("stripe:{cus_burst}:customer", "email"), "cus_burst@now.example.com");
  EXPECT_EQ(queued(), 0);
  // The audit says where it came from.
  auto audit = redis_.client()->command({"XRANGE", "stripe:{cus_burst}:audit", "-", "+"});
  ASSERT_EQ(audit->elements.size(), 1u);
  std::string source;
  const auto& kv = audit->elements[0].elements[1].elements;
  for (std::size_t i = 0; i + 1 < kv.size(); i += 2)
    if (kv[i].str == "source") source = kv[i + 1].str;
  EXPECT_EQ(source, "thin");
  EXPECT_NE(registry_.render().find("stripe_worker_thin_fetches_total{outcome=\"applied\"} 1"), std::string::npos);
  EXPECT_TRUE(fake_.violations().empty()) << fake_.violations().front();
}

TEST_F(ThinFetch, ANotificationDeliveredTwiceIsQueuedOnce) {
  Envelope env = thin_for("cus_twice");
  auto request = fetch_request_of(env);
  ASSERT_TRUE(request);
  EXPECT_EQ(request->notification, env.id);
  auto client = redis_.client();
  FetchQueue queue(*client, keys_);
  auto send = [&] {
    auto a = queue.enqueue_command(*request, test::unix_now() * 1000, 3600);
    return client->command(std::vector<std::string_view>(a.begin(), a.end()))->integer;
  };
  EXPECT_EQ(send(), 1);  // queued
  EXPECT_EQ(send(), 0);  // the same notification again: a duplicate, the entry not counted again
  EXPECT_EQ(client->command({"HGET", keys_.fetch_seq(), request->entry})->str, "1");
  // Fetched and done: a late redelivery of the same notification still fetches nothing.
  auto f = fetcher();
  EXPECT_EQ(f->run_once(), 1);
  EXPECT_EQ(queued(), 0);
  EXPECT_EQ(send(), 0);
  EXPECT_EQ(queued(), 0);
  EXPECT_EQ(fetches("/v1/customers/cus_twice"), 1);
  // Another notification of the same object is news.
  EXPECT_EQ(enqueue(env, 1), std::vector<long long>{1});
  EXPECT_GT(client->command({"TTL", keys_.fetch_notification(env.id)})->integer, 3500);
}

// An entitlement notification names no related object: its event is fetched for the customer,
// then the customer's active entitlements, applied as the summary through the one apply path.
TEST_F(ThinFetch, AnEntitlementNotificationFetchesItsEventThenTheCustomersEntitlements) {
  json::object o = json::parse(test::read_fixture("thin/thin.v1.customer.updated.json")).as_object();
  o["id"] = "evt_test_ent_1";
  o["type"] = "v1.entitlements.active_entitlement_summary.updated";
  o.erase("related_object");
  Envelope env;
  ASSERT_TRUE(read_envelope(json::serialize(o), env));
  auto request = fetch_request_of(env);
  ASSERT_TRUE(request);
  EXPECT_EQ(request->url, "/v2/core/events/evt_test_ent_1");
  EXPECT_EQ(request->type, kFetchEventType);
  enqueue(env, 1);
  auto f = fetcher();
  EXPECT_EQ(f->run_once(), 1);
  EXPECT_EQ(fetches("/v2/core/events/evt_test_ent_1"), 1);
  EXPECT_EQ(fetches("/v1/entitlements/active_entitlements"), 1);
  {
    std::lock_guard lock(mutex_);
    EXPECT_EQ(entitlement_customer_, "cus_ent");
  }
  auto active = redis_.client()->command({"SMEMBERS", keys_.entitlement_keys("cus_ent")});
  ASSERT_TRUE(active);
  std::set<std::string> keys;
  for (const auto& m : active->elements) keys.insert(m.str);
  EXPECT_EQ(keys, (std::set<std::string>{"priority-support", "advanced-reports"}));
  EXPECT_EQ(queued(), 0);
  EXPECT_TRUE(fake_.violations().empty()) << fake_.violations().front();

  // An event that names no customer can never be applied: dropped, not retried for ever.
  event_customer_.reset();
  o["id"] = "evt_test_ent_2";
  ASSERT_TRUE(read_envelope(json::serialize(o), env));
  enqueue(env, 1);
  EXPECT_EQ(f->run_once(), 1);
  EXPECT_EQ(queued(), 0);
  EXPECT_EQ(fetches("/v1/entitlements/active_entitlements"), 1);
  EXPECT_NE(registry_.render().find("stripe_worker_thin_fetches_total{outcome=\"dropped\"} 1"), std::string::npos);
}

TEST_F(ThinFetch, ANotificationDuringTheFetchMeansAnotherFetch) {
  enqueue(thin_for("cus_during"), 1);
  bool once = false;
  during_fetch_ = [&] {
    if (once) return;
    once = true;
    // Stripe's object may have moved after this answer was made: the entry must stay.
    std::thread([&] { enqueue(thin_for("cus_during"), 1); }).join();
  };
  auto f = fetcher();
  EXPECT_EQ(f->run_once(), 1);
  EXPECT_EQ(queued(), 1);  // notified again while fetching: due again
  EXPECT_EQ(f->run_once(), 1);
  EXPECT_EQ(queued(), 0);
  EXPECT_EQ(fetches("/v1/customers/cus_during"), 2);
}

TEST_F(ThinFetch, StripeDownKeepsEveryEntryQueuedUntilItIsBack) {
  for (int i = 0; i < 5; ++i) enqueue(thin_for("cus_down" + std::to_string(i)), 3);
  down_ = true;
  ThinFetcherOptions o;
  o.backoff_base = 100ms;
  o.backoff_max = 400ms;
  auto f = fetcher(o);
  f->start();
  ASSERT_TRUE(test::eventually([&] { return fetches("/v1/customers/cus_down0") >= 3; }, 20s));
  EXPECT_EQ(queued(), 5);  // failed fetches stay, with a backoff
  EXPECT_EQ(hget("stripe:{cus_down0}:customer", "email"), "");
  {
    std::lock_guard lock(mutex_);
    down_ = false;
  }
  ASSERT_TRUE(test::eventually([&] { return queued() == 0; }, 20s));
  f->stop();
  for (int i = 0; i < 5; ++i) {
    std::string c = "cus_down" + std::to_string(i);
    EXPECT_EQ(hget("stripe:{" + c + "}:customer", "email"), c + "@now.example.com");
  }
  EXPECT_NE(registry_.render().find("stripe_worker_thin_fetches_total{outcome=\"failed\"}"), std::string::npos);
}

TEST_F(ThinFetch, A404IsATombstoneAndAContextIsSentAndKeysTheRecord) {
  gone_.insert("cus_gone");
  enqueue(thin_for("cus_gone"), 1);
  enqueue(thin_for("cus_conn", "acct_1Connected"), 1);
  auto f = fetcher();
  EXPECT_EQ(f->run_once(), 2);
  EXPECT_EQ(hget("stripe:{cus_gone}:customer", "deleted"), "1");
  EXPECT_EQ(last_context_, "acct_1Connected");
  EXPECT_EQ(hget("stripe:{acct_1Connected/cus_conn}:customer", "email"), "cus_conn@now.example.com");
  EXPECT_EQ(queued(), 0);
  test::record_redis_records(*redis_.client());
}

TEST_F(ThinFetch, AClaimedEntryThatIsNeverFinishedComesBackWhenItsLeaseEnds) {
  enqueue(thin_for("cus_lease"), 1);
  auto client = redis_.client();
  FetchQueue queue(*client, keys_);
  auto claimed = queue.claim(test::unix_now() * 1000, 60000, 10);  // a worker that then dies
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 1u);
  auto f = fetcher();
  EXPECT_EQ(f->run_once(), 0);  // leased to the dead worker for a minute
  EXPECT_EQ(fetches("/v1/customers/cus_lease"), 0);
  // The minute passes (the lease is the entry's due time).
  auto due = client->command({"ZSCORE", keys_.fetch_due(), claimed->front().request.entry});
  ASSERT_TRUE(due);
  ASSERT_GT(std::stoll(due->str), test::unix_now() * 1000 + 50000);
  ASSERT_EQ(client->command({"ZADD", keys_.fetch_due(), "XX", std::to_string(test::unix_now() * 1000 - 1),
                              claimed->front().request.entry})->integer, 0);
  EXPECT_EQ(f->run_once(), 1);
  EXPECT_EQ(hget("stripe:{cus_lease}:customer", "email"), "cus_lease@now.example.com");
  EXPECT_EQ(queued(), 0);
}

}  // namespace
}  // namespace stripe_sync::worker
