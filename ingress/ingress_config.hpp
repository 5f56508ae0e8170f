#pragma once
// stripe-ingress's settings: one plain struct, filled once at start-up from the environment and
// flags (see --help), validated, then passed by const reference.
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/core/config.hpp"
#include "common/core/log.hpp"
#include "common/http/client_address.hpp"
#include "ingress/portal/portal_config.hpp"

namespace stripe_sync::ingress {

struct IngressConfig {
  std::vector<Secret> webhook_secrets;
  std::string kafka_brokers;
  std::string kafka_topic = "stripe.events";
  std::string redis_url;                     // optional: /readyz checks it when set
  bool redis_allow_eviction = false;         // REDIS_ALLOW_EVICTION
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  int threads = 2;
  std::int64_t tolerance_s = 300;
  std::size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds produce_timeout{5000};
  std::chrono::milliseconds linger{1};  // the producer's linger.ms: batching against ack latency
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::size_t max_connections = 10000;
  std::vector<Cidr> allowed_cidrs;           // empty: any source
  std::vector<Cidr> trusted_proxy_cidrs;     // X-Forwarded-For is believed only from these
  PortalConfig portal;  // the portal API's own settings
  log::Level log_level = log::Level::info;
  log::Format log_format = log::Format::json;
};

std::span<const SettingSpec> ingress_settings();

// Throws ConfigError (one line) when a value is missing or malformed.
IngressConfig ingress_config_from(const Settings& settings);

}  // namespace stripe_sync::ingress
