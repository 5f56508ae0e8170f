// stripe-worker: reads its settings, runs the Worker until SIGTERM/SIGINT, then drains.
#include <cstdio>
#include <memory>


#include "common/core/log.hpp"
#include "common/core/process_main.hpp"
#include "common/redis/redis_settings.hpp"
#include "common/http/status_server.hpp"
#include "worker/worker.hpp"

int main(int argc, char** argv) {
  using namespace stripe_sync;
  sigset_t stop_signals = block_stop_signals();
  int exit_code = 0;
  auto settings = load_settings("stripe-worker",
                                "stripe-worker [--setting VALUE]...\n\n"
                                "Consumes Stripe events from Kafka and applies them to Redis: deduplicated,\n"
                                "version-stamped, audited. Events that can never apply go to the DLQ topic.",
                                worker::worker_settings(), argc, argv, exit_code);
  if (!settings) return exit_code;
  worker::WorkerConfig config;
  try {
    config = worker::worker_config_from(*settings);
    log::configure(config.log_level, config.log_format, "stripe-worker");
    check_redis_at_start(config.redis, config.redis_allow_eviction);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "stripe-worker: %s\n", e.what());
    return 2;
  }
  log::configure(config.log_level, config.log_format, "stripe-worker");
  try {
    worker::Worker w(config);
    std::unique_ptr<StatusServer> status;
    if (config.metrics_listen != "off") {
      HostPort hp = parse_host_port(config.metrics_listen, "WORKER_METRICS_LISTEN");
      status = std::make_unique<StatusServer>(hp.host, hp.port, w);
      log::info("status routes listening", {{"address", hp.host}, {"port", static_cast<int>(status->port())}});
    }
    w.start();
    int sig = 0;
    sigwait(&stop_signals, &sig);
    log::info("stop signal received; draining", {{"signal", sig}});
    w.stop();
    status.reset();
    return 0;
  } catch (const std::exception& e) {
    log::error("worker failed", {{"error", e.what()}});
    std::fprintf(stderr, "stripe-worker: %s\n", e.what());
    return 1;
  }
}
