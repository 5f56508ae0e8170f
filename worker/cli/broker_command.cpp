// stripe-sync broker: librdkafka's mock cluster as a stand-alone process.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "common/core/config.hpp"
#include "common/core/log.hpp"
#include "common/kafka/mock_cluster.hpp"
#include "common/core/process_main.hpp"
#include "worker/cli/cli_commands.hpp"

namespace stripe_sync::cli {

namespace {
const SettingSpec kBrokerSettings[] = {
    {"", "3", "number of brokers (replication is min(3, brokers))", false, false, "brokers"},
    {"", "", "also write the bootstrap servers to this file (written atomically)", false, false, "bootstrap-file"},
    {"KAFKA_TOPIC", "stripe.events", "the events topic to create"},
    {"KAFKA_DLQ_TOPIC", "stripe.events.dlq", "the dead-letter topic to create"},
    {"", "6", "partitions of the events topic", false, false, "partitions"},
    {"", "", "read fault commands on stdin, one a line, answering ok or error on stdout: "
             "down <broker>, up <broker>, leader <topic> <partition> <broker> (for tests)",
     false, false, "control", true},
    {"LOG_LEVEL", "warn", "debug, info, warn or error"},
    {"LOG_FORMAT", "json", "json or text"},
};

constexpr const char* kBrokerUsage =
    "stripe-sync broker [--brokers N] [--bootstrap-file PATH]\n\n"
    "Runs an embedded Kafka-protocol broker (librdkafka's mock cluster) for local runs and tests.\n"
    "It keeps EVERYTHING IN MEMORY: topics and offsets are gone when it stops, and each partition\n"
    "keeps only its newest ~5 MB (librdkafka's fixed mock limit): older messages are dropped even\n"
    "if nobody consumed them. Production uses real Kafka (see deploy/). It creates the events topic\n"
    "and the dead-letter topic, prints its bootstrap servers as the first line on stdout once it\n"
    "accepts connections, and runs until SIGINT or SIGTERM.";
}  // namespace

int run_broker(const std::vector<std::string>& args) {
  sigset_t stop_signals = block_stop_signals();  // before librdkafka starts its threads

  auto s = Settings::load(kBrokerSettings, args, ::getenv);
  if (s.help_requested()) {
    std::fputs(Settings::help_text(kBrokerUsage, kBrokerSettings).c_str(), stdout);
    return 0;
  }
  if (!s.positional().empty()) throw ConfigError("unexpected argument '" + s.positional().front() + "'");
  log::configure(log::parse_level(s.get("LOG_LEVEL")), log::parse_format(s.get("LOG_FORMAT")),
                 "stripe-sync-broker");
  int brokers = static_cast<int>(s.get_int("brokers", 1, 16));
  int partitions = static_cast<int>(s.get_int("partitions", 1, 1024));

  MockKafkaCluster cluster(brokers);
  cluster.create_topic(s.get("KAFKA_TOPIC"), partitions);
  cluster.create_topic(s.get("KAFKA_DLQ_TOPIC"), 1);
  const std::string bootstrap = cluster.bootstrap_servers();

  if (const std::string& path = s.get("bootstrap-file"); !path.empty()) {
    std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << bootstrap << "\n";
      if (!out.flush()) throw std::runtime_error("cannot write " + tmp);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot write " + path);
  }
  // The listeners were bound and listening when the cluster was created: say so now.
  std::cout << bootstrap << std::endl;
  log::info("embedded broker running (in memory only)",
            {{"bootstrap", bootstrap}, {"brokers", brokers}, {"partitions", partitions}});

  const bool controlled = s.get_bool("control");
  std::thread control;
  if (controlled) {
    // Detached on purpose: a blocking read of stdin cannot be interrupted; the process exits.
    control = std::thread([&cluster] {
      std::string line;
      while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string verb, topic;
        int a = 0, b = 0;
        in >> verb;
        try {
          if (verb == "down" && (in >> a)) cluster.set_broker_down(a);
          else if (verb == "up" && (in >> a)) cluster.set_broker_up(a);
          else if (verb == "leader" && (in >> topic >> a >> b)) cluster.set_partition_leader(topic, a, b);
          else throw std::invalid_argument("unknown command: " + line);
          std::cout << "ok" << std::endl;
          log::info("fault injected", {{"command", line}});
        } catch (const std::exception& e) {
          std::cout << "error " << e.what() << std::endl;
        }
      }
    });
    control.detach();
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log::info("embedded broker stopping", {{"signal", sig}});
  // The control thread may sit in a read of stdin that nothing can interrupt: leave at once
  // (the cluster is in memory and dies with the process).
  if (controlled) std::_Exit(0);
  return 0;
}

}  // namespace stripe_sync::cli
