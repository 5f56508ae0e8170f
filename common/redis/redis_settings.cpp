#include "common/redis/redis_settings.hpp"

#include <cstdlib>

#include "common/core/config.hpp"
#include "common/core/log.hpp"

namespace stripe_sync {

namespace {
// The value of one "name:value" line of an INFO reply ("" when absent).
std::string info_field(std::string_view info, std::string_view name) {
  while (!info.empty()) {
    std::size_t end = info.find('\n');
    std::string_view line = info.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > name.size() && line.substr(0, name.size()) == name && line[name.size()] == ':') {
      return std::string(line.substr(name.size() + 1));
    }
    if (end == std::string_view::npos) break;
    info.remove_prefix(end + 1);
  }
  return {};
}
}  // namespace

Result<RedisSettingsReport> read_redis_settings(RedisClient& redis) {
  auto infos = redis.on_every_master({"INFO", "server", "memory", "persistence"});
  if (!infos) return infos.error();
  RedisSettingsReport report;
  for (const auto& [node, info] : *infos) {
    if (info.type == RedisValue::Type::string) add_node_settings(node, info.str, report);
  }
  return report;
}

void add_node_settings(const std::string& node, std::string_view info, RedisSettingsReport& report) {
  std::string policy = info_field(info, "maxmemory_policy");
  if (!policy.empty() && policy != "noeviction") report.evicting.push_back(node + ": " + policy);
  if (info_field(info, "aof_enabled") == "0") report.aof_off.push_back(node);
  // The scripts declare flags (#!lua flags=...): Redis 7 and later.
  std::string version = info_field(info, "redis_version");
  if (!version.empty() && std::atoi(version.c_str()) < 7) report.too_old.push_back(node + ": " + version);
}

Status refuse_eviction(const RedisSettingsReport& report, bool allow_eviction) {
  if (report.evicting.empty() || allow_eviction) return Ok{};
  return Error{ErrorClass::bad_input, "eviction",
               "Redis evicts keys (" + report.evicting.front() +
                   "), which would silently drop billing state and dedupe markers: set maxmemory-policy "
                   "noeviction, or REDIS_ALLOW_EVICTION=1 if you accept that"};
}

void check_redis_at_start(const RedisEndpoint& endpoint, bool allow_eviction) {
  RedisClient redis(endpoint, std::chrono::milliseconds(2000));
  auto report = read_redis_settings(redis);
  if (!report) {
    if (report.error().cls == ErrorClass::bad_input) throw ConfigError(report.error().message);
    log::warn("Redis not reachable at start; readiness waits for it", {{"error", report.error().message}});
    return;
  }
  if (auto refused = refuse_eviction(*report, allow_eviction); !refused) throw ConfigError(refused.error().message);
  if (!report->evicting.empty()) {
    log::warn("Redis evicts keys; REDIS_ALLOW_EVICTION=1 accepts it", {{"node", report->evicting.front()}});
  }
  for (const auto& node : report->aof_off) {
    log::warn("Redis runs without appendonly: a restart loses the writes since its last snapshot",
              {{"node", node}});
  }
}

RedisProbe::RedisProbe(RedisEndpoint endpoint, std::chrono::milliseconds timeout, bool allow_eviction,
                       std::chrono::milliseconds settings_every)
    : endpoint_(std::move(endpoint)), timeout_(timeout), allow_eviction_(allow_eviction),
      settings_every_(settings_every) {}

Status RedisProbe::check() {
  if (!client_) client_ = std::make_unique<RedisClient>(endpoint_, timeout_);
  if (auto up = client_->ping(); !up) {
    client_.reset();  // a fresh discovery next time
    return up.error();
  }
  auto now = std::chrono::steady_clock::now();
  if (now >= next_settings_) {
    next_settings_ = now + settings_every_;
    auto report = read_redis_settings(*client_);
    if (!report) return report.error();
    auto refused = refuse_eviction(*report, allow_eviction_);
    settings_error_ = refused ? std::nullopt : std::optional<Error>(refused.error());
  }
  if (settings_error_) return *settings_error_;
  return Ok{};
}

}  // namespace stripe_sync
