#pragma once
// EventStore: applies change records to Redis through apply_change.lua, one atomic script call
// per record, a batch per round trip (EVALSHA pipelined; the script is loaded again on NOSCRIPT).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/billing/change_record.hpp"
#include "common/billing/keys.hpp"
#include "common/core/config.hpp"
#include "common/redis/redis_client.hpp"

namespace stripe_sync {

struct StoreConfig {
  std::string prefix = "stripe:";  // REDIS_PREFIX
  Keys keys() const { return Keys(prefix); }
  std::int64_t dedupe_ttl_s = 35 * 24 * 3600;  // DEDUPE_TTL_S
  std::int64_t audit_maxlen = 1000;            // AUDIT_MAXLEN
};

// The store's settings, declared once for every process that writes billing state (the worker,
// and the ingress for portal returns and customer updates), so both write alike.
inline constexpr SettingSpec kRedisPrefixSetting{"REDIS_PREFIX", "stripe:", "prefix of every Redis key"};
inline constexpr SettingSpec kDedupeTtlSetting{"DEDUPE_TTL_S", "3024000",
                                               "how long an event id is remembered (35 days)"};
inline constexpr SettingSpec kAuditMaxlenSetting{"AUDIT_MAXLEN", "1000",
                                                 "approximate length cap of each customer's audit stream"};
// Reads the three above.
StoreConfig store_config_from(const Settings& settings);

enum class ApplyOutcome { applied, stale, ambiguous, duplicate, failed };
std::string_view to_string(ApplyOutcome o);

// The processed markers (Keys::markers): when the hash of a day's events expires, DEDUPE_TTL_S
// after that UTC day ends, or after `now` for an event applied later than its day (a late
// delivery, a replay, a backfill); set on every write, so it only moves later. Every event is
// remembered at least DEDUPE_TTL_S past both its created and its apply.
std::int64_t markers_expire_at(std::int64_t created, std::int64_t now_s, std::int64_t ttl_s);
// A marker's value, one letter written by apply_change.lua: a applied, s stale, m ambiguous;
// upper case when the event tied with the stored state.
struct ProcessedMarker {
  ApplyOutcome outcome;
  bool tie = false;
};
std::optional<ProcessedMarker> read_marker_code(std::string_view code);

struct ApplyResult {
  ApplyOutcome outcome = ApplyOutcome::failed;
  std::string changed;  // comma-separated changed fields (applied only)
  std::string error;    // for failed: Redis's error for this record (permanent: a data error)
  bool tie = false;     // same stamp as the stored state: decided by previous_attributes
};

// The keys one record touches (all in the slot of one hash tag).
struct RecordKeys {
  std::string object, marker, audit, index, drop;  // marker: the day's hash, the event id its field
  bool has_drop = false;
};

class EventStore {
 public:
  EventStore(RedisClient& redis, StoreConfig config);

  RecordKeys keys(const ChangeRecord& r) const;

  // A transient Error (Redis unreachable, OOM, LOADING, READONLY, ...: redis_errors.hpp):
  // nothing can be assumed about this batch, and applying it again is safe, since the markers
  // make it idempotent. Otherwise one result a record; a record Redis refused for its data
  // (WRONGTYPE, a script DATA error) is `failed` with that error.
  Result<std::vector<ApplyResult>> apply(std::span<const ChangeRecord> records, std::int64_t now_ms);

 private:
  // The EVALSHA of one record: its argv points into the record and into this command's own
  // keys and numbers, so the hot path copies no field.
  struct Command {
    RecordKeys keys;
    std::string numbers[8];
    std::vector<std::string_view> argv;
  };
  void command(const ChangeRecord& r, std::int64_t now_ms, Command& out) const;
  RedisClient& redis_;
  StoreConfig config_;
};

}  // namespace stripe_sync
