// End to end: broker, redis-server, stripe-ingress and stripe-worker as processes; events sent
// as Stripe sends them (signed, shuffled, some twice) and the final Redis state checked against
// a model computed from the event list alone.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <random>
#include <thread>

#include "common/stripe/signature.hpp"
#include "common/kafka/topic_reader.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/record_log.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/stack.hpp"

namespace stripe_sync {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kSecret = "whsec_e2e_pipeline";

test::StackBinaries binaries() { return {STRIPE_SYNC_CLI, STRIPE_INGRESS_BIN, STRIPE_WORKER_BIN}; }

struct Event {
  std::string id, customer, object_key, body;
  std::int64_t stamp;
  bool ignored = false;
  std::map<std::string, std::string> expect;  // stored fields this event sets
  std::optional<bool> live;                   // index membership it implies, if indexed
  std::optional<std::vector<std::string>> members;  // an entitlement summary: the active set
};

// Builds Stripe-shaped events from the fixtures, changing ids, times and the fields we check.
class EventFactory {
 public:
  Event make(const std::string& fixture, const std::string& type, const std::string& evt,
             std::int64_t created, const std::string& customer,
             const std::function<void(json::object& obj, json::object& data)>& edit) {
    json::object ev = template_of(fixture);
    ev["id"] = evt;
    ev["type"] = type;
    ev["created"] = created;
    json::object& data = ev["data"].as_object();
    data.erase("previous_attributes");
    json::object& obj = data["object"].as_object();
    edit(obj, data);
    Event e;
    e.id = evt;
    e.customer = customer;
    e.body = json::serialize(ev);
    int rank = type.ends_with(".created") ? 1 : (type.ends_with(".deleted") || type == "payment_method.detached") ? 3 : 2;
    e.stamp = created * 10 + rank;
    return e;
  }

 private:
  json::object template_of(const std::string& fixture) {
    auto it = cache_.find(fixture);
    if (it == cache_.end()) {
      it = cache_.emplace(fixture, json::parse(test::read_fixture("events/" + fixture)).as_object()).first;
    }
    return it->second;
  }
  std::map<std::string, json::object> cache_;
};

// Twenty-six events a customer: its life (created, five updates, a last update), a card attached
// and updated twice, a card attached then detached, a subscription created and updated three
// times, one created, updated and deleted, an event type the worker does not keep, an invoice
// from draft to paid, and two entitlement summaries; every tenth customer also has a price
// (created, updated) and a deleted product, keyed by their own ids.
std::vector<Event> generate(int customers) {
  EventFactory f;
  std::vector<Event> out;
  for (int c = 0; c < customers; ++c) {
    const std::string cus = "cus_e2e" + std::to_string(c);
    const std::int64_t t0 = 1795500000 + c * 100;
    int n = 0;
    auto evt = [&] { return "evt_" + std::to_string(c) + "_" + std::to_string(n++); };
    auto customer_event = [&](const std::string& type, std::int64_t t, const std::string& email,
                              const std::string& previous_email) {
      Event e = f.make(type == "customer.created" ? "customer.created.json" : "customer.updated.json", type, evt(), t, cus,
                       [&](json::object& o, json::object& d) {
                         o["id"] = cus;
                         o["email"] = email;
                         if (!previous_email.empty()) d["previous_attributes"] = json::object{{"email", previous_email}};
                       });
      e.object_key = "customer";
      e.expect = {{"email", email}};
      return e;
    };
    std::string email = cus + "-v0@example.com";
    out.push_back(customer_event("customer.created", t0, email, ""));
    for (int k = 1; k <= 5; ++k) {
      std::string next = cus + "-v" + std::to_string(k) + "@example.com";
      out.push_back(customer_event("customer.updated", t0 + k, next, email));
      email = next;
    }
    auto pm_event = [&](const std::string& pm, const std::string& type, std::int64_t t, int exp_month, int previous) {
      std::string fixture = type == "payment_method.attached" ? "payment_method.attached.json"
                            : type == "payment_method.detached" ? "payment_method.detached.json"
                                                                : "payment_method.updated.json";
      bool detached = type == "payment_method.detached";
      Event e = f.make(fixture, type, evt(), t, cus, [&](json::object& o, json::object& d) {
        o["id"] = pm;
        o["customer"] = detached ? json::value(nullptr) : json::value(cus);
        o["card"].as_object()["exp_month"] = exp_month;
        if (detached) d["previous_attributes"] = json::object{{"customer", cus}};
        else if (previous) d["previous_attributes"] = json::object{{"card", json::object{{"exp_month", previous}}}};
      });
      e.object_key = "payment_method:" + pm;
      e.expect = {{"card_exp_month", std::to_string(exp_month)}, {"deleted", detached ? "1" : "0"}};
      e.live = !detached;
      return e;
    };
    std::string pm_a = "pm_e2e" + std::to_string(c) + "a", pm_b = "pm_e2e" + std::to_string(c) + "b";
    out.push_back(pm_event(pm_a, "payment_method.attached", t0 + 6, 1, 0));
    out.push_back(pm_event(pm_a, "payment_method.updated", t0 + 7, 2, 1));
    out.push_back(pm_event(pm_a, "payment_method.updated", t0 + 8, 3, 2));
    out.push_back(pm_event(pm_b, "payment_method.attached", t0 + 9, 5, 0));
    out.push_back(pm_event(pm_b, "payment_method.detached", t0 + 10, 5, 0));
    auto sub_event = [&](const std::string& sub, const std::string& type, std::int64_t t,
                         const std::string& status, const std::string& previous) {
      std::string fixture = type == "customer.subscription.created" ? "customer.subscription.created.json"
                            : type == "customer.subscription.deleted" ? "customer.subscription.deleted.json"
                                                                      : "customer.subscription.updated.json";
      Event e = f.make(fixture, type, evt(), t, cus, [&](json::object& o, json::object& d) {
        o["id"] = sub;
        o["customer"] = cus;
        o["status"] = status;
        if (!previous.empty()) d["previous_attributes"] = json::object{{"status", previous}};
      });
      bool deleted = type == "customer.subscription.deleted";
      e.object_key = "subscription:" + sub;
      e.expect = {{"status", status}, {"deleted", deleted ? "1" : "0"}};
      e.live = !deleted && status != "canceled";
      return e;
    };
    std::string s1 = "sub_e2e" + std::to_string(c) + "a", s2 = "sub_e2e" + std::to_string(c) + "b";
    out.push_back(sub_event(s1, "customer.subscription.created", t0 + 11, "trialing", ""));
    out.push_back(sub_event(s1, "customer.subscription.updated", t0 + 12, "active", "trialing"));
    out.push_back(sub_event(s1, "customer.subscription.updated", t0 + 13, "past_due", "active"));
    out.push_back(sub_event(s1, "customer.subscription.updated", t0 + 14, "active", "past_due"));
    out.push_back(sub_event(s2, "customer.subscription.created", t0 + 15, "active", ""));
    out.push_back(sub_event(s2, "customer.subscription.updated", t0 + 16, "past_due", "active"));
    out.push_back(sub_event(s2, "customer.subscription.deleted", t0 + 17, "canceled", "past_due"));
    // A type the worker does not keep.
    Event ignored = f.make("invoice.paid.json", "invoiceitem.created", evt(), t0 + 18, cus,
                           [&](json::object& o, json::object&) { o["customer"] = cus; });
    ignored.ignored = true;
    out.push_back(ignored);
    std::string last = cus + "-final@example.com";
    out.push_back(customer_event("customer.updated", t0 + 19, last, email));

    // An invoice's life, draft to paid; in any order its last status wins. Its rank is its
    // status (draft 1, open 2, paid 4), as event_extract.cpp's invoice_rank says.
    const std::string in = "in_e2e" + std::to_string(c);
    auto invoice_event = [&](const std::string& type, std::int64_t t, const std::string& status, int rank,
                             int attempts) {
      Event e = f.make("invoice.finalized.json", type, evt(), t, cus, [&](json::object& o, json::object&) {
        o["id"] = in;
        o["customer"] = cus;
        o["status"] = status;
        o["attempt_count"] = attempts;
        o["created"] = t0 + 20;
      });
      e.stamp = t * 10 + rank;
      e.object_key = "invoice:" + in;
      e.expect = {{"status", status}, {"attempt_count", std::to_string(attempts)}, {"deleted", "0"}};
      return e;
    };
    out.push_back(invoice_event("invoice.created", t0 + 20, "draft", 1, 0));
    out.push_back(invoice_event("invoice.finalized", t0 + 21, "open", 2, 0));
    out.push_back(invoice_event("invoice.payment_failed", t0 + 22, "open", 2, 1));
    out.push_back(invoice_event("invoice.paid", t0 + 23, "paid", 4, 2));
    // The active entitlements, twice: the newer set wins.
    auto entitlements_event = [&](std::int64_t t, const std::vector<std::string>& keys) {
      Event e = f.make("entitlements.active_entitlement_summary.updated.json",
                       "entitlements.active_entitlement_summary.updated", evt(), t, cus,
                       [&](json::object& o, json::object&) {
                         o["customer"] = cus;
                         json::array data;
                         for (const auto& k : keys) {
                           data.push_back(json::object{{"id", "ent_" + k}, {"object", "entitlements.active_entitlement"},
                                                       {"feature", "feat_" + k}, {"livemode", false}, {"lookup_key", k}});
                         }
                         o["entitlements"].as_object()["data"] = data;
                       });
      e.object_key = "entitlements";
      std::string list = "[";
      for (std::size_t i = 0; i < keys.size(); ++i) list += (i ? ",\"" : "\"") + keys[i] + "\"";
      e.expect = {{"lookup_keys", list + "]"}};
      e.members = keys;
      return e;
    };
    out.push_back(entitlements_event(t0 + 20, {"basic"}));
    out.push_back(entitlements_event(t0 + 24, {"basic", "reports-" + std::to_string(c)}));
    // Every tenth customer's plan: a price and a product, account-wide, keyed by their own id.
    if (c % 10 == 0) {
      const std::string price = "price_e2e" + std::to_string(c), product = "prod_e2e" + std::to_string(c);
      for (int k = 0; k < 2; ++k) {
        const std::string nickname = "Plan " + std::to_string(c) + " v" + std::to_string(k);
        Event e = f.make("price.updated.json", k == 0 ? "price.created" : "price.updated", evt(), t0 + 25 + k, price,
                         [&](json::object& o, json::object&) {
                           o["id"] = price;
                           o["product"] = product;
                           o["nickname"] = nickname;
                         });
        e.object_key = "price";
        e.expect = {{"nickname", nickname}, {"product", product}, {"deleted", "0"}};
        out.push_back(e);
      }
      Event e = f.make("product.updated.json", "product.deleted", evt(), t0 + 27, product,
                       [&](json::object& o, json::object&) { o["id"] = product; });
      e.object_key = "product";
      e.expect = {{"deleted", "1"}};
      out.push_back(e);
    }
  }
  return out;
}

// The model: per object, the fields of its newest event (highest stamp); per customer, one
// audit entry per distinct event the worker keeps.
struct Model {
  std::map<std::string, std::map<std::string, const Event*>> newest;  // customer -> object -> event
  std::map<std::string, int> audit_entries;
  int total_audit = 0;
};

Model model_of(const std::vector<Event>& events) {
  Model m;
  for (const auto& e : events) {
    if (e.ignored) continue;
    const Event*& slot = m.newest[e.customer][e.object_key];
    if (!slot || e.stamp > slot->stamp) slot = &e;
    m.audit_entries[e.customer]++;
    m.total_audit++;
  }
  return m;
}

// What gets sent: every event once, 20% of them a second time, shuffled.
std::vector<const Event*> send_plan(const std::vector<Event>& events, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<const Event*> plan;
  for (const auto& e : events) plan.push_back(&e);
  std::uniform_int_distribution<std::size_t> pick(0, events.size() - 1);
  for (std::size_t i = 0; i < events.size() / 5; ++i) plan.push_back(&events[pick(rng)]);
  std::shuffle(plan.begin(), plan.end(), rng);
  return plan;
}

class Pipeline : public ::testing::Test {
 protected:
  // On one redis-server, or (PipelineOnCluster) on a Redis Cluster of six named by one node.
  explicit Pipeline(bool redis_cluster = false) {
    test::StackOptions options;
    options.redis_cluster = redis_cluster;
    if (redis_cluster) options.worker_env = {"REDIS_WAIT_REPLICAS=1"};
    stack_ = std::make_unique<test::Stack>(binaries(), kSecret, options);
  }

  // Sends the plan over `connections` keep-alive connections, at most `per_second` requests a
  // second in all when given (load shaping, so that faults land mid-stream); returns how many
  // got 200.
  int send(const std::vector<const Event*>& plan, int connections, std::atomic<int>& progress,
           int per_second = 0) {
    const auto started = std::chrono::steady_clock::now();
    std::atomic<int> ok{0};
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < connections; ++t) {
      threads.emplace_back([&] {
        auto client = std::make_unique<test::HttpClient>(stack_->ingress_port());
        std::vector<std::string> secrets{kSecret};
        for (std::size_t i = next++; i < plan.size(); i = next++) {
          if (per_second > 0) std::this_thread::sleep_until(started + std::chrono::microseconds(i * 1000000 / per_second));
          const std::string& body = plan[i]->body;
          for (int attempt = 0; attempt < 5; ++attempt) {  // as Stripe does: retry what was not 200
            try {
              auto res = client->request("POST", "/webhooks/stripe", body,
                                         {{"Content-Type", "application/json"},
                                          {"Stripe-Signature", sign_payload(body, secrets, test::unix_now())}});
              if (res.status == 200) {
                ok++;
                break;
              }
            } catch (const std::exception&) {
              client = std::make_unique<test::HttpClient>(stack_->ingress_port());
            }
          }
          progress++;
        }
      });
    }
    for (auto& t : threads) t.join();
    return ok.load();
  }

  long long xlen(RedisClient& r, const std::string& customer) {
    auto v = r.command({"XLEN", "stripe:{" + customer + "}:audit"});
    return v ? v->integer : -1;
  }

  void expect_converged(const Model& model) {
    auto redis = stack_->redis().client();
    // Converged when every customer's audit count reaches the model's (never more: checked below).
    bool done = test::eventually([&] {
      long long total = 0;
      for (const auto& [cus, n] : model.audit_entries) total += xlen(*redis, cus);
      return total >= model.total_audit;
    }, 240s);
    ASSERT_TRUE(done) << "the worker did not apply every event in time";
    int mismatches = 0;
    for (const auto& [cus, objects] : model.newest) {
      EXPECT_EQ(xlen(*redis, cus), model.audit_entries.at(cus)) << cus << ": audit entries";
      for (const auto& [object, e] : objects) {
        std::string key = "stripe:{" + cus + "}:" + object;
        for (const auto& [field, value] : e->expect) {
          auto v = redis->command({"HGET", key, field});
          if (!v || v->str != value) {
            ++mismatches;
            ADD_FAILURE() << key << " " << field << ": want " << value << ", have " << (v ? v->str : "<error>");
          }
        }
        if (e->live) {
          std::string set = object.rfind("subscription:", 0) == 0 ? "subscriptions" : "payment_methods";
          std::string id = object.substr(object.find(':') + 1);
          auto v = redis->command({"SISMEMBER", "stripe:{" + cus + "}:" + set, id});
          EXPECT_EQ(v ? v->integer : -1, *e->live ? 1 : 0) << cus << " " << set << " " << id;
        }
        if (object.rfind("invoice:", 0) == 0) {
          auto v = redis->command({"ZSCORE", "stripe:{" + cus + "}:invoices", object.substr(8)});
          EXPECT_TRUE(v && !v->str.empty()) << cus << ": " << object << " is not in the history";
        }
        if (e->members) {
          auto v = redis->command({"SMEMBERS", "stripe:{" + cus + "}:entitlements:active"});
          std::set<std::string> have, want(e->members->begin(), e->members->end());
          if (v) for (const auto& m : v->elements) have.insert(m.str);
          EXPECT_EQ(have, want) << cus << ": active entitlements";
        }
      }
    }
    EXPECT_EQ(mismatches, 0);
    EXPECT_EQ(topic_message_count(stack_->bootstrap(), "stripe.events.dlq"), 0);
    test::record_redis_records(*redis);  // validated against schemas/records/ (records_validate)
  }

  void shuffled_events_with_duplicates_end_in_the_newest_state() {
    auto events = generate(100);
    ASSERT_EQ(events.size(), 100u * 26 + 10 * 3);
    Model model = model_of(events);
    auto plan = send_plan(events, 20261124);
    stack_->start_worker();
    std::atomic<int> progress{0};
    EXPECT_EQ(send(plan, 16, progress), static_cast<int>(plan.size()));
    expect_converged(model);
  }

  void state_and_audit_commands_show_what_the_worker_applied();

  // Waits until `fraction` of the plan was sent (faults land mid-stream).
  static bool reached(const std::atomic<int>& progress, std::size_t total, double fraction) {
    return test::eventually([&] { return progress.load() >= static_cast<int>(total * fraction); }, 120s);
  }

  std::unique_ptr<test::Stack> stack_;
};

class PipelineOnCluster : public Pipeline {
 protected:
  PipelineOnCluster() : Pipeline(true) {}
};

TEST_F(Pipeline, ShuffledEventsWithDuplicatesEndInTheNewestStatePerObject) {
  shuffled_events_with_duplicates_end_in_the_newest_state();
}

TEST_F(PipelineOnCluster, ShuffledEventsWithDuplicatesEndInTheNewestStatePerObject) {
  shuffled_events_with_duplicates_end_in_the_newest_state();
}

TEST_F(Pipeline, SameResultWithTheWorkerKilledTwiceAndRedisDownForFiveSeconds) {
  auto events = generate(100);
  Model model = model_of(events);
  auto plan = send_plan(events, 7);
  stack_->start_worker();
  std::atomic<int> progress{0};
  std::atomic<int> ok{0};
  // About 24 s of traffic, so that every fault lands while events are still arriving.
  std::thread sender([&] { ok = send(plan, 4, progress, 100); });
  auto at = [&](double fraction) { return reached(progress, plan.size(), fraction); };
  ASSERT_TRUE(at(0.2));
  stack_->kill_worker();
  stack_->start_worker();
  ASSERT_TRUE(at(0.45));
  // The restarted worker consumes again (else the outage could fall where it does not look).
  ASSERT_TRUE(stack_->worker_ready(60s));
  stack_->redis().stop();
  std::this_thread::sleep_for(5s);  // the outage itself, not a wait for a condition
  stack_->redis().start();
  ASSERT_TRUE(at(0.7));
  stack_->kill_worker();
  stack_->start_worker();
  EXPECT_LT(progress.load(), static_cast<int>(plan.size())) << "the faults came after the traffic";
  sender.join();
  EXPECT_EQ(ok.load(), static_cast<int>(plan.size()));
  expect_converged(model);
  // The outage was seen and ridden out by a worker (it retried), not missed.
  EXPECT_GT(stack_->count_in_worker_logs("redis cannot take the batch now; will retry"), 0);
}

TEST_F(Pipeline, EventThatCanNeverApplyGoesToTheDlqAndReplayPutsItBack) {
  stack_->start_worker();
  // Valid JSON, a known type, signed: but the subscription names no customer.
  std::string body = test::read_fixture("events/customer.subscription.updated.json");
  json::object ev = json::parse(body).as_object();
  ev["id"] = "evt_dlq_1";
  ev["data"].as_object()["object"].as_object().erase("customer");
  body = json::serialize(ev);
  std::vector<std::string> secrets{kSecret};
  auto res = test::post_webhook(stack_->ingress_port(), body, sign_payload(body, secrets, test::unix_now()));
  ASSERT_EQ(res.status, 200);

  ASSERT_TRUE(test::eventually([&] { return topic_message_count(stack_->bootstrap(), "stripe.events.dlq") == 1; }, 60s));
  auto dead = read_topic(stack_->bootstrap(), "stripe.events.dlq");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].value, body);
  EXPECT_EQ(dead[0].key, "sub_1Rx7ExampleSub1");
  EXPECT_EQ(dead[0].header("stripe-event-id"), "evt_dlq_1");
  EXPECT_EQ(dead[0].header("stripe-event-type"), "customer.subscription.updated");
  EXPECT_EQ(dead[0].header("source"), "webhook");
  EXPECT_FALSE(dead[0].header("ingress-received-ms").empty());
  EXPECT_EQ(dead[0].header("dlq-reason"), "invalid_shape");
  EXPECT_EQ(dead[0].header("dlq-error"), "data.object.customer is missing");
  EXPECT_EQ(dead[0].header("dlq-source-partition"), std::to_string(read_topic(stack_->bootstrap(), "stripe.events")[0].partition));
  EXPECT_EQ(dead[0].header("dlq-source-offset"), "0");
  EXPECT_FALSE(dead[0].header("dlq-at-ms").empty());
  test::record_kafka_headers("dlq_headers", {dead[0].headers.begin(), dead[0].headers.end()});
  for (const auto& m : read_topic(stack_->bootstrap(), "stripe.events")) {
    test::record_kafka_headers("kafka_headers", {m.headers.begin(), m.headers.end()});
  }

  std::string listed = stack_->cli({"dlq", "list"});
  auto entry = json::parse(listed.substr(0, listed.find('\n')));
  EXPECT_EQ(entry.at("event_id").as_string(), "evt_dlq_1");
  EXPECT_EQ(entry.at("reason").as_string(), "invalid_shape");
  EXPECT_EQ(entry.at("source").as_string(), "webhook");
  EXPECT_FALSE(entry.as_object().contains("thin_type"));  // only a thin notification names one

  std::string dry = stack_->cli({"dlq", "replay", "--event-id", "evt_dlq_1", "--dry-run"});
  EXPECT_NE(dry.find("would replay 1 of 1"), std::string::npos) << dry;
  EXPECT_EQ(topic_message_count(stack_->bootstrap(), "stripe.events"), 1);
  std::string none = stack_->cli({"dlq", "replay", "--event-id", "evt_other"});
  EXPECT_NE(none.find("replayed 0 of 1"), std::string::npos) << none;
  std::string by_type = stack_->cli({"dlq", "replay", "--type", "customer.subscription.updated", "--dry-run"});
  EXPECT_NE(by_type.find("would replay 1 of 1"), std::string::npos) << by_type;
  std::string other_type = stack_->cli({"dlq", "replay", "--type", "customer.updated", "--dry-run"});
  EXPECT_NE(other_type.find("would replay 0 of 1"), std::string::npos) << other_type;
  std::string since_past = stack_->cli({"dlq", "replay", "--since", "2020-01-01T00:00:00Z", "--dry-run"});
  EXPECT_NE(since_past.find("would replay 1 of 1"), std::string::npos) << since_past;
  std::string since_future = stack_->cli({"dlq", "replay", "--since", "2099-01-01", "--dry-run"});
  EXPECT_NE(since_future.find("would replay 0 of 1"), std::string::npos) << since_future;

  std::string out = stack_->cli({"dlq", "replay", "--event-id", "evt_dlq_1"});
  EXPECT_NE(out.find("replayed 1 of 1"), std::string::npos) << out;
  auto main = read_topic(stack_->bootstrap(), "stripe.events");
  ASSERT_EQ(main.size(), 2u);
  const StoredMessage& replayed = main[0].header("source") == "replay" ? main[0] : main[1];
  EXPECT_EQ(replayed.header("source"), "replay");
  EXPECT_EQ(replayed.value, body);
  EXPECT_EQ(replayed.key, "sub_1Rx7ExampleSub1");
  EXPECT_EQ(replayed.header("stripe-event-id"), "evt_dlq_1");
  EXPECT_TRUE(replayed.header("dlq-reason").empty());
}

TEST_F(Pipeline, StateAndAuditCommandsShowWhatTheWorkerApplied) { state_and_audit_commands_show_what_the_worker_applied(); }

TEST_F(PipelineOnCluster, StateAndAuditCommandsShowWhatTheWorkerApplied) {
  state_and_audit_commands_show_what_the_worker_applied();
}

// A master SIGKILLed mid-stream (its replica promoted, the old master back as a replica), then
// 2,000 slots resharded while events arrive: the exact model state, and nothing dead-lettered.
TEST_F(PipelineOnCluster, SameResultWithAMasterKilledAndTwoThousandSlotsMovedMidStream) {
  auto events = generate(100);
  Model model = model_of(events);
  auto plan = send_plan(events, 11);
  stack_->start_worker();
  test::RedisCluster& cluster = stack_->redis_cluster();
  std::atomic<int> progress{0}, ok{0};
  std::thread sender([&] { ok = send(plan, 4, progress, 120); });  // about 20 s of traffic
  auto at = [&](double fraction) { return reached(progress, plan.size(), fraction); };
  ASSERT_TRUE(at(0.15));
  const int victim = cluster.master_of(0);
  ASSERT_GE(victim, 0);
  cluster.node(static_cast<std::size_t>(victim)).kill();
  ASSERT_TRUE(at(0.35));
  cluster.node(static_cast<std::size_t>(victim)).start();
  ASSERT_TRUE(at(0.5));
  auto id_of = [&](int slot) {
    auto v = cluster.node(static_cast<std::size_t>(cluster.master_of(slot))).client()->command({"CLUSTER", "MYID"});
    return v ? v->str : std::string();
  };
  const std::string from = id_of(0), to = id_of(16383);
  ASSERT_NE(from, to);
  int status = -1;
  for (int attempt = 0; attempt < 5 && status != 0; ++attempt) {  // retried while nodes disagree
    status = cluster.cli({"reshard", "127.0.0.1:" + std::to_string(cluster.node(static_cast<std::size_t>((victim + 1) % 6)).port()),
                          "--cluster-from", from, "--cluster-to", to, "--cluster-slots", "2000", "--cluster-yes"});
    if (status != 0) std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(status, 0) << cluster.last_output().substr(0, 2000);
  EXPECT_LT(progress.load(), static_cast<int>(plan.size())) << "the faults came after the traffic";
  sender.join();
  EXPECT_EQ(ok.load(), static_cast<int>(plan.size()));
  expect_converged(model);  // the exact state, and an empty DLQ
  EXPECT_TRUE(test::eventually([&] { return cluster.healthy(); }, 30s));
  auto role = cluster.node(static_cast<std::size_t>(victim)).client()->command({"ROLE"});
  ASSERT_TRUE(role);
  EXPECT_EQ(role->elements.at(0).str, "slave");  // the old master came back as a replica
}

void Pipeline::state_and_audit_commands_show_what_the_worker_applied() {
  stack_->start_worker();
  std::vector<std::string> secrets{kSecret};
  for (const char* f : {"customer.created.json", "customer.updated.json", "payment_method.attached.json",
                        "customer.subscription.created.json"}) {
    std::string body = test::read_fixture(std::string("events/") + f);
    ASSERT_EQ(test::post_webhook(stack_->ingress_port(), body, sign_payload(body, secrets, test::unix_now())).status, 200);
  }
  auto redis = stack_->redis().client();
  ASSERT_TRUE(test::eventually([&] { return xlen(*redis, "cus_Rx7Example001") == 4; }, 60s));
  auto state = json::parse(stack_->cli({"state", "customer", "cus_Rx7Example001"}));
  EXPECT_EQ(state.at("customer").at("email").as_string(), "jordan@example.com");
  EXPECT_EQ(state.at("customer").at("address").at("city").as_string(), "Atlanta");
  ASSERT_EQ(state.at("subscriptions").as_array().size(), 1u);
  EXPECT_EQ(state.at("subscriptions").at(0).at("id").as_string(), "sub_1Rx7ExampleSub1");
  EXPECT_EQ(state.at("subscriptions").at(0).at("items").at(0).at("price").as_string(), "price_1Rx7ExamplePro");
  ASSERT_EQ(state.at("payment_methods").as_array().size(), 1u);
  EXPECT_EQ(state.at("payment_methods").at(0).at("card_last4").as_string(), "4242");
  // Typed as Stripe types it, our bookkeeping apart (the same document as the read API's).
  EXPECT_TRUE(state.at("customer").at("livemode").is_bool());
  EXPECT_FALSE(state.at("customer").as_object().contains("_v"));
  EXPECT_EQ(state.at("_sync").at("event").as_string(), "evt_1Sx00002ExampleA");

  std::string audit = stack_->cli({"audit", "cus_Rx7Example001", "--limit", "2"});
  auto first = json::parse(audit.substr(0, audit.find('\n')));
  EXPECT_EQ(std::count(audit.begin(), audit.end(), '\n'), 2);
  EXPECT_EQ(first.at("outcome").as_string(), "applied");
}

}  // namespace
}  // namespace stripe_sync
