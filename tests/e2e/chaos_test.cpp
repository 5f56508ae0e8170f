// The chaos scenario runner: every component a real process (embedded broker with fault control,
// redis-server, stripe-ingress, stripe-worker with revalidation against the stand-in Stripe), a
// seeded stream of signed events modelled on Stripe's, sent shuffled with duplicates and retried
// as Stripe retries, while a fault plan runs. An independent model computes the final state from
// the acknowledged events; any difference, lost event, stale write or audit duplicate fails.
//
// Short run (in ./tests/run.sh):  ctest --preset dev -L chaos
// Long run:  CHAOS_SEED=7 CHAOS_CUSTOMERS=400 CHAOS_RATE=400 CHAOS_ROUNDS=3 build/dev/tests/e2e_chaos_tests
// On a Redis Cluster (3 masters, 3 replicas, REDIS_WAIT_REPLICAS=1): CHAOS_REDIS=cluster.
// Each run prints one summary line starting "chaos:".
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "common/billing/keys.hpp"
#include "common/stripe/signature.hpp"
#include "tests/support/fake_stripe.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/record_log.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/stack.hpp"

namespace stripe_sync {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kSecret = "whsec_chaos";

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

test::StackBinaries binaries() { return {STRIPE_SYNC_CLI, STRIPE_INGRESS_BIN, STRIPE_WORKER_BIN}; }

enum class Kind { customer, subscription, payment_method, invoice, entitlements, price };

struct Event {
  std::string id, customer, object_id, body;
  Kind kind;
  std::int64_t stamp = 0;
  int order = 0;  // position in its same-second chain: the later one is the newer
  json::object object;                       // data.object as sent
  std::map<std::string, std::string> expect;  // stored fields it sets
  bool tombstone = false;
  std::optional<bool> live;  // index membership it implies
  std::optional<std::vector<std::string>> members;  // entitlements: the active lookup keys
};

// Stripe-shaped events, from the fixtures, for one customer's life.
class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  std::vector<Event> customer_life(int c, std::int64_t t0) {
    std::vector<Event> out;
    const std::string cus = "cus_chaos" + std::to_string(c);
    int n = 0;
    auto id = [&] { return "evt_c" + std::to_string(c) + "_" + std::to_string(n++); };
    std::int64_t t = t0;

    // The customer: created, then updates; some in the same second as a chained pair or triple.
    std::string email = cus + "-0@example.com";
    out.push_back(customer_event(id(), "customer.created", t, cus, email, "", 0));
    int updates = pick(2, 5);
    for (int u = 1; u <= updates; ++u) {
      t += pick(1, 3);
      int group = chance(35) ? pick(2, 3) : 1;  // a same-second pair or triple
      for (int g = 0; g < group; ++g) {
        std::string next = cus + "-" + std::to_string(u) + "." + std::to_string(g) + "@example.com";
        out.push_back(customer_event(id(), "customer.updated", t, cus, next, email, g));
        email = next;
      }
    }

    // Two cards: one attached and updated (sometimes twice in one second), one attached and
    // detached, with an update of it that arrives after the detach.
    for (int k = 0; k < 2; ++k) {
      std::string pm = "pm_chaos" + std::to_string(c) + (k ? "b" : "a");
      t += 1;
      int month = 1;
      out.push_back(pm_event(id(), "payment_method.attached", t, cus, pm, month, 0, 0));
      int group = chance(30) ? 2 : 1;
      t += 1;
      for (int g = 0; g < group; ++g) {
        out.push_back(pm_event(id(), "payment_method.updated", t, cus, pm, month + 1, month, g));
        ++month;
      }
      if (k == 1) {
        t += 1;
        out.push_back(pm_event(id(), "payment_method.detached", t, cus, pm, month, 0, 0));
        late_.push_back(out.size() - 1);  // the detach
        // An update older than the detach, sent after it: must be stale.
        Event stale = pm_event(id(), "payment_method.updated", t - 1, cus, pm, 12, 0, -1);
        out.push_back(stale);
        late_.push_back(out.size() - 1);
      }
    }

    // A subscription: created, updated (some in one second), maybe deleted; one update is sent
    // before the create.
    std::string sub = "sub_chaos" + std::to_string(c);
    t += 1;
    out.push_back(sub_event(id(), "customer.subscription.created", t, cus, sub, "trialing", "", 0));
    early_.push_back(out.size());  // the next event (an update) goes before the create
    std::string status = "trialing";
    const char* cycle[] = {"active", "past_due", "active", "unpaid", "active"};
    int sub_updates = pick(2, 4);
    for (int u = 0; u < sub_updates; ++u) {
      t += 1;
      int group = chance(30) ? pick(2, 3) : 1;
      for (int g = 0; g < group; ++g) {
        std::string next = cycle[(u + g) % 5];
        if (next == status) next = "incomplete";
        out.push_back(sub_event(id(), "customer.subscription.updated", t, cus, sub, next, status, g));
        status = next;
      }
    }
    if (chance(30)) {
      t += 1;
      out.push_back(sub_event(id(), "customer.subscription.deleted", t, cus, sub, "canceled", status, 0));
    }
    // An invoice's life, draft to paid or void, with a failed attempt between; some steps in the
    // same second. Its rank is its status (draft 1, open 2, paid or void 4).
    {
      const std::string in = "in_chaos" + std::to_string(c);
      const std::int64_t invoice_created = t + 1;
      t += 1;
      out.push_back(invoice_event(id(), "invoice.created", t, cus, in, invoice_created, "draft", 0, -1, 0));
      t += pick(1, 2);
      out.push_back(invoice_event(id(), "invoice.finalized", t, cus, in, invoice_created, "open", 0, -1, 0));
      if (chance(50)) t += 1;  // else: the failed attempt in the same second as the finalize
      out.push_back(invoice_event(id(), "invoice.payment_failed", t, cus, in, invoice_created, "open", 1, 0, 1));
      t += chance(30) ? 0 : 1;
      bool voided = chance(25);
      out.push_back(invoice_event(id(), voided ? "invoice.voided" : "invoice.paid", t, cus, in, invoice_created,
                                  voided ? "void" : "paid", voided ? 1 : 2, -1, 2));
    }
    // The active entitlements, changed two or three times, sometimes twice in one second.
    {
      std::vector<std::string> keys;
      int changes = pick(2, 3);
      for (int k = 0; k < changes; ++k) {
        std::vector<std::string> next = keys;
        next.push_back("feature-" + std::to_string(k));
        if (k == 2) next.erase(next.begin());
        bool same_second = k > 0 && chance(30);
        if (!same_second) t += 1;
        out.push_back(entitlements_event(id(), t, cus, next, keys, same_second ? k : 0));
        keys = next;
      }
    }
    // Every fifth customer's plan: a price, account-wide, keyed by its own id.
    if (c % 5 == 0) {
      const std::string price = "price_chaos" + std::to_string(c);
      t += 1;
      out.push_back(price_event(id(), "price.created", t, price, "Plan " + std::to_string(c), "", 0));
      std::string nickname = "Plan " + std::to_string(c);
      const int updates_of_price = pick(1, 3);
      for (int k = 1; k <= updates_of_price; ++k) {
        t += 1;
        std::string next = nickname + " v" + std::to_string(k);
        out.push_back(price_event(id(), "price.updated", t, price, next, nickname, 0));
        nickname = next;
      }
    }
    // The customer deleted at the end, for some.
    if (chance(10)) {
      t += 1;
      Event e = customer_event(id(), "customer.deleted", t, cus, email, "", 0);
      out.push_back(e);
    }
    return out;
  }

  // Indices (into the last customer_life) to send early (before everything of that customer)
  // and late (after everything of that customer).
  std::vector<std::size_t> take_early() { return std::exchange(early_, {}); }
  std::vector<std::size_t> take_late() { return std::exchange(late_, {}); }
  std::mt19937& rng() { return rng_; }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int percent) { return pick(1, 100) <= percent; }

  json::object base(const std::string& fixture) {
    auto it = cache_.find(fixture);
    if (it == cache_.end()) it = cache_.emplace(fixture, json::parse(test::read_fixture("events/" + fixture)).as_object()).first;
    return it->second;
  }

  Event finish(json::object ev, const std::string& id, const std::string& type, std::int64_t created,
               const std::string& customer, Kind kind, int rank, int order) {
    ev["id"] = id;
    ev["type"] = type;
    ev["created"] = created;
    Event e;
    e.id = id;
    e.customer = customer;
    e.kind = kind;
    e.stamp = created * 10 + rank;
    e.order = order;
    e.object = ev["data"].as_object()["object"].as_object();
    // The entitlement summary has no id: its records are the customer's "entitlements".
    e.object_id = kind == Kind::entitlements ? std::string("entitlements") : std::string(e.object["id"].as_string());
    e.body = json::serialize(ev);
    return e;
  }

  Event customer_event(const std::string& id, const std::string& type, std::int64_t t, const std::string& cus,
                       const std::string& email, const std::string& previous, int order) {
    bool deleted = type == "customer.deleted";
    json::object ev = base(deleted ? "customer.deleted.json" : type == "customer.created" ? "customer.created.json" : "customer.updated.json");
    json::object& data = ev["data"].as_object();
    data.erase("previous_attributes");
    json::object& o = data["object"].as_object();
    o["id"] = cus;
    if (!deleted) o["email"] = email;
    if (!previous.empty()) data["previous_attributes"] = json::object{{"email", previous}};
    Event e = finish(ev, id, type, t, cus, Kind::customer, type == "customer.created" ? 1 : deleted ? 3 : 2, order);
    if (deleted) e.expect = {{"deleted", "1"}};
    else e.expect = {{"email", email}, {"deleted", "0"}};
    e.tombstone = deleted;
    return e;
  }

  Event pm_event(const std::string& id, const std::string& type, std::int64_t t, const std::string& cus,
                 const std::string& pm, int month, int previous, int order) {
    bool detached = type == "payment_method.detached";
    json::object ev = base(detached ? "payment_method.detached.json" : type == "payment_method.attached" ? "payment_method.attached.json" : "payment_method.updated.json");
    json::object& data = ev["data"].as_object();
    data.erase("previous_attributes");
    json::object& o = data["object"].as_object();
    o["id"] = pm;
    o["customer"] = detached ? json::value(nullptr) : json::value(cus);
    o["card"].as_object()["exp_month"] = month;
    if (detached) data["previous_attributes"] = json::object{{"customer", cus}};
    else if (previous) data["previous_attributes"] = json::object{{"card", json::object{{"exp_month", previous}}}};
    Event e = finish(ev, id, type, t, cus, Kind::payment_method, detached ? 3 : 2, order);
    e.expect = {{"card_exp_month", std::to_string(month)}, {"deleted", detached ? "1" : "0"}};
    e.tombstone = detached;
    e.live = !detached;
    return e;
  }

  Event sub_event(const std::string& id, const std::string& type, std::int64_t t, const std::string& cus,
                  const std::string& sub, const std::string& status, const std::string& previous, int order) {
    bool deleted = type == "customer.subscription.deleted";
    json::object ev = base(deleted ? "customer.subscription.deleted.json" : type == "customer.subscription.created" ? "customer.subscription.created.json" : "customer.subscription.updated.json");
    json::object& data = ev["data"].as_object();
    data.erase("previous_attributes");
    json::object& o = data["object"].as_object();
    o["id"] = sub;
    o["customer"] = cus;
    o["status"] = status;
    if (!previous.empty()) data["previous_attributes"] = json::object{{"status", previous}};
    Event e = finish(ev, id, type, t, cus, Kind::subscription, type == "customer.subscription.created" ? 1 : deleted ? 3 : 2, order);
    e.expect = {{"status", status}, {"deleted", deleted ? "1" : "0"}};
    e.tombstone = deleted;
    e.live = !deleted && status != "canceled" && status != "incomplete_expired";
    return e;
  }

  Event invoice_event(const std::string& id, const std::string& type, std::int64_t t, const std::string& cus,
                      const std::string& in, std::int64_t created, const std::string& status, int attempts,
                      int previous_attempts, int order) {
    json::object ev = base("invoice.finalized.json");
    json::object& data = ev["data"].as_object();
    data.erase("previous_attributes");
    json::object& o = data["object"].as_object();
    o["id"] = in;
    o["customer"] = cus;
    o["status"] = status;
    o["attempt_count"] = attempts;
    o["created"] = created;
    if (previous_attempts >= 0) data["previous_attributes"] = json::object{{"attempt_count", previous_attempts}};
    const int rank = status == "draft" ? 1 : status == "open" ? 2 : 4;
    Event e = finish(ev, id, type, t, cus, Kind::invoice, rank, order);
    e.expect = {{"status", status}, {"attempt_count", std::to_string(attempts)}, {"deleted", "0"}};
    return e;
  }

  Event entitlements_event(const std::string& id, std::int64_t t, const std::string& cus,
                           const std::vector<std::string>& keys, const std::vector<std::string>& previous, int order) {
    json::object ev = base("entitlements.active_entitlement_summary.updated.json");
    json::object& data = ev["data"].as_object();
    auto list = [&](const std::vector<std::string>& ks) {
      json::array a;
      for (const auto& k : ks) {
        a.push_back(json::object{{"id", "ent_" + cus + "_" + k}, {"object", "entitlements.active_entitlement"},
                                 {"feature", "feat_" + k}, {"livemode", false}, {"lookup_key", k}});
      }
      return a;
    };
    json::object& o = data["object"].as_object();
    o["customer"] = cus;
    o["entitlements"].as_object()["data"] = list(keys);
    data["previous_attributes"] = json::object{{"entitlements", json::object{{"data", list(previous)}}}};
    Event e = finish(ev, id, "entitlements.active_entitlement_summary.updated", t, cus, Kind::entitlements, 2, order);
    std::string text = "[";
    for (std::size_t i = 0; i < keys.size(); ++i) text += (i ? ",\"" : "\"") + keys[i] + "\"";
    e.expect = {{"lookup_keys", text + "]"}};
    e.members = keys;
    return e;
  }

  Event price_event(const std::string& id, const std::string& type, std::int64_t t, const std::string& price,
                    const std::string& nickname, const std::string& previous, int order) {
    json::object ev = base("price.updated.json");
    json::object& data = ev["data"].as_object();
    data.erase("previous_attributes");
    json::object& o = data["object"].as_object();
    o["id"] = price;
    o["nickname"] = nickname;
    if (!previous.empty()) data["previous_attributes"] = json::object{{"nickname", previous}};
    Event e = finish(ev, id, type, t, price, Kind::price, type == "price.created" ? 1 : 2, order);
    e.expect = {{"nickname", nickname}, {"deleted", "0"}};
    return e;
  }

  std::mt19937 rng_;
  std::map<std::string, json::object> cache_;
  std::vector<std::size_t> early_, late_;
};

std::string object_key(const Event& e) {
  switch (e.kind) {
    case Kind::customer: return "customer";
    case Kind::subscription: return "subscription:" + e.object_id;
    case Kind::payment_method: return "payment_method:" + e.object_id;
    case Kind::invoice: return "invoice:" + e.object_id;
    case Kind::entitlements: return "entitlements";
    case Kind::price: return "price";
  }
  return {};
}

// Where the fake Stripe finds an object's final state: by its id, or the customer's summary.
std::string final_key(const Event& e) { return e.kind == Kind::entitlements ? "entitlements/" + e.customer : e.object_id; }

// The truth: per object, its newest event (stamp, then place in its same-second chain).
struct Model {
  std::map<std::string, std::map<std::string, const Event*>> newest;  // customer -> object key -> event
  std::map<std::string, std::int64_t> stamp_of;                        // event id -> stamp
  bool newer(const Event& a, const Event* b) const { return !b || a.stamp > b->stamp || (a.stamp == b->stamp && a.order > b->order); }
};

Model model_of(const std::vector<const Event*>& acknowledged) {
  Model m;
  for (const Event* e : acknowledged) {
    const Event*& slot = m.newest[e->customer][object_key(*e)];
    if (m.newer(*e, slot)) slot = e;
    m.stamp_of[e->id] = e->stamp;
  }
  return m;
}


TEST(Chaos, NothingAcknowledgedIsLostAndTheFinalStateIsTheNewestUnderFaults) {
  const std::uint32_t seed = static_cast<std::uint32_t>(env_int("CHAOS_SEED", 20261124));
  const int customers = env_int("CHAOS_CUSTOMERS", 40);
  const int rate = env_int("CHAOS_RATE", 60);     // events a second the sender offers
  const int rounds = env_int("CHAOS_ROUNDS", 1);  // times the fault plan repeats over the stream

  Generator gen(seed);
  std::vector<Event> events;
  std::vector<const Event*> plan;
  {
    std::vector<std::vector<std::size_t>> early, late;
    std::vector<std::pair<std::size_t, std::size_t>> ranges;
    // Every life in the past, however many customers (each spans up to 100 s).
    const std::int64_t t0 = test::unix_now() - 86400 - static_cast<std::int64_t>(customers) * 100;
    for (int c = 0; c < customers; ++c) {
      auto life = gen.customer_life(c, t0 + c * 100);
      std::size_t offset = events.size();
      for (auto i : gen.take_early()) early.push_back({offset + i});
      for (auto i : gen.take_late()) late.push_back({offset + i});
      ranges.emplace_back(offset, offset + life.size());
      for (auto& e : life) events.push_back(std::move(e));
    }
    // Shuffled, 20% sent twice; then per customer, the "early" events moved before everything
    // of that customer and the "late" ones after.
    std::set<std::size_t> special;
    for (auto& v : early) special.insert(v[0]);
    for (auto& v : late) special.insert(v[0]);
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < events.size(); ++i)
      if (!special.count(i)) order.push_back(i);
    std::uniform_int_distribution<std::size_t> any(0, events.size() - 1);
    for (std::size_t i = 0; i < events.size() / 5; ++i) order.push_back(any(gen.rng()));
    std::shuffle(order.begin(), order.end(), gen.rng());
    for (auto& v : early) order.insert(order.begin(), v[0]);
    for (auto& v : late) order.push_back(v[0]);
    for (auto i : order) plan.push_back(&events[i]);
  }
  std::set<std::string> distinct;
  for (const Event* e : plan) distinct.insert(e->id);
  const int duplicates = static_cast<int>(plan.size() - distinct.size());

  // Stripe's answers for revalidation: the final object of each, fetched "now".
  std::map<std::string, const Event*> final_of;  // object id -> newest event (all sent ones)
  {
    Model all = model_of(plan);
    for (auto& [cus, objects] : all.newest)
      for (auto& [key, e] : objects) final_of[final_key(*e)] = e;
  }
  test::FakeStripe stripe([&](const test::FakeRequest& q) -> test::FakeResponse {
    std::map<std::string, std::string> date{{"Date", test::http_date(test::unix_now())}};
    auto list = [&](Kind kind, const std::string& cus, bool attached_only) {
      json::array data;
      for (auto& [id, e] : final_of) {
        if (e->kind != kind || e->customer != cus || (attached_only && e->tombstone)) continue;
        data.push_back(e->object);
      }
      return test::FakeResponse{200, json::serialize(json::object{{"object", "list"}, {"has_more", false}, {"data", data}}), date};
    };
    const std::string prefix = "/v1/customers/";
    if (q.path == "/v1/subscriptions") return list(Kind::subscription, q.param("customer"), false);
    if (q.path == "/v1/entitlements/active_entitlements") {
      auto it = final_of.find("entitlements/" + q.param("customer"));
      json::value data = it == final_of.end() ? json::value(json::array{}) : it->second->object.at("entitlements").at("data");
      return {200, json::serialize(json::object{{"object", "list"}, {"has_more", false}, {"data", data}}), date};
    }
    for (const char* kept : {"/v1/invoices/", "/v1/prices/"}) {
      if (q.path.rfind(kept, 0) != 0) continue;
      auto it = final_of.find(q.path.substr(std::strlen(kept)));
      if (it != final_of.end()) return {200, json::serialize(it->second->object), date};
    }
    if (q.path.rfind(prefix, 0) == 0 && q.path.ends_with("/payment_methods")) {
      return list(Kind::payment_method, q.path.substr(prefix.size(), q.path.size() - prefix.size() - 16), true);
    }
    if (q.path.rfind(prefix, 0) == 0) {
      auto it = final_of.find(q.path.substr(prefix.size()));
      if (it != final_of.end() && it->second->tombstone) {
        // What Stripe's API answers for a deleted customer.
        return {200, json::serialize(json::object{{"id", it->second->object_id}, {"object", "customer"}, {"deleted", true}}), date};
      }
      if (it != final_of.end()) return {200, json::serialize(it->second->object), date};
    }
    return {404, test::stripe_error_body("invalid_request_error", "No such object")};
  });

  const char* redis_mode = std::getenv("CHAOS_REDIS");
  const bool on_cluster = redis_mode && std::string(redis_mode) == "cluster";
  test::StackOptions options;
  options.worker_env = {"WORKER_REVALIDATE=1", "STRIPE_API_KEY=sk_test_chaos", "STRIPE_API_BASE=" + stripe.base_url()};
  options.ingress_env = {"INGRESS_PRODUCE_TIMEOUT_MS=3000"};
  options.redis_cluster = on_cluster;
  if (on_cluster) options.worker_env.push_back("REDIS_WAIT_REPLICAS=1");
  test::Stack stack(binaries(), kSecret, options);
  stack.start_worker();

  // The sender: like Stripe, it retries what did not get a 200 (connection refused while ingress
  // restarts, 503 while the brokers cannot take it) until it does.
  std::atomic<std::size_t> next{0};
  std::atomic<int> progress{0}, retries{0};
  std::mutex acked_mutex;
  std::vector<const Event*> acknowledged;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> senders;
  for (int t = 0; t < 6; ++t) {
    senders.emplace_back([&] {
      std::unique_ptr<test::HttpClient> client;
      std::vector<std::string> secrets{kSecret};
      for (std::size_t i = next++; i < plan.size(); i = next++) {
        std::this_thread::sleep_until(started + std::chrono::microseconds(i * 1000000 / rate));
        const Event* e = plan[i];
        auto give_up = std::chrono::steady_clock::now() + 120s;
        while (std::chrono::steady_clock::now() < give_up) {
          try {
            if (!client) client = std::make_unique<test::HttpClient>(stack.ingress_port());
            auto res = client->request("POST", "/webhooks/stripe", e->body,
                                       {{"Content-Type", "application/json"},
                                        {"Stripe-Signature", sign_payload(e->body, secrets, test::unix_now())}});
            if (res.status == 200) {
              std::lock_guard lock(acked_mutex);
              acknowledged.push_back(e);
              break;
            }
            if (res.status != 503) ADD_FAILURE() << e->id << ": answered " << res.status << " " << res.body;
            if (!res.keep_alive) client.reset();
          } catch (const std::exception&) {
            client.reset();
          }
          retries++;
          std::this_thread::sleep_for(200ms);
        }
        progress++;
      }
    });
  }

  // The fault plan, spread over the stream (repeated `rounds` times).
  int faults = 0;
  auto at = [&](double fraction) {
    return test::eventually([&] { return progress.load() >= static_cast<int>(plan.size() * fraction); }, 600s);
  };
  auto redis_command = [&](std::vector<std::string_view> argv) {
    auto c = stack.redis().client();
    auto v = c->command(argv);
    return v.ok() && !v->is_error();
  };
  auto on_every_master = [&](std::vector<std::string_view> argv) {
    auto c = stack.redis().client();
    auto v = c->on_every_master(argv);
    if (!v) return false;
    for (const auto& [node, reply] : *v)
      if (reply.is_error()) return false;
    return true;
  };
  // Redis refusing writes for two seconds: READONLY from a demoted node; on a cluster, where
  // REPLICAOF is not allowed, a replica taking over its master (CLUSTER FAILOVER).
  auto readonly_window = [&] {
    if (!on_cluster) {
      std::string nowhere = std::to_string(test::free_port());
      bool ok = redis_command({"REPLICAOF", "127.0.0.1", nowhere});
      std::this_thread::sleep_for(2s);
      return redis_command({"REPLICAOF", "NO", "ONE"}) && ok;
    }
    for (std::size_t i = 0; i < 6; ++i) {
      test::RedisServer& node = stack.redis_cluster().node(i);
      auto role = node.client()->command({"ROLE"});
      if (role && !role->elements.empty() && role->elements[0].str == "slave") {
        return node.client()->command({"CLUSTER", "FAILOVER"}).ok();
      }
    }
    return false;
  };
  for (int r = 0; r < rounds; ++r) {
    auto step = [&](double f) { return (r + f) / rounds; };
    ASSERT_TRUE(at(step(0.08)));
    stack.kill_worker();
    stack.start_worker();
    ++faults;
    ASSERT_TRUE(at(step(0.18)));
    stack.restart_ingress();  // SIGTERM under load: in-flight requests finish, new ones retry
    ++faults;
    ASSERT_TRUE(at(step(0.28)));
    for (int p = 0; p < 6; ++p) EXPECT_TRUE(stack.broker_control("leader stripe.events " + std::to_string(p) + " " + std::to_string(1 + (p + r + 1) % 3)));
    ++faults;
    ASSERT_TRUE(at(step(0.38)));
    EXPECT_TRUE(stack.broker_control("down 2"));
    std::this_thread::sleep_for(3s);  // the outage itself
    EXPECT_TRUE(stack.broker_control("up 2"));
    ++faults;
    ASSERT_TRUE(at(step(0.5)));
    stack.redis().stop();
    std::this_thread::sleep_for(3s);  // the outage itself
    stack.redis().start();
    ++faults;
    ASSERT_TRUE(at(step(0.62)));
    EXPECT_TRUE(redis_command({"CLIENT", "PAUSE", "2000", "WRITE"}));
    ++faults;
    ASSERT_TRUE(at(step(0.72)));
    EXPECT_TRUE(redis_command({"DEBUG", "SLEEP", "1.5"}));  // Redis itself stops for 1.5 s
    ++faults;
    ASSERT_TRUE(at(step(0.78)));
    EXPECT_TRUE(on_every_master({"CONFIG", "SET", "maxmemory", "1"}));  // full: OOM for 2 s
    std::this_thread::sleep_for(2s);
    EXPECT_TRUE(on_every_master({"CONFIG", "SET", "maxmemory", "0"}));
    ++faults;
    ASSERT_TRUE(at(step(0.82)));
    EXPECT_TRUE(readonly_window());
    ++faults;
    ASSERT_TRUE(at(step(0.88)));
    stack.kill_worker();
    stack.start_worker();
    ++faults;
  }
  for (auto& t : senders) t.join();

  // Converged: every acknowledged event id has its marker (nothing lost), then audit settles.
  Model model = model_of(acknowledged);
  auto redis = stack.redis().client();
  auto missing = [&] {
    std::vector<std::string> out;
    std::set<std::string> checked;
    for (const Event* e : acknowledged) {
      if (!checked.insert(e->id).second) continue;
      auto v = redis->command({"HEXISTS", Keys().markers(e->customer, e->stamp / 10), e->id});  // stamp: created * 10 + rank
      if (!v || v->integer != 1) out.push_back(e->id);
    }
    return out;
  };
  std::vector<std::string> lost;
  bool settled = test::eventually([&] {
    lost = missing();
    return lost.empty();
  }, 300s);
  // Revalidations run after their batch: give the last ones a moment to land (polled).
  int mismatches = 0;
  auto compare = [&](bool report) {
    int bad = 0;
    for (const auto& [cus, objects] : model.newest) {
      for (const auto& [key, e] : objects) {
        std::string hash = "stripe:{" + cus + "}:" + key;
        for (const auto& [field, want] : e->expect) {
          auto v = redis->command({"HGET", hash, field});
          std::string have = v ? v->str : "<error>";
          if (field == "deleted" && want == "0" && have.empty()) have = "0";
          if (have != want) {
            ++bad;
            if (report) ADD_FAILURE() << hash << " " << field << ": want " << want << " (" << e->id << "), have " << have;
          }
        }
        if (e->members) {
          auto v = redis->command({"SMEMBERS", "stripe:{" + cus + "}:entitlements:active"});
          std::set<std::string> have, want(e->members->begin(), e->members->end());
          if (v) for (const auto& m : v->elements) have.insert(m.str);
          if (have != want) {
            ++bad;
            if (report) ADD_FAILURE() << cus << ": active entitlements differ from " << e->id;
          }
        }
        if (e->kind == Kind::invoice) {
          auto v = redis->command({"ZSCORE", "stripe:{" + cus + "}:invoices", e->object_id});
          if (!v || v->str.empty()) {
            ++bad;
            if (report) ADD_FAILURE() << cus << ": " << e->object_id << " is not in the history";
          }
        }
        if (e->live) {
          std::string set = e->kind == Kind::subscription ? "subscriptions" : "payment_methods";
          auto v = redis->command({"SISMEMBER", "stripe:{" + cus + "}:" + set, e->object_id});
          if (!v || v->integer != (*e->live ? 1 : 0)) {
            ++bad;
            if (report) ADD_FAILURE() << cus << " " << set << " " << e->object_id << ": membership wrong";
          }
        }
      }
    }
    return bad;
  };
  test::eventually([&] { return compare(false) == 0; }, 60s);
  mismatches = compare(true);
  test::record_redis_records(*redis);  // validated against schemas/records/ (records_validate)

  // The audit: no event twice, and per object the applied stamps never go down (no stale write).
  int audit_duplicates = 0, stale_writes = 0;
  for (const auto& [cus, objects] : model.newest) {
    auto entries = redis->command({"XRANGE", "stripe:{" + cus + "}:audit", "-", "+"});
    std::set<std::string> seen;
    std::map<std::string, std::int64_t> last_applied;
    for (const auto& entry : entries->elements) {
      std::map<std::string, std::string> f;
      const auto& kv = entry.elements[1].elements;
      for (std::size_t i = 0; i + 1 < kv.size(); i += 2) f[kv[i].str] = kv[i + 1].str;
      if (!seen.insert(f["event_id"]).second) {
        ++audit_duplicates;
        ADD_FAILURE() << cus << ": audit has " << f["event_id"] << " twice";
      }
      if (f["outcome"] != "applied") continue;
      auto st = model.stamp_of.find(f["event_id"]);
      std::int64_t stamp = st == model.stamp_of.end() ? INT64_MAX : st->second;  // a snapshot: "now"
      auto& last = last_applied[f["object_id"]];
      if (stamp < last) {
        ++stale_writes;
        ADD_FAILURE() << cus << ": " << f["event_id"] << " applied over a newer state of " << f["object_id"];
      }
      last = std::max(last, stamp);
    }
  }
  std::string w;
  try {
    w = test::HttpClient(stack.worker_status_port()).get("/metrics").body;
  } catch (const std::exception&) {
  }
  auto count = [&](const std::string& series) {
    auto at_ = w.find(series + " ");
    return at_ == std::string::npos ? std::string("0") : w.substr(at_ + series.size() + 1, w.find('\n', at_) - at_ - series.size() - 1);
  };
  // Batches the worker held back, by class (its logs: restarts reset its metrics).
  const int oom_retries = stack.count_in_worker_logs(R"("class":"oom")");
  const int readonly_retries = stack.count_in_worker_logs(R"("class":"readonly")");
  const int dead_lettered = stack.count_in_worker_logs("event dead-lettered");
  std::printf("chaos: redis=%s seed=%u customers=%d events=%zu sent=%zu duplicates=%d acknowledged=%zu retries=%d faults=%d "
              "oom_retries=%d readonly_retries=%d dead_lettered=%d "
              "lost=%zu stale_writes=%d mismatches=%d audit_duplicates=%d revalidated=%s\n",
              on_cluster ? "cluster" : "single", seed, customers, events.size(), plan.size(), duplicates, acknowledged.size(),
              retries.load(), faults, oom_retries, readonly_retries, dead_lettered, lost.size(), stale_writes, mismatches, audit_duplicates,
              count(R"(stripe_worker_revalidations_total{outcome="applied"})").c_str());
  EXPECT_TRUE(settled) << lost.size() << " acknowledged events never reached Redis, e.g. " << (lost.empty() ? "" : lost[0]);
  EXPECT_EQ(acknowledged.size(), plan.size()) << "some sends were never acknowledged (gave up after 120 s)";
  EXPECT_EQ(lost.size(), 0u);
  EXPECT_EQ(stale_writes, 0);
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(audit_duplicates, 0);
  EXPECT_EQ(faults, 10 * rounds);
  EXPECT_GT(oom_retries, 0) << "the OOM window held nothing back: it did not test anything";
  if (!on_cluster) {
    EXPECT_GT(readonly_retries, 0) << "the READONLY window held nothing back";
  }
  EXPECT_EQ(dead_lettered, 0) << "a Redis fault must never dead-letter an event";
  EXPECT_TRUE(stripe.violations().empty());
}

}  // namespace
}  // namespace stripe_sync
