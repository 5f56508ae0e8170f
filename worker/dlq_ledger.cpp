#include "worker/dlq_ledger.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <set>

#include "common/billing/event_extract.hpp"

namespace stripe_sync::worker {

namespace json = boost::json;

namespace {
constexpr std::string_view kStates[] = {"pending", "replayed", "resolved"};

Error bad_reply(const RedisValue& v) { return Error{ErrorClass::permanent, "redis_reply", "Redis answered: " + v.str}; }

std::int64_t int_of(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v && v->is_int64() ? v->as_int64() : 0;
}
std::string string_of(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

DlqRecord parse_record(std::string_view text) {
  DlqRecord r;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return r;  // unreadable: the entry reads as pending, and is replayable
  const json::object& o = v.as_object();
  r.state = parse_dlq_state(string_of(o, "state")).value_or(DlqState::pending);
  r.replayed_at_ms = int_of(o, "replayed_at_ms");
  r.replayed_by = string_of(o, "replayed_by");
  r.resolved_at_ms = int_of(o, "resolved_at_ms");
  r.outcome = string_of(o, "outcome");
  return r;
}

std::string serialize_record(const DlqRecord& r) {
  json::object o;
  o["state"] = to_string(r.state);
  o["replayed_at_ms"] = r.replayed_at_ms;
  o["replayed_by"] = r.replayed_by;
  if (r.state == DlqState::resolved) {
    o["resolved_at_ms"] = r.resolved_at_ms;
    o["outcome"] = r.outcome;
  }
  return json::serialize(o);
}
}  // namespace

std::string_view to_string(DlqState s) { return kStates[static_cast<int>(s)]; }

std::optional<DlqState> parse_dlq_state(std::string_view text) {
  for (int i = 0; i < 3; ++i) {
    if (kStates[i] == text) return static_cast<DlqState>(i);
  }
  return std::nullopt;
}

std::string dlq_entry_id(std::int32_t partition, std::int64_t offset) {
  return std::to_string(partition) + ":" + std::to_string(offset);
}

std::int64_t pending_count(const std::vector<KafkaProducer::PartitionOffsets>& spans,
                           const std::vector<std::string>& record_ids) {
  std::int64_t pending = 0;
  std::set<std::string> done(record_ids.begin(), record_ids.end());
  for (const KafkaProducer::PartitionOffsets& s : spans) {
    pending += s.high - s.low;
    // Records are few (what was replayed and is still kept); count those inside the span.
    const std::string prefix = std::to_string(s.partition) + ":";
    for (auto it = done.lower_bound(prefix); it != done.end() && it->compare(0, prefix.size(), prefix) == 0; ++it) {
      const std::int64_t offset = std::strtoll(it->c_str() + prefix.size(), nullptr, 10);
      if (offset >= s.low && offset < s.high) --pending;
    }
  }
  return pending;
}

Result<std::map<std::string, DlqRecord>> DlqLedger::records() {
  const std::string key = config_.keys().dlq_entries();
  auto all = redis_.command({"HGETALL", key});
  if (!all) return all.error();
  if (all->is_error()) return bad_reply(*all);
  std::map<std::string, DlqRecord> out;
  for (std::size_t i = 0; i + 1 < all->elements.size(); i += 2) {
    out.emplace(all->elements[i].str, parse_record(all->elements[i + 1].str));
  }
  return out;
}

Result<std::vector<std::string>> DlqLedger::record_ids() {
  const std::string key = config_.keys().dlq_entries();
  auto ids = redis_.command({"HKEYS", key});
  if (!ids) return ids.error();
  if (ids->is_error()) return bad_reply(*ids);
  std::vector<std::string> out;
  for (const RedisValue& v : ids->elements) out.push_back(v.str);
  return out;
}

std::optional<DlqLedger::Trace> DlqLedger::trace(const StoredMessage& m) const {
  // A thin notification is done once its fetch is queued (its marker is the notification's);
  // it names no customer before the fetch, so it has no audit stream.
  if (!m.header("stripe-thin-type").empty()) {
    return Trace{config_.keys().fetch_notification(m.header("stripe-event-id")), "", "", m.header("stripe-event-type"), ""};
  }
  ChangeRecord r;
  if (extract_change(m.value, r).status != ExtractStatus::record) return std::nullopt;
  RecordKeys k = EventStore(redis_, config_).keys(r);
  return Trace{k.marker, r.event_id, k.audit, r.event_type, r.object_id};
}

Status DlqLedger::audit(const Trace& t, std::string_view event_id, std::string_view outcome, std::string_view detail) {
  if (t.audit.empty()) return Ok{};
  // The fields of apply_change.lua's entries; `changed` carries what the lifecycle adds.
  const std::string maxlen = std::to_string(config_.audit_maxlen);
  auto v = redis_.command({"XADD", t.audit, "MAXLEN", "~", maxlen, "*", "event_id", event_id, "type", t.event_type,
                           "object_id", t.object_id, "outcome", outcome, "changed", detail, "source", "dlq",
                           "api_version", ""});
  if (!v) return v.error();
  if (v->is_error()) return bad_reply(*v);
  return Ok{};
}

Status DlqLedger::put(const std::string& id, const DlqRecord& r) {
  const std::string key = config_.keys().dlq_entries(), value = serialize_record(r);
  auto v = redis_.command({"HSET", key, id, value});
  if (!v) return v.error();
  if (v->is_error()) return bad_reply(*v);
  return Ok{};
}

Status DlqLedger::replayed(const StoredMessage& m, std::int64_t now_ms, std::string_view by) {
  DlqRecord r;
  r.state = DlqState::replayed;
  r.replayed_at_ms = now_ms;
  r.replayed_by = std::string(by);
  if (Status s = put(dlq_entry_id(m.partition, m.offset), r); !s) return s;
  if (auto t = trace(m)) return audit(*t, m.header("stripe-event-id"), "dlq_replayed", by);
  return Ok{};
}

Result<std::size_t> DlqLedger::resolve(const std::vector<StoredMessage>& messages,
                                       std::map<std::string, DlqRecord>& records, std::int64_t now_ms) {
  std::size_t resolved = 0;
  for (const StoredMessage& m : messages) {
    auto it = records.find(dlq_entry_id(m.partition, m.offset));
    if (it == records.end() || it->second.state != DlqState::replayed) continue;
    auto t = trace(m);
    if (!t) continue;  // nothing the worker would keep: it stays replayed
    auto marker = t->field.empty() ? redis_.command({"GET", t->marker}) : redis_.command({"HGET", t->marker, t->field});
    if (!marker) return marker.error();
    if (marker->is_error()) return bad_reply(*marker);
    if (marker->type != RedisValue::Type::string) continue;
    DlqRecord r = it->second;
    r.state = DlqState::resolved;
    r.resolved_at_ms = now_ms;
    auto processed = t->field.empty() ? std::nullopt : read_marker_code(marker->str);
    r.outcome = processed ? std::string(to_string(processed->outcome)) : marker->str;
    // The audit entry first: a failure between the two leaves the entry replayed, and the next
    // look resolves it again (an audit line twice, never a resolution without one).
    if (Status s = audit(*t, m.header("stripe-event-id"), "dlq_resolved", r.outcome); !s) return s.error();
    if (Status s = put(it->first, r); !s) return s.error();
    it->second = r;
    ++resolved;
  }
  return resolved;
}

Status DlqLedger::forget_missing(const std::vector<StoredMessage>& messages,
                                 const std::map<std::string, DlqRecord>& records) {
  std::set<std::string> held;
  for (const StoredMessage& m : messages) held.insert(dlq_entry_id(m.partition, m.offset));
  std::vector<std::string> gone;
  for (const auto& [id, r] : records) {
    if (!held.count(id)) gone.push_back(id);
  }
  if (gone.empty()) return Ok{};
  const std::string key = config_.keys().dlq_entries();
  std::vector<std::string_view> argv{"HDEL", key};
  argv.insert(argv.end(), gone.begin(), gone.end());
  auto v = redis_.command(argv);
  if (!v) return v.error();
  if (v->is_error()) return bad_reply(*v);
  return Ok{};
}

}  // namespace stripe_sync::worker
