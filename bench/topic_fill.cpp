// Fills the events topic with N customer.updated events for C customers (each customer's
// events in increasing `created`, so every one applies), as the ingress would have produced
// them; with KIND "subscription", customer.subscription.updated events of one subscription per
// customer instead (the widest record). For bench/apply_bench.sh: the worker then drains a
// pre-filled topic.
//   topic_fill BOOTSTRAP N C [customer|subscription]
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/kafka/kafka_producer.hpp"

int main(int argc, char** argv) {
  using namespace stripe_sync;
  if (argc != 4 && argc != 5) {
    std::cerr << "usage: topic_fill BOOTSTRAP EVENTS CUSTOMERS [customer|subscription]\n";
    return 2;
  }
  const std::string bootstrap = argv[1];
  const long n = std::stol(argv[2]), customers = std::stol(argv[3]);
  const bool subscriptions = argc == 5 && std::string(argv[4]) == "subscription";
  const std::string type = subscriptions ? "customer.subscription.updated" : "customer.updated";
  std::ifstream in(std::string(STRIPE_SYNC_FIXTURES_DIR) + "/events/" + type + ".json");
  std::ostringstream ss;
  ss << in.rdbuf();
  auto tmpl = boost::json::parse(ss.str()).as_object();

  ProducerConfig pc;
  pc.brokers = bootstrap;
  pc.topics = {"stripe.events"};
  pc.linger = std::chrono::milliseconds(20);
  pc.message_timeout = std::chrono::milliseconds(60000);
  pc.client_id = "topic-fill";
  pc.extra["queue.buffering.max.messages"] = "1000000";
  KafkaProducer producer(pc);
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  long done = 0, failed = 0;
  for (long i = 0; i < n; ++i) {
    long c = i % customers, k = i / customers;
    auto ev = tmpl;
    std::string cus = "cus_bench" + std::to_string(c);
    ev["id"] = "evt_bench" + std::to_string(i);
    ev["created"] = 1795500000 + k;
    auto& obj = ev["data"].as_object()["object"].as_object();
    if (subscriptions) {
      obj["id"] = "sub_bench" + std::to_string(c);
      obj["customer"] = cus;
      obj["status"] = k % 2 ? "past_due" : "active";
    } else {
      obj["id"] = cus;
      obj["email"] = cus + "-" + std::to_string(k) + "@example.com";
    }
    auto body = std::make_shared<std::string>(boost::json::serialize(ev));
    std::string id = "evt_bench" + std::to_string(i), created = std::to_string(1795500000 + k);
    OutgoingMessage m;
    m.topic = "stripe.events";
    m.key = cus;
    m.value = *body;
    m.owner = body;
    m.headers = {{"stripe-event-id", id}, {"stripe-event-type", type},
                 {"stripe-event-created", created}, {"source", "webhook"}};
    producer.publish(std::move(m), ioc.get_executor(), [&](PublishResult r) {
      ++done;
      if (r.status != PublishStatus::ok) ++failed;
    });
    if (i % 10000 == 0) ioc.poll();
  }
  while (done < n) ioc.run_one_for(std::chrono::milliseconds(100));
  std::cout << "produced " << (n - failed) << " events for " << customers << " customers\n";
  return failed ? 1 : 0;
}
