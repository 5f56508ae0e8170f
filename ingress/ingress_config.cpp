#include "ingress/ingress_config.hpp"

#include "common/core/process_main.hpp"
#include "common/redis/redis_probe.hpp"

namespace stripe_sync::ingress {

namespace {
const SettingSpec kSettings[] = {
    {"STRIPE_WEBHOOK_SECRET", "", "webhook signing secrets (whsec_...), comma-separated; every one is tried, for rotation", true, true},
    {"KAFKA_BROKERS", "", "Kafka bootstrap servers, host:port[,host:port]", true},
    {"KAFKA_TOPIC", "stripe.events", "topic the verified events are produced to"},
    {"REDIS_URL", "", "redis://[:password@]host:port[/db][,host:port...] (any node of a Redis Cluster); when set, /readyz also checks Redis"},
    {"REDIS_ALLOW_EVICTION", "0", "1: accept a Redis whose maxmemory-policy evicts keys (it can silently drop billing state)"},
    {"INGRESS_LISTEN", "127.0.0.1:8080", "address and port to listen on (port 0 picks a free one)"},
    {"INGRESS_THREADS", "2", "I/O threads serving connections"},
    {"WEBHOOK_TOLERANCE_S", "300", "largest accepted |now - t| of a signature, seconds (0 disables the check)"},
    {"WEBHOOK_MAX_BYTES", "1048576", "largest accepted webhook body; larger answers 413"},
    {"INGRESS_PRODUCE_TIMEOUT_MS", "5000", "how long a webhook waits for the broker before 503"},
    {"INGRESS_LINGER_MS", "1", "how long the producer gathers events into one batch (linger.ms): fewer, larger produce requests against a longer wait for the 200"},
    {"INGRESS_HEADER_TIMEOUT_MS", "10000", "deadline to receive a request's headers (also the keep-alive idle limit)"},
    {"INGRESS_BODY_TIMEOUT_MS", "30000", "deadline to receive a request's body"},
    {"INGRESS_MAX_CONNECTIONS", "10000", "open connections beyond this are closed at accept"},
    {"WEBHOOK_ALLOWED_CIDRS", "", "comma-separated CIDRs allowed to POST webhooks (empty: any); others get 403"},
    {"TRUSTED_PROXY_CIDRS", "", "comma-separated CIDRs of proxies whose X-Forwarded-For is believed"},
    {"STRIPE_API_KEY", "", "Stripe secret key (sk_...) for the portal API; without it the portal routes answer 503", false, true},
    {"STRIPE_API_BASE", "https://api.stripe.com", "Stripe's API (http://127.0.0.1:port for tests)"},
    {"STRIPE_MAX_RESPONSE_BYTES", "16777216", "largest answer read from Stripe; a larger one is a failed attempt"},
    {"API_KEYS_FILE", "", "portal API keys, one '<sha256 hex> <app|admin> <name>' a line"},
    {"PORTAL_PUBLIC_BASE_URL", "http://127.0.0.1:3000", "the app's base URL: default return pages are this plus the workflow's path"},
    {"PORTAL_RETURN_ORIGINS", "", "comma-separated origins (https://app.example.com) a caller's return_url may use"},
    {"PORTAL_RETURN_SECRET", "", "HMAC key of the signed return links, the same on every instance", false, true},
    {"PORTAL_SESSION_TTL_S", "3600", "how long a portal return link stays valid"},
    kRedisPrefixSetting,
    kDedupeTtlSetting,
    kAuditMaxlenSetting,
    {"PORTAL_RATE_PER_S", "10", "portal API requests a second per key and per client address (bucket of twice that)"},
    {"LOG_LEVEL", "info", "debug, info, warn or error"},
    {"LOG_FORMAT", "json", "json (one object a line) or text"},
};

std::vector<Cidr> cidrs(const Settings& s, std::string_view name) {
  std::vector<Cidr> out;
  for (const auto& item : s.get_list(name)) {
    auto c = parse_cidr(item);
    if (!c) throw ConfigError(std::string(name) + " has a malformed CIDR: '" + item + "'");
    out.push_back(*c);
  }
  return out;
}
}  // namespace

std::span<const SettingSpec> ingress_settings() { return kSettings; }

IngressConfig ingress_config_from(const Settings& s) {
  IngressConfig c;
  for (auto& v : s.get_list("STRIPE_WEBHOOK_SECRET")) c.webhook_secrets.emplace_back(std::move(v));
  if (c.webhook_secrets.empty()) throw ConfigError("missing required setting STRIPE_WEBHOOK_SECRET");
  c.kafka_brokers = s.get("KAFKA_BROKERS");
  c.kafka_topic = s.get("KAFKA_TOPIC");
  c.redis_url = s.get("REDIS_URL");
  if (!c.redis_url.empty()) parse_redis_url(c.redis_url);  // a malformed URL stops the start
  c.redis_allow_eviction = s.get_bool("REDIS_ALLOW_EVICTION");
  c.portal.stripe_max_response_bytes = static_cast<std::size_t>(s.get_int("STRIPE_MAX_RESPONSE_BYTES", 4096, 1LL << 30));
  auto hp = parse_host_port(s.get("INGRESS_LISTEN"), "INGRESS_LISTEN");
  c.listen_host = hp.host;
  c.listen_port = hp.port;
  c.threads = static_cast<int>(s.get_int("INGRESS_THREADS", 1, 256));
  c.tolerance_s = s.get_int("WEBHOOK_TOLERANCE_S", 0, 86400);
  c.max_body_bytes = static_cast<std::size_t>(s.get_int("WEBHOOK_MAX_BYTES", 1024, 64 << 20));
  c.produce_timeout = s.get_ms("INGRESS_PRODUCE_TIMEOUT_MS", 100, 300000);
  c.linger = s.get_ms("INGRESS_LINGER_MS", 0, 1000);
  c.header_timeout = s.get_ms("INGRESS_HEADER_TIMEOUT_MS", 100, 3600000);
  c.body_timeout = s.get_ms("INGRESS_BODY_TIMEOUT_MS", 100, 3600000);
  c.max_connections = static_cast<std::size_t>(s.get_int("INGRESS_MAX_CONNECTIONS", 1, 1000000));
  c.allowed_cidrs = cidrs(s, "WEBHOOK_ALLOWED_CIDRS");
  c.trusted_proxy_cidrs = cidrs(s, "TRUSTED_PROXY_CIDRS");
  c.portal.stripe_api_key = s.get("STRIPE_API_KEY");
  c.portal.stripe_api_base = s.get("STRIPE_API_BASE");
  c.portal.api_keys_file = s.get("API_KEYS_FILE");
  c.portal.public_base_url = s.get("PORTAL_PUBLIC_BASE_URL");
  c.portal.return_origins = s.get_list("PORTAL_RETURN_ORIGINS");
  c.portal.return_secret = s.get("PORTAL_RETURN_SECRET");
  c.portal.session_ttl = std::chrono::seconds(s.get_int("PORTAL_SESSION_TTL_S", 1, 30 * 86400));
  c.portal.store = store_config_from(s);
  c.portal.rate_per_s = static_cast<double>(s.get_int("PORTAL_RATE_PER_S", 1, 100000));
  c.portal.burst = 2 * c.portal.rate_per_s;
  if (c.portal.enabled() && c.redis_url.empty()) {
    throw ConfigError("the portal API needs REDIS_URL as well as STRIPE_API_KEY");
  }
  read_log_settings(s, c.log_level, c.log_format);
  return c;
}

}  // namespace stripe_sync::ingress
