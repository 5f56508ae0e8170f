#pragma once
// The dead-letter queue's lifecycle. The topic is append-only, so what happened to each entry
// since is kept in Redis, one hash under {dlq} (Keys::dlq_entries): field "<partition>:<offset>"
// of the entry in the dead-letter topic, value a JSON record. An entry without a record is
// pending. `dlq replay` records `replayed` (when, and the command); an entry is `resolved` once
// its event's processed marker exists in Redis, i.e. its outcome is durable there (checked by
// `dlq list` and `dlq replay`, which record it). Replay and resolution are written to the
// customer's audit stream. The worker's stripe_worker_dlq_pending gauge is pending_count().
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/billing/event_store.hpp"
#include "common/core/result.hpp"
#include "common/kafka/kafka_producer.hpp"
#include "common/kafka/topic_reader.hpp"
#include "common/redis/redis_client.hpp"

namespace stripe_sync::worker {

enum class DlqState { pending, replayed, resolved };
std::string_view to_string(DlqState s);
std::optional<DlqState> parse_dlq_state(std::string_view text);

struct DlqRecord {
  DlqState state = DlqState::pending;
  std::int64_t replayed_at_ms = 0;
  std::string replayed_by;  // the command that replayed it, as typed options (never a setting)
  std::int64_t resolved_at_ms = 0;
  std::string outcome;      // resolved: the event's outcome, from its processed marker
};

// "<partition>:<offset>", the record's field.
std::string dlq_entry_id(std::int32_t partition, std::int64_t offset);

// Entries the topic holds (its partitions' offsets now) that have no replayed or resolved record.
std::int64_t pending_count(const std::vector<KafkaProducer::PartitionOffsets>& spans,
                           const std::vector<std::string>& record_ids);

class DlqLedger {
 public:
  DlqLedger(RedisClient& redis, StoreConfig config) : redis_(redis), config_(std::move(config)) {}

  // Every record, by entry id.
  Result<std::map<std::string, DlqRecord>> records();
  // The field names alone (for the gauge).
  Result<std::vector<std::string>> record_ids();
  // `m` (an entry of the dead-letter topic) was sent back to the events topic by `by`.
  Status replayed(const StoredMessage& m, std::int64_t now_ms, std::string_view by);
  // Every replayed entry of `messages` whose event's marker now exists becomes resolved (in
  // `records` too); returns how many did.
  Result<std::size_t> resolve(const std::vector<StoredMessage>& messages, std::map<std::string, DlqRecord>& records,
                              std::int64_t now_ms);
  // Drops the records of entries the topic no longer holds (retention), so none outlives its entry.
  Status forget_missing(const std::vector<StoredMessage>& messages, const std::map<std::string, DlqRecord>& records);

 private:
  // The processed marker that proves `m`'s event was applied, and the audit stream it belongs
  // to, from the same change record the worker builds (nullopt when the event yields none).
  struct Trace {
    std::string marker, field, audit, event_type, object_id;  // field: the marker's, or "" for a string key
  };
  std::optional<Trace> trace(const StoredMessage& m) const;
  Status audit(const Trace& t, std::string_view event_id, std::string_view outcome, std::string_view detail);
  Status put(const std::string& id, const DlqRecord& r);
  RedisClient& redis_;
  StoreConfig config_;
};

}  // namespace stripe_sync::worker
