// stripe-sync: the operator's command line. Each command lives in its own file; this one only
// dispatches.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/core/config.hpp"
#include "worker/cli/cli_commands.hpp"

namespace {
constexpr const char* kUsage =
    "usage: stripe-sync <command> [options]\n\n"
    "Commands:\n"
    "  broker   run the embedded, in-memory Kafka-protocol broker for local runs and tests\n"
    "  sign     print a Stripe-Signature header for the payload on stdin\n"
    "  state    state customer <cus_id>: the customer's synced state as one typed JSON document\n"
    "  audit    audit <cus_id> [--limit N]: the customer's audit trail, newest first\n"
    "  doctor   check a deployment before it takes traffic: settings, Kafka, Redis, Stripe\n"
    "  dlq      dlq list | dlq replay [--event-id ID]... [--type T] [--since ISO8601] [--dry-run]\n"
    "  backfill backfill --since <ISO8601|duration> [--type T]... | backfill --undelivered:\n"
    "           re-publish Stripe's event list into the topic (source=backfill)\n\n"
    "Run 'stripe-sync <command> --help' for the options of one command.\n";
}

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (command == "broker") return stripe_sync::cli::run_broker(args);
    if (command == "sign") return stripe_sync::cli::run_sign(args);
    if (command == "state") return stripe_sync::cli::run_state(args);
    if (command == "audit") return stripe_sync::cli::run_audit(args);
    if (command == "dlq") return stripe_sync::cli::run_dlq(args);
    if (command == "backfill") return stripe_sync::cli::run_backfill(args);
    if (command == "doctor") return stripe_sync::cli::run_doctor(args);
  } catch (const stripe_sync::ConfigError& e) {
    std::fprintf(stderr, "stripe-sync %s: %s\n", command.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stripe-sync %s: %s\n", command.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "stripe-sync: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}
