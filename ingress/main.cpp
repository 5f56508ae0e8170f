// stripe-ingress: reads its settings, builds the app, waits for SIGTERM/SIGINT, drains.
#include <cstdio>

#include "common/redis/redis_settings.hpp"
#include "common/core/log.hpp"
#include "common/core/process_main.hpp"
#include "ingress/ingress_app.hpp"

int main(int argc, char** argv) {
  using namespace stripe_sync;
  sigset_t stop_signals = block_stop_signals();
  int exit_code = 0;
  auto settings = load_settings("stripe-ingress",
                                "stripe-ingress [--setting VALUE]...\n\n"
                                "Verifies Stripe webhooks and produces them to Kafka; answers 200 only once\n"
                                "the broker has the event. Also serves the portal API.",
                                ingress::ingress_settings(), argc, argv, exit_code);
  if (!settings) return exit_code;
  ingress::IngressConfig config;
  try {
    config = ingress::ingress_config_from(*settings);
    log::configure(config.log_level, config.log_format, "stripe-ingress");
    if (!config.redis_url.empty()) check_redis_at_start(parse_redis_url(config.redis_url), config.redis_allow_eviction);
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
    // Requests in flight wait at most the produce timeout; allow that plus a margin. What is cut
    // off got 503, never 200: nothing acknowledged is lost, so the exit status stays 0.
    app.shutdown(config.produce_timeout + std::chrono::seconds(2));
    return 0;
  } catch (const std::exception& e) {
    log::error("cannot start", {{"error", e.what()}});
    std::fprintf(stderr, "stripe-ingress: %s\n", e.what());
    return 1;
  }
}
