#pragma once
// The portal API's settings, a part of stripe-ingress's (filled by ingress_config_from). The
// portal is served when STRIPE_API_KEY, PORTAL_RETURN_SECRET and API_KEYS_FILE are set.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/billing/event_store.hpp"
#include "common/core/secret.hpp"

namespace stripe_sync::ingress {

struct PortalConfig {
  Secret stripe_api_key;
  std::string stripe_api_base = "https://api.stripe.com";
  std::size_t stripe_max_response_bytes = 16 << 20;
  std::string api_keys_file;
  std::string public_base_url;  // the app: default return pages are this + the workflow's path
  std::vector<std::string> return_origins;  // scheme://host[:port] a caller's return_url may use
  Secret return_secret;
  std::chrono::seconds session_ttl{3600};
  StoreConfig store;  // REDIS_PREFIX, DEDUPE_TTL_S, AUDIT_MAXLEN: as the worker writes
  double rate_per_s = 10;       // per API key and per client address
  double burst = 20;
  int threads = 4;              // blocking Stripe and Redis calls run here, not on I/O threads
  bool enabled() const { return !stripe_api_key.empty() && !return_secret.empty() && !api_keys_file.empty(); }
};

}  // namespace stripe_sync::ingress
