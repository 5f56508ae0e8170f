// stripe-worker: reads its settings, runs the Worker until SIGTERM/SIGINT, then drains.
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "common/config.hpp"
#include "common/log.hpp"
#include "worker/worker.hpp"

int main(int argc, char** argv) {
  using namespace stripe_sync;
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args(argv + 1, argv + argc);
  worker::WorkerConfig config;
  try {
    auto settings = Settings::load(worker::worker_settings(), args, ::getenv);
    if (settings.help_requested()) {
      std::fputs(Settings::help_text("stripe-worker [--setting VALUE]...\n\n"
                                     "Consumes Stripe events from Kafka and applies them to Redis: deduplicated,\n"
                                     "version-stamped, audited. Events that can never apply go to the DLQ topic.",
                                     worker::worker_settings())
                     .c_str(),
                 stdout);
      return 0;
    }
    config = worker::worker_config_from(settings);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "stripe-worker: %s\n", e.what());
    return 2;
  }
  log::configure(config.log_level, config.log_format, "stripe-worker");
  try {
    worker::Worker w(config);
    w.start();
    int sig = 0;
    sigwait(&stop_signals, &sig);
    log::info("stop signal received; draining", {{"signal", sig}});
    w.stop();
    return 0;
  } catch (const std::exception& e) {
    log::error("worker failed", {{"error", e.what()}});
    std::fprintf(stderr, "stripe-worker: %s\n", e.what());
    return 1;
  }
}
