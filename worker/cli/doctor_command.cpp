// stripe-sync doctor: a pre-flight check of a deployment, run with the processes' own settings.
// One line per check (ok / warn / fail, what it found, and the fix), exit status 1 on any fail.
// It reads settings, Kafka's metadata, Redis's INFO and Stripe's webhook endpoints; it writes
// nothing but the scripts it loads (SCRIPT LOAD, which the worker does anyway). No secret is
// printed: a bad secret is named by its setting and position, never by its value.
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "common/billing/event_extract.hpp"
#include "common/billing/event_store.hpp"
#include "common/core/config.hpp"
#include "common/core/json_read.hpp"
#include "common/core/log.hpp"
#include "common/core/time.hpp"
#include "common/http/client_address.hpp"
#include "common/kafka/topic_inspect.hpp"
#include "common/redis/redis_client.hpp"
#include "common/redis/redis_probe.hpp"
#include "common/redis/redis_script.hpp"
#include "common/redis/redis_settings.hpp"
#include "common/stripe/stripe_client.hpp"
#include "worker/cli/cli_commands.hpp"

namespace stripe_sync::cli {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const SettingSpec kSettings[] = {
    {"STRIPE_WEBHOOK_SECRET", "", "the ingress's webhook secrets (whsec_..., comma-separated)", false, true},
    {"STRIPE_API_KEY", "", "the Stripe key of the portal, revalidation, thin fetches and backfill", false, true},
    {"STRIPE_API_BASE", "https://api.stripe.com", "Stripe's API origin"},
    {"STRIPE_CA_FILE", "", "an extra CA certificate file to trust (the system store is always used)"},
    {"STRIPE_MODE", "", "live or test: the mode the deployment is meant to run in (checked against the key)"},
    {"WEBHOOK_URL", "", "the public URL Stripe posts webhooks to: its endpoint at Stripe is checked"},
    {"KAFKA_BROKERS", "", "Kafka bootstrap servers, host:port[,host:port]", true},
    {"KAFKA_TOPIC", "stripe.events", "the events topic"},
    {"KAFKA_DLQ_TOPIC", "stripe.events.dlq", "the dead-letter topic"},
    {"REDIS_URL", "", "Redis (or a cluster's seed nodes)", true, true},
    kRedisPrefixSetting,
    {"WEBHOOK_ALLOWED_CIDRS", "", "comma-separated CIDRs allowed to POST webhooks"},
    {"TRUSTED_PROXY_CIDRS", "", "comma-separated CIDRs of proxies whose X-Forwarded-For is believed"},
    {"LOG_LEVEL", "error", "debug, info, warn or error"},
};

constexpr const char* kUsage =
    "stripe-sync doctor\n\n"
    "Checks a deployment before it takes traffic, with the settings the processes use: the\n"
    "secrets' form, Kafka's topics, Redis's version, eviction policy, persistence, cluster slots and\n"
    "scripts, and, with STRIPE_API_KEY, the key, its mode, the clock against Stripe's and the\n"
    "webhook endpoint at WEBHOOK_URL. One line a check; exit status 1 when any check fails.";

class Report {
 public:
  void ok(std::string_view check, const std::string& detail) { line("ok", check, detail, {}); }
  void warn(std::string_view check, const std::string& detail, const std::string& fix) {
    line("warn", check, detail, fix);
  }
  void fail(std::string_view check, const std::string& detail, const std::string& fix) {
    ++failed_;
    line("fail", check, detail, fix);
  }
  int failed() const { return failed_; }

 private:
  void line(std::string_view level, std::string_view check, const std::string& detail, const std::string& fix) {
    std::cout << level << std::string(5 - level.size(), ' ') << check << ": " << detail;
    if (!fix.empty()) std::cout << " (fix: " << fix << ")";
    std::cout << "\n";
  }
  int failed_ = 0;
};

std::string key_mode(const std::string& key) {
  if (key.starts_with("sk_live_") || key.starts_with("rk_live_")) return "live";
  if (key.starts_with("sk_test_") || key.starts_with("rk_test_")) return "test";
  return {};
}

void check_settings(const Settings& s, Report& r) {
  const std::vector<std::string> secrets = s.get_list("STRIPE_WEBHOOK_SECRET");
  if (secrets.empty()) {
    r.warn("settings.webhook_secret", "STRIPE_WEBHOOK_SECRET is not set here", "give doctor the ingress's settings");
  } else {
    int bad = 0;
    for (std::size_t i = 0; i < secrets.size(); ++i) {
      if (!secrets[i].starts_with("whsec_") || secrets[i].size() <= 6) {
        ++bad;
        r.fail("settings.webhook_secret", "entry " + std::to_string(i + 1) + " of " + std::to_string(secrets.size()) +
                                              " is not a whsec_ secret",
               "copy the endpoint's signing secret from Stripe's dashboard (it starts with whsec_)");
      }
    }
    if (bad == 0) r.ok("settings.webhook_secret", std::to_string(secrets.size()) + " whsec_ secret(s)");
  }
  const std::string key = s.get("STRIPE_API_KEY");
  const std::string expected = s.get("STRIPE_MODE");
  if (!expected.empty() && expected != "live" && expected != "test") {
    r.fail("settings.stripe_mode", "STRIPE_MODE is '" + expected + "'", "live or test");
  }
  if (key.empty()) {
    r.warn("settings.stripe_key", "STRIPE_API_KEY is not set: the Stripe checks are skipped",
           "revalidation, thin fetches, backfill and the portal need one; a restricted rk_ key with read access serves the worker");
  } else if (key_mode(key).empty()) {
    r.fail("settings.stripe_key", "STRIPE_API_KEY is not an sk_ or rk_ key", "use a secret (sk_) or restricted (rk_) key");
  } else if (!expected.empty() && key_mode(key) != expected) {
    r.fail("settings.stripe_key", "a " + key_mode(key) + " key, but STRIPE_MODE is " + expected,
           "use the " + expected + " key, or correct STRIPE_MODE");
  } else {
    r.ok("settings.stripe_key", "a " + key_mode(key) + "-mode " + key.substr(0, 2) + "_ key");
  }
  for (const char* name : {"WEBHOOK_ALLOWED_CIDRS", "TRUSTED_PROXY_CIDRS"}) {
    std::vector<std::string> bad;
    const auto entries = s.get_list(name);
    for (const auto& e : entries)
      if (!parse_cidr(e)) bad.push_back(e);
    if (!bad.empty()) {
      r.fail(std::string("settings.") + name, "'" + bad.front() + "' is not a CIDR", "10.0.0.0/8, 2600:1f18::/32 or an address");
    } else if (!entries.empty()) {
      r.ok(std::string("settings.") + name, std::to_string(entries.size()) + " CIDR(s)");
    }
  }
}

void check_kafka(const Settings& s, Report& r) {
  const std::string events = s.get("KAFKA_TOPIC"), dlq = s.get("KAFKA_DLQ_TOPIC");
  ClusterFacts facts = inspect_topics(s.get("KAFKA_BROKERS"), {events, dlq}, 5000ms);
  if (!facts.reachable) {
    r.fail("kafka.reachable", "no metadata from " + s.get("KAFKA_BROKERS") + ": " + facts.error,
           "check KAFKA_BROKERS and that the brokers listen there");
    return;
  }
  r.ok("kafka.reachable", std::to_string(facts.brokers) + " broker(s)");
  for (const TopicFacts& t : facts.topics) {
    const std::string check = "kafka.topic." + t.name;
    if (!t.exists) {
      r.fail(check, "does not exist", "create it (deploy/README.md, \"First deployment\"): producing to a missing topic fails");
      continue;
    }
    std::string detail = std::to_string(t.partitions) + " partition(s), replication factor " +
                         std::to_string(t.replication_factor);
    if (t.min_insync_replicas) {
      detail += ", min.insync.replicas " + std::to_string(*t.min_insync_replicas);
    } else if (facts.brokers >= 3) {
      detail += ", min.insync.replicas not told by the cluster";
    }
    if (t.replication_factor < 2 && facts.brokers >= 2) {
      r.fail(check, detail, "replication factor 3: with one copy, a lost broker loses acknowledged events");
    } else if (t.replication_factor < 3 && facts.brokers >= 3) {
      r.warn(check, detail, "replication factor 3 keeps acks=all working with a broker down");
    } else if (facts.brokers >= 3 && t.min_insync_replicas && *t.min_insync_replicas < 2) {
      r.warn(check, detail, "min.insync.replicas=2, so an acknowledged event is on two brokers");
    } else if (facts.brokers < 2) {
      r.warn(check, detail + " on a single broker", "fine for a laptop; production wants three brokers");
    } else {
      r.ok(check, detail);
    }
  }
}

// Audit streams: Redis 7.0 gives a new stream node stream-node-max-bytes (at most 4 KB) up front
// and trims it only when full, so at the default 4096 a customer's short audit is mostly headroom
// (deploy/README.md, "Redis memory": 289 against 229 B an event at 50 events a customer).
constexpr long long kStreamNodeBytes = 8192;

void check_stream_node_size(RedisClient& redis, Report& r) {
  const std::string fix = "CONFIG SET stream-node-max-bytes " + std::to_string(kStreamNodeBytes) +
                          " (and in redis.conf): a short audit stream is then not mostly a preallocated node";
  auto nodes = redis.on_every_master({"CONFIG", "GET", "stream-node-max-bytes"});
  if (!nodes) {
    r.warn("redis.stream_node_max_bytes", "not told: " + nodes.error().message, fix);
    return;
  }
  for (const auto& [node, v] : *nodes) {
    if (v.type != RedisValue::Type::array || v.elements.size() != 2) {
      r.warn("redis.stream_node_max_bytes", "not told by " + node + (v.is_error() ? ": " + v.str : ""), fix);
      return;
    }
    const std::string& value = v.elements[1].str;
    if (std::atoll(value.c_str()) < kStreamNodeBytes) {
      r.warn("redis.stream_node_max_bytes", value + " on " + node, fix);
      return;
    }
  }
  r.ok("redis.stream_node_max_bytes", std::to_string(kStreamNodeBytes) + " or more on every master");
}

void check_redis(const Settings& s, Report& r) {
  RedisEndpoint endpoint;
  try {
    endpoint = parse_redis_url(s.get("REDIS_URL"));
  } catch (const ConfigError& e) {
    r.fail("redis.url", e.what(), "redis://[[user]:password@]host[:port][/db]");
    return;
  }
  RedisClient redis(endpoint, 2000ms);
  constexpr const char* kClusterFix = "redis-cli --cluster check <node>; --cluster fix for uncovered slots";
  if (auto up = redis.ping(); !up) {
    if (up.error().code == "clusterdown") {
      // It answered: a cluster that does not serve every slot, so nothing else can be asked of it.
      r.ok("redis.reachable", "a Redis Cluster");
      r.fail("redis.cluster", up.error().message, kClusterFix);
    } else {
      r.fail("redis.reachable", up.error().message, "check REDIS_URL and that Redis listens there");
    }
    return;
  }
  r.ok("redis.reachable", redis.is_cluster() ? "a Redis Cluster" : "one Redis server");
  auto report = read_redis_settings(redis);
  if (!report) {
    r.fail("redis.settings", report.error().message, "the user of REDIS_URL needs INFO");
    return;
  }
  if (!report->too_old.empty()) {
    r.fail("redis.version", report->too_old.front(), "Redis 7 or later (the scripts declare flags)");
  } else {
    r.ok("redis.version", "7 or later on every master");
  }
  if (!report->evicting.empty()) {
    r.fail("redis.maxmemory_policy", report->evicting.front(),
           "CONFIG SET maxmemory-policy noeviction (and in redis.conf): eviction drops state and dedupe markers");
  } else {
    r.ok("redis.maxmemory_policy", "noeviction");
  }
  if (!report->aof_off.empty()) {
    r.warn("redis.appendonly", "off on " + report->aof_off.front(),
           "appendonly yes: without it a restart loses the writes since the last snapshot");
  } else {
    r.ok("redis.appendonly", "on");
  }
  check_stream_node_size(redis, r);
  if (redis.is_cluster()) {
    auto info = redis.on_every_master({"CLUSTER", "INFO"});
    bool covered = info && !info->empty();
    if (info) {
      for (const auto& [node, v] : *info) {
        covered = covered && v.str.find("cluster_state:ok") != std::string::npos &&
                  v.str.find("cluster_slots_assigned:16384") != std::string::npos;
      }
    }
    if (covered) {
      r.ok("redis.cluster", "state ok, all 16384 slots assigned");
    } else {
      r.fail("redis.cluster", "a master reports the cluster not ok or slots unassigned", kClusterFix);
    }
  }
  int loaded = 0;
  for (const RedisScript* script : {&apply_change_script(), &stripe_rate_script(), &fetch_queue_script()}) {
    auto v = redis.on_every_master({"SCRIPT", "LOAD", script->source});
    bool same = v && !v->empty();
    if (v)
      for (const auto& [node, sha] : *v) same = same && sha.str == script->sha1;
    if (same) {
      ++loaded;
    } else {
      r.fail("redis.scripts", "Redis refused to load " + std::string(script->name),
             "the user of REDIS_URL needs SCRIPT and EVALSHA (deploy/README.md, \"When Redis refuses\")");
    }
  }
  if (loaded == 3) r.ok("redis.scripts", "apply_change, stripe_rate and fetch_queue load");
}

void check_stripe(const Settings& s, Report& r) {
  if (s.get("STRIPE_API_KEY").empty()) return;
  StripeClientConfig sc;
  sc.api_base = s.get("STRIPE_API_BASE");
  sc.api_key = s.get("STRIPE_API_KEY");
  sc.ca_file = s.get("STRIPE_CA_FILE");
  sc.max_retries = 1;
  StripeClient stripe(sc);
  json::array endpoints;
  StripeResult res = stripe_list_all(stripe, "/v1/webhook_endpoints", {}, endpoints);
  if (!res.ok()) {
    std::string fix = res.error == StripeError::authentication ? "the key is refused: use a current one"
                                                            : "the key needs read access to webhook endpoints";
    r.fail("stripe.key", "GET /v1/webhook_endpoints: " + std::string(to_string(res.error)) + " (HTTP " +
                             std::to_string(res.status) + ")",
           fix);
    return;
  }
  r.ok("stripe.key", "accepted; " + std::to_string(endpoints.size()) + " webhook endpoint(s)");
  if (res.date_unix == 0) {
    r.warn("stripe.clock", "Stripe's answer had no Date header", "a proxy between here and Stripe drops it");
  } else {
    const std::int64_t skew = std::llabs(unix_ms_now() / 1000 - res.date_unix);
    const std::string detail = std::to_string(skew) + " s from Stripe's Date";
    if (skew >= 60) {
      r.fail("stripe.clock", detail, "run NTP: the signature check allows 300 s and stamps use Stripe's clock");
    } else if (skew >= 5) {
      r.warn("stripe.clock", detail, "run NTP");
    } else {
      r.ok("stripe.clock", detail);
    }
  }
  const std::string url = s.get("WEBHOOK_URL");
  if (url.empty()) {
    r.warn("stripe.endpoint", "WEBHOOK_URL is not set: the endpoint at Stripe is not checked",
           "set WEBHOOK_URL to the URL Stripe posts to");
    return;
  }
  const json::value* ours = nullptr;
  for (const auto& e : endpoints)
    if (json_read::string_at(e, "url") == std::string_view(url)) ours = &e;
  if (ours == nullptr) {
    r.fail("stripe.endpoint", "no webhook endpoint at Stripe posts to " + url,
           "add one in Stripe's dashboard (Developers, Webhooks) for the handled event types");
    return;
  }
  if (json_read::string_at(*ours, "status") != std::string_view("enabled")) {
    r.fail("stripe.endpoint", "the endpoint for " + url + " is disabled", "enable it in Stripe's dashboard");
  }
  std::set<std::string> enabled;
  if (const auto* events = json_read::array_at(*ours, "enabled_events")) {
    for (const auto& e : *events)
      if (e.is_string()) enabled.insert(std::string(e.as_string()));
  }
  std::vector<std::string> missing;
  if (!enabled.count("*")) {
    for (std::string_view t : handled_types())
      if (!enabled.count(std::string(t))) missing.push_back(std::string(t));
  }
  if (missing.empty()) {
    r.ok("stripe.endpoint_events", "sends every handled event type");
  } else {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    r.warn("stripe.endpoint_events", std::to_string(missing.size()) + " handled type(s) not sent: " + list,
           "enable them on the endpoint, or accept that those objects are not kept");
  }
  std::optional<std::string_view> version = json_read::string_at(*ours, "api_version");
  if (version && *version != kStripeApiVersion) {
    r.warn("stripe.endpoint_version", "the endpoint sends API " + std::string(*version) + ", stripe-sync reads " +
                                          std::string(kStripeApiVersion),
           "older shapes are read where fields moved; an endpoint on the pinned version needs none of that");
  } else {
    r.ok("stripe.endpoint_version", version ? std::string(*version) : "the account's default version");
  }
}

}  // namespace

int run_doctor(const std::vector<std::string>& args) {
  auto loaded = command_settings(kSettings, kUsage, args);
  if (!loaded) return 0;
  const Settings& s = *loaded;
  Report r;
  check_settings(s, r);
  check_kafka(s, r);
  check_redis(s, r);
  check_stripe(s, r);
  std::cout << (r.failed() == 0 ? "doctor: no check failed\n" : "doctor: " + std::to_string(r.failed()) + " check(s) failed\n");
  return r.failed() == 0 ? 0 : 1;
}

}  // namespace stripe_sync::cli
