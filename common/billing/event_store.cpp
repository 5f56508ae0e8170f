#include "common/billing/event_store.hpp"

#include <algorithm>

#include "common/redis/redis_script.hpp"
#include "common/stripe/stripe_client.hpp"

namespace stripe_sync {

namespace {
// The index actions apply_change.lua knows (ARGV[6]).
const char* index_action_name(IndexAction a) {
  switch (a) {
    case IndexAction::none: return "none";
    case IndexAction::add: return "add";
    case IndexAction::remove: return "remove";
    case IndexAction::ordered: return "zadd";
    case IndexAction::unorder: return "zrem";
    case IndexAction::replace: return "replace";
  }
  return "none";
}
}  // namespace

std::int64_t markers_expire_at(std::int64_t created, std::int64_t now_s, std::int64_t ttl_s) {
  return std::max((Keys::marker_day(created) + 1) * 86400, now_s) + ttl_s;
}

std::optional<ProcessedMarker> read_marker_code(std::string_view code) {
  if (code.size() != 1) return std::nullopt;
  switch (code[0]) {
    case 'a': return ProcessedMarker{ApplyOutcome::applied, false};
    case 's': return ProcessedMarker{ApplyOutcome::stale, false};
    case 'm': return ProcessedMarker{ApplyOutcome::ambiguous, false};
    case 'A': return ProcessedMarker{ApplyOutcome::applied, true};
    case 'S': return ProcessedMarker{ApplyOutcome::stale, true};
    case 'M': return ProcessedMarker{ApplyOutcome::ambiguous, true};
  }
  return std::nullopt;
}

std::string_view to_string(ApplyOutcome o) {
  switch (o) {
    case ApplyOutcome::applied: return "applied";
    case ApplyOutcome::stale: return "stale";
    case ApplyOutcome::ambiguous: return "ambiguous";
    case ApplyOutcome::duplicate: return "duplicate";
    case ApplyOutcome::failed: return "failed";
  }
  return "failed";
}

StoreConfig store_config_from(const Settings& s) {
  StoreConfig c;
  c.prefix = s.get("REDIS_PREFIX");
  c.dedupe_ttl_s = s.get_int("DEDUPE_TTL_S", 60, 400LL * 24 * 3600);
  c.audit_maxlen = s.get_int("AUDIT_MAXLEN", 10, 10000000);
  return c;
}

EventStore::EventStore(RedisClient& redis, StoreConfig config)
    : redis_(redis), config_(std::move(config)) {}

RecordKeys EventStore::keys(const ChangeRecord& r) const {
  const Keys& k = config_.keys();
  RecordKeys out;
  switch (r.kind) {
    case ObjectKind::portal_session:
      out.object = k.portal_session(r.object_id);
      out.index = k.portal_sessions();
      out.drop = out.object;
      break;
    case ObjectKind::portal_configuration:
      out.object = k.portal_configuration(r.object_id);
      out.index = out.object;
      out.drop = k.portal_configuration_list();  // the cached list goes when one changes
      out.has_drop = true;
      break;
    case ObjectKind::customer:
      out.object = k.customer(r.key);
      out.index = out.object;
      break;
    case ObjectKind::subscription:
      out.object = k.subscription(r.key, r.object_id);
      out.index = k.subscriptions(r.key);
      break;
    case ObjectKind::payment_method:
      out.object = k.payment_method(r.key, r.object_id);
      out.index = k.payment_methods(r.key);
      break;
    case ObjectKind::invoice:
      out.object = k.invoice(r.key, r.object_id);
      out.index = k.invoices(r.key);
      break;
    case ObjectKind::entitlement_summary:
      out.object = k.entitlements(r.key);
      out.index = k.entitlement_keys(r.key);
      break;
    case ObjectKind::checkout_session:
      out.object = k.checkout_session(r.key, r.object_id);
      out.index = out.object;
      break;
    case ObjectKind::price:
      out.object = k.price(r.key);
      out.index = out.object;
      break;
    case ObjectKind::product:
      out.object = k.product(r.key);
      out.index = out.object;
      break;
  }
  const bool portal = r.kind == ObjectKind::portal_session || r.kind == ObjectKind::portal_configuration;
  out.marker = portal ? k.portal_markers(r.created) : k.markers(r.key, r.created);
  out.audit = portal ? k.portal_audit() : k.audit(r.key);
  if (!out.has_drop) out.drop = out.object;
  return out;
}

void EventStore::command(const ChangeRecord& r, std::int64_t now_ms, Command& c) const {
  c.keys = keys(r);
  const RecordKeys& k = c.keys;
  std::string* n = c.numbers;
  n[0] = std::to_string(r.stamp());
  n[1] = std::to_string(markers_expire_at(r.created, now_ms / 1000, config_.dedupe_ttl_s));
  n[2] = std::to_string(config_.audit_maxlen);
  n[3] = std::to_string(now_ms);
  n[4] = std::to_string(r.fields.size());
  n[5] = std::to_string(r.previous.size());
  n[6] = std::to_string(r.index_score);
  n[7] = std::to_string(r.index_members.size());
  // The audit names the event's api_version only where it is not the pinned one, the version every
  // snapshot is fetched in: a constant repeated in every entry cost 17 bytes each.
  const std::string_view audit_version =
      r.api_version == kStripeApiVersion ? std::string_view() : std::string_view(r.api_version);
  auto& a = c.argv;
  a.clear();
  a.reserve(24 + 2 * (r.fields.size() + r.previous.size()) + r.index_members.size());
  a.insert(a.end(), {"EVALSHA", apply_change_script().sha1, "5", k.object, k.marker, k.audit, k.index, k.drop,
                     r.event_id, r.event_type, r.object_id, n[0], r.tombstone ? "1" : "0", index_action_name(r.index),
                     k.has_drop ? "1" : "0", n[1], n[2], n[3], r.source, r.has_previous ? "1" : "0", audit_version,
                     n[4]});
  for (const auto& [name, value] : r.fields) {
    a.push_back(name);
    a.push_back(value);
  }
  a.push_back(n[5]);
  for (const auto& [name, value] : r.previous) {
    a.push_back(name);
    a.push_back(value);
  }
  a.push_back(n[6]);
  a.push_back(n[7]);
  a.insert(a.end(), r.index_members.begin(), r.index_members.end());
}

namespace {
ApplyResult result_of(const RedisValue& v) {
  ApplyResult r;
  if (v.is_error()) {
    r.error = v.str;
    return r;
  }
  if (v.type != RedisValue::Type::array || v.elements.size() < 2) {
    r.error = "unexpected reply from apply_change.lua";
    return r;
  }
  const std::string& o = v.elements[0].str;
  r.outcome = o == "applied"     ? ApplyOutcome::applied
              : o == "stale"     ? ApplyOutcome::stale
              : o == "ambiguous" ? ApplyOutcome::ambiguous
              : o == "duplicate" ? ApplyOutcome::duplicate
                                 : ApplyOutcome::failed;
  r.changed = v.elements[1].str;
  r.tie = v.elements.size() > 2 && v.elements[2].str == "1";
  return r;
}
}  // namespace

Result<std::vector<ApplyResult>> EventStore::apply(std::span<const ChangeRecord> records, std::int64_t now_ms) {
  // Each Command is complete before its argv is taken: the views point into it, so the vector
  // is sized once and never moves.
  std::vector<Command> built(records.size());
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    command(records[i], now_ms, built[i]);
    commands.push_back(std::move(built[i].argv));
  }

  auto replies = redis_.pipeline(commands);  // NOSCRIPT and redirects are followed there
  if (!replies) return replies.error();
  std::vector<ApplyResult> out;
  out.reserve(records.size());
  for (const RedisValue& v : *replies) out.push_back(result_of(v));
  return out;
}

}  // namespace stripe_sync
