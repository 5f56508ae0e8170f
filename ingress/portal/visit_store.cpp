#include "ingress/portal/visit_store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/core/json_read.hpp"
#include "common/core/log.hpp"

namespace stripe_sync::ingress {

namespace json = boost::json;

namespace {

json::object to_json(const ObjectFields& o) {
  json::object j;
  for (const auto& [k, v] : o) j[k] = v;
  return j;
}

ObjectFields from_json(const json::value& v) {
  ObjectFields o;
  if (!v.is_object()) return o;
  for (const auto& kv : v.as_object())
    if (kv.value().is_string()) o[std::string(kv.key())] = std::string(kv.value().as_string());
  return o;
}

// The visit's `before` field: the customer's state as one JSON document.
std::string state_json(const CustomerState& s) {
  json::object subs, pms;
  for (const auto& [id, f] : s.subscriptions) subs[id] = to_json(f);
  for (const auto& [id, f] : s.payment_methods) pms[id] = to_json(f);
  return json::serialize(json::object{{"customer", to_json(s.customer)}, {"subscriptions", subs}, {"payment_methods", pms}});
}

CustomerState state_from_json(const std::string& text) {
  CustomerState s;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return s;
  const auto& o = v.as_object();
  if (auto* c = o.if_contains("customer")) s.customer = from_json(*c);
  if (auto* subs = o.if_contains("subscriptions"); subs && subs->is_object())
    for (const auto& kv : subs->as_object()) s.subscriptions[std::string(kv.key())] = from_json(kv.value());
  if (auto* pms = o.if_contains("payment_methods"); pms && pms->is_object())
    for (const auto& kv : pms->as_object()) s.payment_methods[std::string(kv.key())] = from_json(kv.value());
  return s;
}

Visit visit_of(const std::string& session_id, ObjectFields f) {
  Visit v;
  v.session_id = session_id;
  v.customer = f["customer"];
  v.workflow = f["workflow"];
  v.action = f["action"];
  v.stripe_session = f["stripe_session"];
  v.created_ms = json_read::parse_int(f["created_ms"]).value_or(0);
  v.expires_ms = json_read::parse_int(f["expires_ms"]).value_or(0);
  v.before = state_from_json(f["before"]);
  v.branding = f["branding"];
  v.result = f["result"];
  v.duration_ms = json_read::parse_int(f["duration_ms"]);
  return v;
}

}  // namespace

Status VisitStore::record(const Visit& v) {
  const std::string key = keys_.portal_visit(v.session_id);
  auto saved = redis_.pipeline({{"HSET", key, "customer", v.customer, "workflow", v.workflow, "action", v.action,
                                 "stripe_session", v.stripe_session, "created_ms", std::to_string(v.created_ms),
                                 "expires_ms", std::to_string(v.expires_ms), "before", state_json(v.before),
                                 "branding", v.branding},
                                {"ZADD", keys_.portal_visits(), std::to_string(v.created_ms), v.session_id}});
  if (!saved) return saved.error();
  return Ok{};
}

Result<std::optional<Visit>> VisitStore::find(const std::string& session_id) {
  auto stored = redis_.command({"HGETALL", keys_.portal_visit(session_id)});
  if (!stored) return stored.error();
  ObjectFields f = fields_of(*stored, SyncFields::keep);
  if (f.empty()) return std::optional<Visit>();
  return std::optional<Visit>(visit_of(session_id, std::move(f)));
}

std::string VisitStore::record_return(const Visit& v, std::string result, std::int64_t now_ms) {
  const std::string key = keys_.portal_visit(v.session_id);
  auto first = redis_.command({"HSETNX", key, "returned_ms", std::to_string(now_ms)});
  if (first && first->integer == 1) {
    std::int64_t duration = now_ms - (v.created_ms ? v.created_ms : now_ms);
    if (auto kept = redis_.command({"HSET", key, "result", result, "duration_ms", std::to_string(duration)}); !kept) {
      // The objects are applied; only the analytics of this return are missing.
      log::warn("portal return not recorded", {{"session", v.session_id}, {"error", kept.error().message}});
    }
  } else if (auto again = redis_.command({"HGET", key, "result"}); again && !again->str.empty()) {
    result = again->str;
  }
  return result;
}

Result<std::vector<Visit>> VisitStore::started_between(std::int64_t from_ms, std::int64_t to_ms) {
  auto ids = redis_.command({"ZRANGEBYSCORE", keys_.portal_visits(), std::to_string(from_ms), std::to_string(to_ms)});
  if (!ids) return ids.error();
  std::vector<std::string> hash_keys;
  for (const auto& id : ids->elements) hash_keys.push_back(keys_.portal_visit(id.str));
  auto hashes = read_hashes(hash_keys);
  if (!hashes) return hashes.error();
  std::vector<Visit> out;
  for (std::size_t i = 0; i < ids->elements.size(); ++i) out.push_back(visit_of(ids->elements[i].str, (*hashes)[i]));
  return out;
}

Result<std::vector<ObjectFields>> VisitStore::stripe_sessions() {
  auto ids = redis_.command({"SMEMBERS", keys_.portal_sessions()});
  if (!ids) return ids.error();
  std::vector<std::string> hash_keys;
  for (const auto& id : ids->elements) hash_keys.push_back(keys_.portal_session(id.str));
  return read_hashes(hash_keys);
}

Result<std::vector<ObjectFields>> VisitStore::read_hashes(const std::vector<std::string>& hash_keys) {
  std::vector<ObjectFields> out;
  if (hash_keys.empty()) return out;
  std::vector<std::vector<std::string_view>> cmds;
  for (const auto& k : hash_keys) cmds.push_back({"HGETALL", k});
  auto hashes = redis_.pipeline(cmds);
  if (!hashes) return hashes.error();
  for (const auto& h : *hashes) out.push_back(fields_of(h, SyncFields::keep));
  return out;
}

}  // namespace stripe_sync::ingress
