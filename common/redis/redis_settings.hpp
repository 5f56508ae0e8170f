#pragma once
// What the Redis server must be for the billing state to be safe, checked at start and by the
// readiness probes of both processes:
//   - maxmemory-policy must be noeviction: any evicting policy (allkeys-* and volatile-*, since
//     the processed markers carry a TTL) would drop state or dedupe markers without a word. It
//     is refused unless REDIS_ALLOW_EVICTION=1 says the operator knows;
//   - appendonly off is only warned about: a restart then loses the writes since the last RDB
//     snapshot, which Kafka may no longer hold for us (see the durability table in README.md).
// INFO is read rather than CONFIG GET, which managed Redis services often disable.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/redis/redis_client.hpp"

namespace stripe_sync {

struct RedisSettingsReport {
  std::vector<std::string> evicting;  // "node: policy" of every master whose policy evicts
  std::vector<std::string> aof_off;   // nodes with appendonly no
  std::vector<std::string> too_old;   // "node: version" of every master older than Redis 7
};

// Reads INFO server, memory and persistence on every master.
Result<RedisSettingsReport> read_redis_settings(RedisClient& redis);
// What one node's INFO text adds to the report.
void add_node_settings(const std::string& node, std::string_view info, RedisSettingsReport& report);

// The one line that refuses an evicting Redis (bad_input), or Ok.
Status refuse_eviction(const RedisSettingsReport& report, bool allow_eviction);

// At start: throws ConfigError when Redis answers and evicts (unless allowed), logs a warning when
// AOF is off, and says nothing when Redis is not reachable yet (readiness shows that).
void check_redis_at_start(const RedisEndpoint& endpoint, bool allow_eviction);

// For a readiness loop (one thread): PING every node each call, and the settings every
// `settings_every`. The Error says why Redis is not fit to serve.
class RedisProbe {
 public:
  RedisProbe(RedisEndpoint endpoint, std::chrono::milliseconds timeout, bool allow_eviction,
             std::chrono::milliseconds settings_every = std::chrono::seconds(5));
  Status check();

 private:
  RedisEndpoint endpoint_;
  std::chrono::milliseconds timeout_;
  bool allow_eviction_;
  std::chrono::milliseconds settings_every_;
  std::unique_ptr<RedisClient> client_;
  std::chrono::steady_clock::time_point next_settings_{};
  std::optional<Error> settings_error_;
};

}  // namespace stripe_sync
