#include "common/billing/fetch_queue.hpp"


#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/billing/event_extract.hpp"
#include "common/redis/redis_script.hpp"

namespace stripe_sync {

namespace json = boost::json;

std::string FetchRequest::json() const {
  return json::serialize(json::object{{"url", url}, {"context", context}, {"id", id}, {"type", type}});
}

std::optional<FetchRequest> FetchRequest::from_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  FetchRequest r;
  for (auto [name, field] : {std::pair{"url", &r.url}, {"context", &r.context}, {"id", &r.id}, {"type", &r.type}}) {
    const json::value* f = v.as_object().if_contains(name);
    if (f == nullptr || !f->is_string()) return std::nullopt;
    *field = std::string(f->as_string());
  }
  if (r.url.empty() || r.url[0] != '/') return std::nullopt;
  r.entry = r.context + "|" + r.url;
  return r;
}

std::optional<FetchRequest> fetch_request_of(const Envelope& thin) {
  if (!thin.thin) return std::nullopt;
  FetchRequest r;
  if (!thin.related_url.empty() && !thin.related_id.empty()) {
    if (!is_kept_object(thin.related_type)) return std::nullopt;
    r.url = thin.related_url;
    r.id = thin.related_id;
    r.type = thin.related_type;
  } else if (thin.type.starts_with("v1.entitlements.")) {
    // The customer's feature access changed (thin-events.md: these carry no related object):
    // the event names the customer, whose active entitlements are then fetched.
    r.url = "/v2/core/events/" + thin.id;
    r.id = thin.id;
    r.type = std::string(kFetchEventType);
  } else {
    return std::nullopt;
  }
  r.context = thin.context;
  r.notification = thin.id;
  r.entry = r.context + "|" + r.url;
  return r;
}

std::vector<std::string> FetchQueue::enqueue_command(const FetchRequest& r, std::int64_t now_ms,
                                                     std::int64_t notification_ttl_s) const {
  return {"EVALSHA",          fetch_queue_script().sha1, "6", keys_.fetch_due(), keys_.fetch_requests(),
          keys_.fetch_seq(),  keys_.fetch_since(),       keys_.fetch_attempts(), keys_.fetch_notification(r.notification),
          "enqueue",          r.entry,                   r.json(),               std::to_string(now_ms),
          std::to_string(notification_ttl_s)};
}

Result<RedisValue> FetchQueue::call(std::vector<std::string> args) {
  std::vector<std::string> a{"EVALSHA", fetch_queue_script().sha1, "5", keys_.fetch_due(), keys_.fetch_requests(),
                             keys_.fetch_seq(), keys_.fetch_since(), keys_.fetch_attempts()};
  a.insert(a.end(), args.begin(), args.end());
  auto v = redis_.command(std::vector<std::string_view>(a.begin(), a.end()));
  if (!v) return v.error();
  if (v->is_error()) return Error{ErrorClass::permanent, "redis_reply", "Redis: " + v->str};
  return std::move(*v);
}

Result<std::vector<ClaimedFetch>> FetchQueue::claim(std::int64_t now_ms, std::int64_t lease_ms, int n) {
  auto v = call({"claim", std::to_string(now_ms), std::to_string(lease_ms), std::to_string(n)});
  if (!v) return v.error();
  std::vector<ClaimedFetch> out;
  for (std::size_t i = 0; i + 3 < v->elements.size(); i += 4) {
    auto request = FetchRequest::from_json(v->elements[i + 1].str);
    ClaimedFetch c;
    if (request) c.request = std::move(*request);
    c.request.entry = v->elements[i].str;  // kept even when the request is unreadable: it is dropped by done()
    c.seq = v->elements[i + 2].str;
    c.attempts = std::atoi(v->elements[i + 3].str.c_str());
    out.push_back(std::move(c));
  }
  return out;
}

Result<bool> FetchQueue::done(const ClaimedFetch& c, std::int64_t now_ms) {
  auto v = call({"done", c.request.entry, c.seq, std::to_string(now_ms)});
  if (!v) return v.error();
  return v->integer == 1;
}

Result<std::int64_t> FetchQueue::retry(const ClaimedFetch& c, std::int64_t due_ms) {
  auto v = call({"retry", c.request.entry, std::to_string(due_ms)});
  if (!v) return v.error();
  return v->integer;
}

Result<std::pair<std::int64_t, std::int64_t>> FetchQueue::depth_and_oldest() {
  auto v = redis_.pipeline({{"ZCARD", keys_.fetch_due()}, {"ZRANGE", keys_.fetch_since(), "0", "0", "WITHSCORES"}});
  if (!v) return v.error();
  for (const auto& r : *v)
    if (r.is_error()) return Error{ErrorClass::permanent, "redis_reply", "Redis: " + r.str};
  std::int64_t oldest = 0;
  if ((*v)[1].elements.size() == 2) oldest = std::atoll((*v)[1].elements[1].str.c_str());
  return std::pair<std::int64_t, std::int64_t>{static_cast<std::int64_t>((*v)[0].integer), oldest};
}

}  // namespace stripe_sync
