// stripe-ingress: reads its settings, builds the app, waits for SIGTERM/SIGINT, drains.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/log.hpp"
#include "ingress/ingress_app.hpp"

int main(int argc, char** argv) {
  using namespace stripe_sync;
  // Block the stop signals in every thread; this one waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args(argv + 1, argv + argc);
  ingress::IngressConfig config;
  try {
    auto settings = Settings::load(ingress::ingress_settings(), args, ::getenv);
    if (settings.help_requested()) {
      std::fputs(Settings::help_text("stripe-ingress [--setting VALUE]...\n\n"
                                     "Verifies Stripe webhooks and produces them to Kafka; answers 200 only once\n"
                                     "the broker has the event.",
                                     ingress::ingress_settings())
                     .c_str(),
                 stdout);
      return 0;
    }
    config = ingress::ingress_config_from(settings);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "stripe-ingress: %s\n", e.what());
    return 2;
  }
  log::configure(config.log_level, config.log_format, "stripe-ingress");

  try {
    ingress::IngressApp app(config);
    app.start();
    int sig = 0;
    sigwait(&stop_signals, &sig);
    log::info("stop signal received; draining", {{"signal", sig}});
    // Requests in flight wait at most the produce timeout; allow that plus a margin.
    bool clean = app.shutdown(config.produce_timeout + std::chrono::seconds(2));
    (void)clean;  // what was cut off got 503, never 200: nothing acknowledged is lost
    return 0;
  } catch (const std::exception& e) {
    log::error("cannot start", {{"error", e.what()}});
    std::fprintf(stderr, "stripe-ingress: %s\n", e.what());
    return 1;
  }
}
