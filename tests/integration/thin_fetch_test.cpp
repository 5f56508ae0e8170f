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
    const std::string prefix = "/v1/customers/";
    std::string id = q.path.substr(prefix.size());
    if (gone_.count(id)) return {404, test::stripe_error_body("invalid_request_error", "No such customer", "resource_missing"), {{"Date", test::http_date(test::unix_now())}}};
    json::object c = json::parse(test::read_fixture("events/customer.updated.json")).at("data").at("object").as_object();
    c["id"] = id;
    c["email"] = id + "@now.example.com";
    last_context_ = q.headers.count("stripe-context") ? q.headers.at("stripe-context") : "";
    return {200, json::serialize(c), {{"Date", test::http_date(test::unix_now())}}};
  }

  void enqueue(const Envelope& env, int times) {
    auto client = redis_.client();
    FetchQueue queue(*client, keys_);
    auto request = fetch_request_of(env);
    ASSERT_TRUE(request);
    for (int i = 0; i < times; ++i) {
      auto a = queue.enqueue_command(*request, test::unix_now() * 1000);
      auto v = client->command(std::vector<std::string_view>(a.begin(), a.end()));
      ASSERT_TRUE(v && !v->is_error());
    }
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
  test::FakeStripe fake_;
  std::unique_ptr<StripeClient> stripe_client_;  // made by fetcher(), once the fake listens
};

TEST_F(ThinFetch, FiftyNotificationsForOneObjectCostOneFetchAndItIsApplied) {
  enqueue(thin_for("cus_burst"), 50);
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
