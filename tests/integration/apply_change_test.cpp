// apply_change.lua's semantics, against a real redis-server started by each test.
#include "common/billing/event_store.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <algorithm>
#include <functional>
#include <set>

#include "common/billing/event_extract.hpp"
#include "common/redis/redis_probe.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/record_log.hpp"
#include "tests/support/redis_server.hpp"

namespace stripe_sync {
namespace {

class ApplyChange : public ::testing::Test {
 protected:
  ApplyChange() : client_(redis_.client()), store_(*client_, StoreConfig{}) {}

  ChangeRecord from_fixture(const std::string& name) {
    ChangeRecord r;
    auto x = extract_change(test::read_fixture("events/" + name), r);
    EXPECT_EQ(x.status, ExtractStatus::record) << name << ": " << x.detail;
    return r;
  }

  ApplyResult apply(const ChangeRecord& r) {
    auto out = store_.apply(std::span(&r, 1), 1795500000000);
    EXPECT_TRUE(out) << (out ? "" : out.error().message);
    return out ? out->front() : ApplyResult{};
  }

  std::string hget(const std::string& key, const std::string& field) {
    auto v = client_->command({"HGET", key, field});
    return v ? v->str : "<io error>";
  }
  long long count(std::vector<std::string_view> cmd) {
    auto v = client_->command(cmd);
    return v ? v->integer : -1;
  }
  bool is_member(const std::string& set, const std::string& id) {
    return count({"SISMEMBER", set, id}) == 1;
  }
  std::vector<RedisValue> audit(const std::string& customer) {
    auto v = client_->command({"XRANGE", "stripe:{" + customer + "}:audit", "-", "+"});
    return v ? v->elements : std::vector<RedisValue>{};
  }
  static std::string audit_field(const RedisValue& entry, const std::string& name) {
    const auto& kv = entry.elements[1].elements;
    for (std::size_t i = 0; i + 1 < kv.size(); i += 2)
      if (kv[i].str == name) return kv[i + 1].str;
    return "<missing>";
  }

  // A subscription record with the given status, made by hand for the same-second cases.
  static ChangeRecord subscription(const std::string& event_id, std::int64_t created, int rank,
                                   const std::string& status, const std::string& previous_status) {
    ChangeRecord r;
    r.key = "cus_A";
    r.kind = ObjectKind::subscription;
    r.object_id = "sub_A";
    r.event_id = event_id;
    r.event_type = rank == 1 ? "customer.subscription.created" : "customer.subscription.updated";
    r.created = created;
    r.rank = rank;
    r.index = status == "canceled" ? IndexAction::remove : IndexAction::add;
    r.fields = {{"id", "sub_A"}, {"customer", "cus_A"}, {"status", status}, {"deleted", "0"}};
    if (!previous_status.empty()) {
      r.has_previous = true;
      r.previous = {{"status", previous_status}};
    }
    return r;
  }

  const std::string kCustomer = "stripe:{cus_Rx7Example001}:customer";
  test::RedisServer redis_;
  std::unique_ptr<RedisClient> client_;
  EventStore store_;
};

TEST_F(ApplyChange, FirstEventApplies) {
  auto r = apply(from_fixture("customer.created.json"));
  EXPECT_EQ(r.outcome, ApplyOutcome::applied);
  EXPECT_EQ(hget(kCustomer, "email"), "jordan.old@example.com");
  EXPECT_EQ(hget(kCustomer, "_v"), "17955000071");
  EXPECT_EQ(hget(kCustomer, "_event"), "evt_1Sx00001ExampleA");
  EXPECT_EQ(hget(kCustomer, "_synced_ms"), "1795500000000");
}

TEST_F(ApplyChange, DuplicateWritesNothing) {
  auto rec = from_fixture("customer.created.json");
  ASSERT_EQ(apply(rec).outcome, ApplyOutcome::applied);
  ASSERT_TRUE(client_->command({"HSET", kCustomer, "email", "changed-by-hand@example.com"}));
  EXPECT_EQ(apply(rec).outcome, ApplyOutcome::duplicate);
  EXPECT_EQ(hget(kCustomer, "email"), "changed-by-hand@example.com");
  EXPECT_EQ(audit("cus_Rx7Example001").size(), 1u);
}

TEST_F(ApplyChange, OlderStampIsStaleAndWritesNothing) {
  ASSERT_EQ(apply(from_fixture("customer.updated.json")).outcome, ApplyOutcome::applied);
  auto r = apply(from_fixture("customer.created.json"));  // created earlier, arrives later
  EXPECT_EQ(r.outcome, ApplyOutcome::stale);
  EXPECT_EQ(hget(kCustomer, "email"), "jordan@example.com");
  EXPECT_EQ(hget(kCustomer, "_event"), "evt_1Sx00002ExampleA");
  auto entries = audit("cus_Rx7Example001");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(audit_field(entries[1], "outcome"), "stale");
}

TEST_F(ApplyChange, EqualStampDirectSuccessorApplies) {
  ASSERT_EQ(apply(subscription("evt_1", 100, 2, "active", "incomplete")).outcome, ApplyOutcome::applied);
  auto r = apply(subscription("evt_2", 100, 2, "past_due", "active"));
  EXPECT_EQ(r.outcome, ApplyOutcome::applied);
  EXPECT_EQ(hget("stripe:{cus_A}:subscription:sub_A", "status"), "past_due");
}

TEST_F(ApplyChange, EqualStampNoOpIsStale) {
  ASSERT_EQ(apply(subscription("evt_1", 100, 2, "active", "incomplete")).outcome, ApplyOutcome::applied);
  auto r = apply(subscription("evt_2", 100, 2, "active", "trialing"));
  EXPECT_EQ(r.outcome, ApplyOutcome::stale);
  EXPECT_EQ(hget("stripe:{cus_A}:subscription:sub_A", "_event"), "evt_1");
}

TEST_F(ApplyChange, EqualStampOtherwiseIsAmbiguousAndKeepsTheStoredState) {
  ASSERT_EQ(apply(subscription("evt_1", 100, 2, "active", "incomplete")).outcome, ApplyOutcome::applied);
  auto r = apply(subscription("evt_2", 100, 2, "unpaid", "past_due"));
  EXPECT_EQ(r.outcome, ApplyOutcome::ambiguous);
  EXPECT_EQ(hget("stripe:{cus_A}:subscription:sub_A", "status"), "active");
  EXPECT_EQ(hget("stripe:{cus_A}:subscription:sub_A", "_revalidate"), "evt_2");
}

TEST_F(ApplyChange, EqualStampWithoutPreviousAttributesThatDiffersIsAmbiguous) {
  ASSERT_EQ(apply(subscription("evt_1", 100, 2, "active", "incomplete")).outcome, ApplyOutcome::applied);
  EXPECT_EQ(apply(subscription("evt_2", 100, 2, "past_due", "")).outcome, ApplyOutcome::ambiguous);
  EXPECT_EQ(hget("stripe:{cus_A}:subscription:sub_A", "status"), "active");
}

TEST_F(ApplyChange, SameSecondUpdatesInReverseOrderEndInTheLaterState) {
  auto created = subscription("evt_c", 100, 1, "incomplete", "");
  auto first = subscription("evt_u1", 100, 2, "active", "incomplete");
  auto second = subscription("evt_u2", 100, 2, "past_due", "active");
  ASSERT_EQ(apply(created).outcome, ApplyOutcome::applied);
  EXPECT_EQ(apply(second).outcome, ApplyOutcome::applied);    // newer than the create
  EXPECT_EQ(apply(first).outcome, ApplyOutcome::ambiguous);   // its past is not our present
  EXPECT_EQ(hget("stripe:{cus_A}:subscription:sub_A", "status"), "past_due");
}

TEST_F(ApplyChange, SameSecondUpdatesInOrderEndInTheLaterState) {
  ASSERT_EQ(apply(subscription("evt_c", 100, 1, "incomplete", "")).outcome, ApplyOutcome::applied);
  EXPECT_EQ(apply(subscription("evt_u1", 100, 2, "active", "incomplete")).outcome, ApplyOutcome::applied);
  EXPECT_EQ(apply(subscription("evt_u2", 100, 2, "past_due", "active")).outcome, ApplyOutcome::applied);
  EXPECT_EQ(hget("stripe:{cus_A}:subscription:sub_A", "status"), "past_due");
}

TEST_F(ApplyChange, AValueThatReturnsWithinOneSecondFoolsTheRuleAndIsFlaggedAsATie) {
  // active -> past_due -> active in one second, the last arriving first: the middle one looks
  // like the direct successor of the stored "active" and applies, though it is older (ABA).
  // Only Stripe can tell, so every tie says so and WORKER_REVALIDATE=1 asks (chaos runner).
  ASSERT_EQ(apply(subscription("evt_c", 100, 1, "incomplete", "")).outcome, ApplyOutcome::applied);
  auto a = subscription("evt_a", 101, 2, "active", "incomplete");
  auto b = subscription("evt_b", 101, 2, "past_due", "active");
  auto c = subscription("evt_c2", 101, 2, "active", "past_due");
  ApplyResult rc = apply(c);
  EXPECT_EQ(rc.outcome, ApplyOutcome::applied);
  EXPECT_FALSE(rc.tie);  // a newer second: no tie
  ApplyResult ra = apply(a);
  EXPECT_EQ(ra.outcome, ApplyOutcome::stale);
  EXPECT_TRUE(ra.tie);
  ApplyResult rb = apply(b);
  EXPECT_EQ(rb.outcome, ApplyOutcome::applied);
  EXPECT_TRUE(rb.tie);
  EXPECT_EQ(hget("stripe:{cus_A}:subscription:sub_A", "status"), "past_due");  // wrong, and flagged
  EXPECT_FALSE(apply(subscription("evt_d", 102, 2, "active", "past_due")).tie);
}

TEST_F(ApplyChange, ATieIsStillReportedWhenItsBatchIsAppliedAgain) {
  // A batch that failed after part of it applied (a WAIT short of its replicas, one master of a
  // cluster refusing) is applied again: its events answer duplicate, and a tie among them must
  // still say so, or the worker never asks Stripe and the ABA case above stays wrong.
  ASSERT_EQ(apply(subscription("evt_c", 100, 1, "incomplete", "")).outcome, ApplyOutcome::applied);
  ASSERT_EQ(apply(subscription("evt_c2", 101, 2, "active", "past_due")).outcome, ApplyOutcome::applied);
  auto b = subscription("evt_b", 101, 2, "past_due", "active");
  ASSERT_TRUE(apply(b).tie);
  ApplyResult again = apply(b);
  EXPECT_EQ(again.outcome, ApplyOutcome::duplicate);
  EXPECT_TRUE(again.tie);
  // An event that did not tie stays a plain duplicate.
  auto d = subscription("evt_d", 102, 2, "active", "past_due");
  ASSERT_FALSE(apply(d).tie);
  ApplyResult d_again = apply(d);
  EXPECT_EQ(d_again.outcome, ApplyOutcome::duplicate);
  EXPECT_FALSE(d_again.tie);
  EXPECT_EQ(audit("cus_A").size(), 4u);  // duplicates write nothing
}

TEST_F(ApplyChange, TombstoneIsNeverRevived) {
  ASSERT_EQ(apply(from_fixture("customer.subscription.created.json")).outcome, ApplyOutcome::applied);
  ASSERT_EQ(apply(from_fixture("customer.subscription.deleted.json")).outcome, ApplyOutcome::applied);
  auto late = subscription("evt_late", 1798174999, 2, "active", "canceled");
  late.key = "cus_Rx7Example001";
  late.object_id = "sub_1Rx7ExampleSub1";
  EXPECT_EQ(apply(late).outcome, ApplyOutcome::stale);
  const std::string key = "stripe:{cus_Rx7Example001}:subscription:sub_1Rx7ExampleSub1";
  EXPECT_EQ(hget(key, "deleted"), "1");
  EXPECT_EQ(hget(key, "status"), "canceled");
  EXPECT_FALSE(is_member("stripe:{cus_Rx7Example001}:subscriptions", "sub_1Rx7ExampleSub1"));
}

TEST_F(ApplyChange, DeletedCustomerIsATombstone) {
  ASSERT_EQ(apply(from_fixture("customer.created.json")).outcome, ApplyOutcome::applied);
  ASSERT_EQ(apply(from_fixture("customer.deleted.json")).outcome, ApplyOutcome::applied);
  EXPECT_EQ(hget(kCustomer, "deleted"), "1");
  EXPECT_EQ(apply(from_fixture("customer.updated.json")).outcome, ApplyOutcome::stale);
  EXPECT_EQ(hget(kCustomer, "deleted"), "1");
}

TEST_F(ApplyChange, IndexSetsFollowAttachDetachAndSubscriptionEnd) {
  const std::string pms = "stripe:{cus_Rx7Example001}:payment_methods";
  const std::string subs = "stripe:{cus_Rx7Example001}:subscriptions";
  ASSERT_EQ(apply(from_fixture("payment_method.attached.json")).outcome, ApplyOutcome::applied);
  EXPECT_TRUE(is_member(pms, "pm_1Rx7ExampleCard1"));
  ASSERT_EQ(apply(from_fixture("payment_method.detached.json")).outcome, ApplyOutcome::applied);
  EXPECT_FALSE(is_member(pms, "pm_1Rx7ExampleCard1"));
  EXPECT_EQ(hget("stripe:{cus_Rx7Example001}:payment_method:pm_1Rx7ExampleCard1", "customer"), "cus_Rx7Example001");

  ASSERT_EQ(apply(from_fixture("customer.subscription.created.json")).outcome, ApplyOutcome::applied);
  EXPECT_TRUE(is_member(subs, "sub_1Rx7ExampleSub1"));
  ASSERT_EQ(apply(from_fixture("customer.subscription.deleted.json")).outcome, ApplyOutcome::applied);
  EXPECT_FALSE(is_member(subs, "sub_1Rx7ExampleSub1"));

  // A subscription that ends by an update to status canceled leaves the index too.
  ASSERT_EQ(apply(subscription("evt_1", 100, 1, "active", "")).outcome, ApplyOutcome::applied);
  EXPECT_TRUE(is_member("stripe:{cus_A}:subscriptions", "sub_A"));
  ASSERT_EQ(apply(subscription("evt_2", 101, 2, "canceled", "active")).outcome, ApplyOutcome::applied);
  EXPECT_FALSE(is_member("stripe:{cus_A}:subscriptions", "sub_A"));
}

TEST_F(ApplyChange, AuditStreamRecordsTheChangedFields) {
  ASSERT_EQ(apply(from_fixture("customer.created.json")).outcome, ApplyOutcome::applied);
  auto r = apply(from_fixture("customer.updated.json"));
  ASSERT_EQ(r.outcome, ApplyOutcome::applied);
  EXPECT_EQ(r.changed, "email,default_payment_method");
  auto entries = audit("cus_Rx7Example001");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(audit_field(entries[1], "event_id"), "evt_1Sx00002ExampleA");
  EXPECT_EQ(audit_field(entries[1], "type"), "customer.updated");
  EXPECT_EQ(audit_field(entries[1], "object_id"), "cus_Rx7Example001");
  EXPECT_EQ(audit_field(entries[1], "outcome"), "applied");
  EXPECT_EQ(audit_field(entries[1], "changed"), "email,default_payment_method");
  EXPECT_EQ(audit_field(entries[1], "source"), "webhook");
  EXPECT_EQ(audit_field(entries[1], "api_version"), "") << "the pinned version is not repeated in every entry";
}

TEST_F(ApplyChange, TheAuditNamesAnApiVersionThatIsNotThePinnedOne) {
  ChangeRecord r = from_fixture("customer.created.json");
  r.api_version = "2023-08-16";
  ASSERT_EQ(apply(r).outcome, ApplyOutcome::applied);
  auto entries = audit(r.key);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(audit_field(entries[0], "api_version"), "2023-08-16");
}

TEST_F(ApplyChange, ProcessedMarkersLiveTheDedupeTtlPastTheirDayAndPastTheirApply) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  constexpr std::int64_t kTtl = 35 * 24 * 3600;
  // Applied 40 days after it was created (a replay): its day's hash lives 35 days from now.
  ChangeRecord late = from_fixture("customer.created.json");
  late.created = now - 40 * 86400;
  ASSERT_TRUE(store_.apply(std::span(&late, 1), now * 1000));
  const std::string late_key = store_.keys(late).marker;
  EXPECT_EQ(hget(late_key, late.event_id), "a");
  EXPECT_GT(count({"TTL", late_key}), kTtl - 60);
  EXPECT_LE(count({"TTL", late_key}), kTtl);
  // Created today: 35 days past the end of today (UTC).
  ChangeRecord today = from_fixture("customer.updated.json");
  today.created = now;
  ASSERT_TRUE(store_.apply(std::span(&today, 1), now * 1000));
  const std::string today_key = store_.keys(today).marker;
  EXPECT_NE(today_key, late_key);
  EXPECT_EQ(hget(today_key, today.event_id), "a");
  const std::int64_t expected = (now / 86400 + 1) * 86400 + kTtl - now;
  EXPECT_NEAR(static_cast<double>(count({"TTL", today_key})), static_cast<double>(expected), 5);
}

TEST_F(ApplyChange, ReloadsTheScriptAfterScriptFlush) {
  ASSERT_EQ(apply(from_fixture("customer.created.json")).outcome, ApplyOutcome::applied);
  ASSERT_TRUE(client_->command({"SCRIPT", "FLUSH"}));
  EXPECT_EQ(apply(from_fixture("customer.updated.json")).outcome, ApplyOutcome::applied);
  EXPECT_EQ(hget(kCustomer, "email"), "jordan@example.com");
}

TEST_F(ApplyChange, AScriptErrorOnTheDataFailsOnlyThatRecord) {
  ASSERT_TRUE(client_->command({"SET", kCustomer, "not a hash"}));
  std::vector<ChangeRecord> batch{from_fixture("customer.created.json"),
                                  from_fixture("payment_method.attached.json")};
  auto out = store_.apply(batch, 1);
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)[0].outcome, ApplyOutcome::failed);
  EXPECT_NE((*out)[0].error.find("WRONGTYPE"), std::string::npos) << (*out)[0].error;
  EXPECT_EQ((*out)[1].outcome, ApplyOutcome::applied);
}

TEST_F(ApplyChange, UnreachableRedisIsATransientFailure) {
  auto rec = from_fixture("customer.created.json");
  redis_.stop();
  EXPECT_FALSE(store_.apply(std::span(&rec, 1), 1));
  redis_.start();
  auto out = store_.apply(std::span(&rec, 1), 1);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->front().outcome, ApplyOutcome::applied);
}

ChangeRecord snapshot_of(const std::string& fixture, std::int64_t date, const std::string& sync_id,
                         const std::function<void(boost::json::object&)>& edit = {}) {
  auto ev = boost::json::parse(test::read_fixture("events/" + fixture));
  auto obj = ev.at("data").at("object").as_object();
  if (edit) edit(obj);
  ChangeRecord r;
  EXPECT_EQ(extract_snapshot(boost::json::serialize(obj), date, sync_id, "return-sync", r).status, ExtractStatus::record);
  return r;
}

TEST_F(ApplyChange, ASnapshotOlderThanAnAppliedWebhookDoesNotRollItBack) {
  ASSERT_EQ(apply(from_fixture("customer.updated.json")).outcome, ApplyOutcome::applied);  // created 1795500014
  auto old = snapshot_of("customer.updated.json", 1795500010, "sync_old",
                         [](boost::json::object& o) { o["email"] = "stale@example.com"; });
  EXPECT_EQ(apply(old).outcome, ApplyOutcome::stale);
  EXPECT_EQ(hget(kCustomer, "email"), "jordan@example.com");
}

TEST_F(ApplyChange, ANewerSnapshotAppliesAndIsAudited) {
  ASSERT_EQ(apply(from_fixture("customer.updated.json")).outcome, ApplyOutcome::applied);
  auto fresh = snapshot_of("customer.updated.json", 1795500100, "sync_new",
                           [](boost::json::object& o) { o["email"] = "new@example.com"; });
  auto r = apply(fresh);
  EXPECT_EQ(r.outcome, ApplyOutcome::applied);
  EXPECT_EQ(r.changed, "email");
  EXPECT_EQ(hget(kCustomer, "email"), "new@example.com");
  EXPECT_EQ(hget(kCustomer, "_v"), "17955001002");
  auto entries = audit("cus_Rx7Example001");
  EXPECT_EQ(audit_field(entries.back(), "source"), "return-sync");
  EXPECT_EQ(apply(fresh).outcome, ApplyOutcome::duplicate);  // the same fetch applied twice
}

TEST_F(ApplyChange, ASameSecondSnapshotThatDiffersIsAmbiguous) {
  ASSERT_EQ(apply(from_fixture("customer.updated.json")).outcome, ApplyOutcome::applied);
  auto same_second = snapshot_of("customer.updated.json", 1795500014, "sync_same",
                                 [](boost::json::object& o) { o["email"] = "other@example.com"; });
  EXPECT_EQ(apply(same_second).outcome, ApplyOutcome::ambiguous);
  EXPECT_EQ(hget(kCustomer, "email"), "jordan@example.com");
}

TEST_F(ApplyChange, UsesThePasswordAndDatabaseOfTheRedisUrl) {
  ASSERT_TRUE(client_->command({"CONFIG", "SET", "requirepass", "s3cret-pw"}));
  RedisClient authed(parse_redis_url("redis://:s3cret-pw@127.0.0.1:" + std::to_string(redis_.port()) + "/3"),
                     std::chrono::seconds(2));
  EventStore store(authed, StoreConfig{});
  auto rec = from_fixture("customer.created.json");
  auto out = store.apply(std::span(&rec, 1), 1);
  ASSERT_TRUE(out) << authed.last_error();
  EXPECT_EQ(out->front().outcome, ApplyOutcome::applied);
  // Written to database 3, not 0.
  EXPECT_EQ(authed.command({"EXISTS", kCustomer})->integer, 1);
  EXPECT_EQ(authed.command({"SELECT", "0"})->str, "OK");
  EXPECT_EQ(authed.command({"EXISTS", kCustomer})->integer, 0);

  RedisClient wrong(parse_redis_url("redis://:not-it@127.0.0.1:" + std::to_string(redis_.port()) + "/0"),
                    std::chrono::seconds(2));
  EXPECT_FALSE(wrong.command({"PING"}));
  EXPECT_NE(wrong.last_error().find("refused the credentials"), std::string::npos) << wrong.last_error();
  EXPECT_EQ(wrong.last_error().find("not-it"), std::string::npos);
}

// Every example event of Stripe's applies through the one path, each to its own key.
TEST_F(ApplyChange, EveryExampleEventApplies) {
  const Keys keys;
  for (const auto& name : test::event_fixture_names()) {
    ChangeRecord r;
    ASSERT_EQ(extract_change(test::read_fixture(name), r).status, ExtractStatus::record) << name;
    auto out = apply(r);
    EXPECT_NE(out.outcome, ApplyOutcome::failed) << name << ": " << out.error;
    EXPECT_EQ(count({"EXISTS", store_.keys(r).object}), 1) << name;
    EXPECT_EQ(count({"HEXISTS", store_.keys(r).marker, r.event_id}), 1) << name;
  }
  EXPECT_EQ(hget(keys.invoice("cus_Rx7Example001", "in_1Rx7ExampleInv2"), "status"), "void");
  EXPECT_EQ(hget(keys.price("price_1Rx7ExamplePro"), "nickname"), "Pro (monthly)");
  EXPECT_EQ(hget(keys.product("prod_Rx7ExamplePro"), "name"), "Pro");
  EXPECT_EQ(hget(keys.checkout_session("cus_Rx7Example001", "cs_test_a1Rx7ExampleCheckout1"), "subscription"),
            "sub_1Rx7ExampleSub1");
  test::record_redis_records(*client_);  // every kind's record, validated by records_validate
}

// The issue's case: whatever arrives later, a voided invoice stays voided.
TEST_F(ApplyChange, AVoidedInvoiceIsNeverRevivedByAnOlderOrSameSecondEvent) {
  const Keys keys;
  auto voided = from_fixture("invoice.voided.json");
  ASSERT_EQ(apply(voided).outcome, ApplyOutcome::applied);
  const std::string hash = keys.invoice(voided.key, voided.object_id);
  // The same invoice as open, an event older than the void.
  auto open = voided;
  open.event_id = "evt_open_older";
  open.event_type = "invoice.finalized";
  open.created = voided.created - 60;
  open.rank = 2;
  for (auto& [k, v] : open.fields)
    if (k == "status") v = "open";
  EXPECT_EQ(apply(open).outcome, ApplyOutcome::stale);
  // The same second: an open invoice ranks below a void one.
  open.event_id = "evt_open_same_second";
  open.created = voided.created;
  EXPECT_EQ(apply(open).outcome, ApplyOutcome::stale);
  EXPECT_EQ(hget(hash, "status"), "void");
  // A later change of the voided invoice (void again) still applies.
  auto later = voided;
  later.event_id = "evt_void_later";
  later.created = voided.created + 5;
  EXPECT_EQ(apply(later).outcome, ApplyOutcome::applied);
  EXPECT_EQ(hget(hash, "status"), "void");
}

TEST_F(ApplyChange, InvoicesMakeTheHistoryByCreatedAndADeletedDraftLeavesIt) {
  const Keys keys;
  const std::string history = keys.invoices("cus_Rx7Example001");
  for (const char* f : {"invoice.marked_uncollectible.json", "invoice.created.json", "invoice.voided.json"}) {
    ASSERT_EQ(apply(from_fixture(f)).outcome, ApplyOutcome::applied) << f;
  }
  auto ids = client_->command({"ZRANGE", history, "0", "-1", "WITHSCORES"});
  ASSERT_TRUE(ids);
  std::vector<std::string> got;
  for (const auto& e : ids->elements) got.push_back(e.str);
  // Ordered by each invoice's created, whatever order the events came in.
  std::vector<std::pair<std::int64_t, std::string>> want;
  for (const char* f : {"invoice.marked_uncollectible.json", "invoice.created.json", "invoice.voided.json"}) {
    auto ev = boost::json::parse(test::read_fixture(std::string("events/") + f));
    const auto& o = ev.at("data").at("object");
    want.emplace_back(o.at("created").as_int64(), std::string(o.at("id").as_string()));
  }
  std::sort(want.begin(), want.end());
  std::vector<std::string> expected;
  for (const auto& [created, id] : want) {
    expected.push_back(id);
    expected.push_back(std::to_string(created));
  }
  EXPECT_EQ(got, expected);
  // The draft is deleted: a tombstone, out of the history, never revived.
  auto deleted = from_fixture("invoice.created.json");
  deleted.event_id = "evt_draft_deleted";
  deleted.event_type = "invoice.deleted";
  deleted.created += 10;
  deleted.rank = 5;
  deleted.tombstone = true;
  deleted.index = IndexAction::unorder;
  ASSERT_EQ(apply(deleted).outcome, ApplyOutcome::applied);
  EXPECT_EQ(count({"ZSCORE", history, deleted.object_id}), 0);
  EXPECT_EQ(count({"ZCARD", history}), 2);
  EXPECT_EQ(hget(keys.invoice(deleted.key, deleted.object_id), "deleted"), "1");
  auto update = from_fixture("invoice.updated.json");
  EXPECT_EQ(apply(update).outcome, ApplyOutcome::stale);
  EXPECT_EQ(count({"ZCARD", history}), 2);
}

TEST_F(ApplyChange, AnEntitlementSummaryReplacesTheSetAndAnOlderOneNeverDoes) {
  const Keys keys;
  const std::string active = keys.entitlement_keys("cus_Rx7Example001");
  auto summary = from_fixture("entitlements.active_entitlement_summary.updated.json");
  ASSERT_EQ(apply(summary).outcome, ApplyOutcome::applied);
  EXPECT_TRUE(is_member(active, "priority-support"));
  EXPECT_TRUE(is_member(active, "advanced-reports"));
  // A newer summary with one feature left: the set is exactly that one.
  auto newer = summary;
  newer.event_id = "evt_ent_newer";
  newer.created += 30;
  newer.index_members = {"advanced-reports"};
  for (auto& [k, v] : newer.fields)
    if (k == "lookup_keys") v = R"(["advanced-reports"])";
  ASSERT_EQ(apply(newer).outcome, ApplyOutcome::applied);
  EXPECT_EQ(count({"SCARD", active}), 1);
  EXPECT_TRUE(is_member(active, "advanced-reports"));
  // An older one arriving late changes nothing.
  auto older = summary;
  older.event_id = "evt_ent_older";
  older.created -= 30;
  older.index_members = {"priority-support", "advanced-reports", "sso"};
  EXPECT_EQ(apply(older).outcome, ApplyOutcome::stale);
  EXPECT_EQ(count({"SCARD", active}), 1);
  // Everything taken away: the set is empty (gone), the summary says [].
  auto none = summary;
  none.event_id = "evt_ent_none";
  none.created += 60;
  none.index_members = {};
  for (auto& [k, v] : none.fields)
    if (k == "lookup_keys") v = "[]";
  ASSERT_EQ(apply(none).outcome, ApplyOutcome::applied);
  EXPECT_EQ(count({"EXISTS", active}), 0);
  EXPECT_EQ(hget(keys.entitlements("cus_Rx7Example001"), "lookup_keys"), "[]");
}

TEST(ApplyChangeKeys, EverythingForOneCustomerIsInOneHashSlot) {
  test::RedisServer cluster(false, true);
  auto client = cluster.client();
  EventStore store(*client, StoreConfig{});
  std::set<long long> slots;
  for (const auto& name : test::event_fixture_names()) {
    ChangeRecord r;
    if (extract_change(test::read_fixture(name), r).status != ExtractStatus::record) continue;
    if (r.key != "cus_Rx7Example001" || r.kind == ObjectKind::portal_session) continue;
    auto k = store.keys(r);
    for (const std::string* key : {&k.object, &k.marker, &k.audit, &k.index, &k.drop}) {
      auto v = client->command({"CLUSTER", "KEYSLOT", *key});
      ASSERT_TRUE(v && v->type == RedisValue::Type::integer) << *key;
      slots.insert(v->integer);
    }
  }
  EXPECT_EQ(slots.size(), 1u);
}

}  // namespace
}  // namespace stripe_sync
