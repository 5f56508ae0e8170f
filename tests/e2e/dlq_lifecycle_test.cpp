// The dead-letter queue's lifecycle, end to end: an entry is pending until `dlq replay` sends it
// back (replayed, with when and by which command), and resolved once its outcome is durable in
// Redis; the worker's pending gauge and `dlq list --state pending --count` agree; replay and
// resolution are in the customer's audit stream. Real processes, a real redis-server, the
// embedded broker.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <optional>
#include <sstream>

#include "common/billing/keys.hpp"
#include "common/kafka/kafka_producer.hpp"
#include "common/kafka/topic_reader.hpp"
#include "common/stripe/signature.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/record_log.hpp"
#include "tests/support/stack.hpp"

namespace stripe_sync {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kSecret = "whsec_dlq_lifecycle_0123456789";
const Keys keys;

test::StackBinaries binaries() { return {STRIPE_SYNC_CLI, STRIPE_INGRESS_BIN, STRIPE_WORKER_BIN}; }

void post(test::Stack& stack, const std::string& body) {
  std::vector<std::string> secrets{kSecret};
  ASSERT_EQ(test::post_webhook(stack.ingress_port(), body, sign_payload(body, secrets, test::unix_now())).status, 200);
}

// customer.updated for `customer`, as Stripe sends it.
std::string customer_updated(const std::string& id, const std::string& customer, std::int64_t created) {
  json::object ev = json::parse(test::read_fixture("events/customer.updated.json")).as_object();
  ev["id"] = id;
  ev["created"] = created;
  ev["data"].as_object()["object"].as_object()["id"] = customer;
  return json::serialize(ev);
}

// A subscription event naming no customer: it can never apply, however often it is replayed.
std::string never_applies(const std::string& id) {
  json::object ev = json::parse(test::read_fixture("events/customer.subscription.updated.json")).as_object();
  ev["id"] = id;
  ev["data"].as_object()["object"].as_object().erase("customer");
  return json::serialize(ev);
}

std::map<std::string, json::object> listed_by_offset(const std::string& text) {
  std::map<std::string, json::object> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    json::object o = json::parse(line).as_object();
    out[std::to_string(o.at("dlq_offset").as_int64()) + "@" + std::to_string(o.at("dlq_partition").as_int64())] = o;
  }
  return out;
}

// The customer's audit entries as field maps, oldest first.
std::vector<std::map<std::string, std::string>> audit_of(test::Stack& stack, const std::string& customer) {
  auto v = stack.redis().client()->command({"XRANGE", keys.audit(customer), "-", "+"});
  std::vector<std::map<std::string, std::string>> out;
  if (!v) return out;
  for (const auto& entry : v->elements) {
    std::map<std::string, std::string> f;
    const auto& kv = entry.elements[1].elements;
    for (std::size_t i = 0; i + 1 < kv.size(); i += 2) f[kv[i].str] = kv[i + 1].str;
    out.push_back(f);
  }
  return out;
}

TEST(DlqLifecycle, PendingThenReplayedThenResolvedWithTheGaugeAndTheAuditStreamAgreeing) {
  test::Stack stack(binaries(), kSecret);
  stack.start_worker();
  // A key of the customer holding the wrong type (an operator's mistake): the script refuses the
  // event for its data, so the worker dead-letters it.
  ASSERT_EQ(stack.redis().client()->command({"SET", keys.customer("cus_dlq_A"), "not a hash"})->str, "OK");
  const std::int64_t created_a = test::unix_now() - 60;
  post(stack, customer_updated("evt_dlq_A", "cus_dlq_A", created_a));
  post(stack, never_applies("evt_dlq_B"));
  ASSERT_TRUE(test::eventually([&] { return topic_message_count(stack.bootstrap(), "stripe.events.dlq") == 2; }, 60s));

  std::string w;
  EXPECT_TRUE(test::eventually([&] {
    w = test::scrape_metrics(stack.worker_status_port());
    return test::metric_value(w, "stripe_worker_dlq_pending") == 2 &&
           test::metric_value(w, "stripe_worker_dlq_messages") == 2;
  }, 30s)) << w;
  EXPECT_EQ(stack.cli({"dlq", "list", "--state", "pending", "--count"}), "2\n");
  EXPECT_EQ(stack.cli({"dlq", "list", "--state", "resolved", "--count"}), "0\n");
  for (const auto& [at, o] : listed_by_offset(stack.cli({"dlq", "list"}))) {
    EXPECT_EQ(o.at("state").as_string(), "pending") << at;
    EXPECT_FALSE(o.contains("replayed_at")) << at;
  }

  // The operator removes the bad key, and replays exactly what is pending.
  ASSERT_EQ(stack.redis().client()->command({"DEL", keys.customer("cus_dlq_A")})->integer, 1);
  std::string out = stack.cli({"dlq", "replay", "--pending"});
  EXPECT_NE(out.find("replayed 2 of 2"), std::string::npos) << out;
  // A: applies this time. B: dead-lettered again, a new pending entry.
  ASSERT_TRUE(test::eventually([&] { return topic_message_count(stack.bootstrap(), "stripe.events.dlq") == 3; }, 60s));
  ASSERT_TRUE(test::eventually([&] {
    return stack.redis().client()->command({"HEXISTS", keys.markers("cus_dlq_A", created_a), "evt_dlq_A"})->integer == 1;
  }, 60s));

  std::map<std::string, std::string> state_of;
  std::string listed = stack.cli({"dlq", "list"});
  for (const auto& [at, o] : listed_by_offset(listed)) {
    std::string id(o.at("event_id").as_string());
    state_of[id + "/" + std::string(o.at("state").as_string())] = at;
    if (o.at("state").as_string() != "pending") {
      EXPECT_EQ(o.at("replayed_by").as_string(), "dlq replay --pending") << listed;
      EXPECT_FALSE(o.at("replayed_at").as_string().empty());
    }
    if (o.at("state").as_string() == "resolved") {
      EXPECT_EQ(o.at("outcome").as_string(), "applied") << listed;
      EXPECT_FALSE(o.at("resolved_at").as_string().empty());
    }
  }
  EXPECT_EQ(state_of.size(), 3u) << listed;
  EXPECT_TRUE(state_of.count("evt_dlq_A/resolved")) << listed;
  EXPECT_TRUE(state_of.count("evt_dlq_B/replayed")) << listed;
  EXPECT_TRUE(state_of.count("evt_dlq_B/pending")) << listed;
  EXPECT_EQ(stack.cli({"dlq", "list", "--state", "pending", "--count"}), "1\n");
  EXPECT_EQ(stack.cli({"dlq", "list", "--state", "replayed", "--count"}), "1\n");
  EXPECT_EQ(stack.cli({"dlq", "list", "--state", "resolved", "--count"}), "1\n");
  EXPECT_TRUE(test::eventually([&] {
    w = test::scrape_metrics(stack.worker_status_port());
    return test::metric_value(w, "stripe_worker_dlq_pending") == 1 &&
           test::metric_value(w, "stripe_worker_dlq_messages") == 3;
  }, 30s)) << w;
  // --pending picks the one pending entry only, however often it is asked.
  std::string dry = stack.cli({"dlq", "replay", "--pending", "--dry-run"});
  EXPECT_NE(dry.find("would replay 1 of 3"), std::string::npos) << dry;
  EXPECT_NE(dry.find("\"evt_dlq_B\""), std::string::npos) << dry;

  // The customer's audit stream: the replay, the apply it caused, and the resolution, once each
  // however many times the queue was listed.
  auto entries = audit_of(stack, "cus_dlq_A");
  std::vector<std::string> seen;
  for (const auto& e : entries) seen.push_back(e.at("outcome") + "/" + e.at("source"));
  EXPECT_EQ(seen, (std::vector<std::string>{"dlq_replayed/dlq", "applied/replay", "dlq_resolved/dlq"}));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].at("event_id"), "evt_dlq_A");
  EXPECT_EQ(entries[0].at("changed"), "dlq replay --pending");
  EXPECT_EQ(entries[2].at("changed"), "applied");
  test::record_redis_records(*stack.redis().client());  // validated against schemas/records/ (records_validate)
}

TEST(DlqLifecycle, AnEntryWithAnUnreadableTimeIsListedAndReplayedLikeAnyOther) {
  test::Stack stack(binaries(), kSecret);
  // Written by hand (a tool, an operator), with a dlq-at-ms that is not a number.
  ProducerConfig pc;
  pc.brokers = stack.bootstrap();
  pc.topics = {"stripe.events.dlq"};
  pc.client_id = "dlq-by-hand";
  KafkaProducer producer(pc);
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  OutgoingMessage m;
  m.topic = "stripe.events.dlq";
  m.key = "cus_dlq_hand";
  const std::string body = customer_updated("evt_dlq_hand", "cus_dlq_hand", test::unix_now() - 60);
  m.value = body;
  m.headers = {{"stripe-event-id", "evt_dlq_hand"}, {"stripe-event-type", "customer.updated"},
               {"source", "webhook"}, {"dlq-reason", "manual"}, {"dlq-at-ms", "yesterday"}};
  std::optional<PublishStatus> status;
  producer.publish(std::move(m), ioc.get_executor(), [&](PublishResult r) { status = r.status; });
  while (!status) ioc.run_one_for(100ms);
  ASSERT_EQ(*status, PublishStatus::ok);

  std::string listed = stack.cli({"dlq", "list"});
  auto entries = listed_by_offset(listed);
  ASSERT_EQ(entries.size(), 1u) << listed;
  const json::object& o = entries.begin()->second;
  EXPECT_EQ(o.at("event_id").as_string(), "evt_dlq_hand");
  EXPECT_EQ(o.at("dead_lettered_at").as_string(), "");
  EXPECT_EQ(o.at("state").as_string(), "pending");
  // --since cannot place it, so it is not chosen; --pending is.
  EXPECT_NE(stack.cli({"dlq", "replay", "--since", "2020-01-01", "--dry-run"}).find("would replay 0 of 1"),
            std::string::npos);
  EXPECT_NE(stack.cli({"dlq", "replay", "--pending"}).find("replayed 1 of 1"), std::string::npos);
}

TEST(DlqLifecycle, WithoutRedisTheStatesAreUnknownAndNothingIsReplayed) {
  test::Stack stack(binaries(), kSecret);
  stack.start_worker();
  post(stack, never_applies("evt_dlq_C"));
  ASSERT_TRUE(test::eventually([&] { return topic_message_count(stack.bootstrap(), "stripe.events.dlq") == 1; }, 60s));
  stack.redis().stop();
  auto run = [&](std::vector<std::string> args, std::string* stdout_text) {
    args.insert(args.begin(), STRIPE_SYNC_CLI);
    test::ChildProcess p(args, {"KAFKA_BROKERS=" + stack.bootstrap(), "REDIS_URL=" + stack.redis_url()},
                         stack.dir() + "/cli-noredis.log");
    p.close_stdin();
    *stdout_text = p.read_all_stdout(60s);
    return p.wait(30s).value_or(-1);
  };
  std::string text;
  // The entries are still listed, with a state nobody can know now.
  EXPECT_EQ(run({"dlq", "list"}, &text), 0);
  EXPECT_NE(text.find("\"state\":\"unknown\""), std::string::npos) << text;
  EXPECT_NE(text.find("evt_dlq_C"), std::string::npos) << text;
  // What needs a state fails, and a replay sends nothing it could not record.
  EXPECT_EQ(run({"dlq", "list", "--state", "pending", "--count"}, &text), 1);
  EXPECT_EQ(run({"dlq", "replay", "--pending"}, &text), 1);
  EXPECT_EQ(run({"dlq", "replay", "--event-id", "evt_dlq_C"}, &text), 1);
  EXPECT_EQ(topic_message_count(stack.bootstrap(), "stripe.events"), 1);
  EXPECT_EQ(run({"dlq", "list", "--state", "done"}, &text), 2) << "a state that does not exist is a usage error";
  stack.redis().start();
}

}  // namespace
}  // namespace stripe_sync
