#include "ingress/portal_api.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <ctime>
#include <set>

#include "common/billing/event_extract.hpp"
#include "common/billing/subscription_rules.hpp"
#include "common/core/json_read.hpp"
#include "common/core/log.hpp"
#include "common/core/time.hpp"
#include "ingress/portal_analytics.hpp"
#include "ingress/portal_configuration.hpp"
#include "ingress/portal_diff.hpp"
#include "ingress/portal_workflow.hpp"
#include "ingress/return_link.hpp"

namespace stripe_sync::ingress {

namespace json = boost::json;

namespace {

std::string origin_of(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || u->host().empty()) return {};
  std::string o = std::string(u->scheme()) + "://" + std::string(u->host());
  if (u->has_port()) o += ":" + std::string(u->port());
  return o;
}

std::string random_id(std::string_view prefix) {
  std::string uuid = random_uuid();
  std::string out(prefix);
  for (char c : uuid)
    if (c != '-') out.push_back(c);
  return out;
}

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

json::object state_json(const CustomerState& s) {
  json::object subs, pms;
  for (const auto& [id, f] : s.subscriptions) subs[id] = to_json(f);
  for (const auto& [id, f] : s.payment_methods) pms[id] = to_json(f);
  return {{"customer", to_json(s.customer)}, {"subscriptions", subs}, {"payment_methods", pms}};
}

CustomerState state_from_json(const json::value& v) {
  CustomerState s;
  if (!v.is_object()) return s;
  const auto& o = v.as_object();
  if (auto* c = o.if_contains("customer")) s.customer = from_json(*c);
  if (auto* subs = o.if_contains("subscriptions"); subs && subs->is_object())
    for (const auto& kv : subs->as_object()) s.subscriptions[std::string(kv.key())] = from_json(kv.value());
  if (auto* pms = o.if_contains("payment_methods"); pms && pms->is_object())
    for (const auto& kv : pms->as_object()) s.payment_methods[std::string(kv.key())] = from_json(kv.value());
  return s;
}

ObjectFields record_fields(const ChangeRecord& r) {
  ObjectFields o;
  for (const auto& [k, v] : r.fields) o[k] = v;
  return o;
}




}  // namespace

std::optional<PortalRoute> portal_route(std::string_view path, std::string_view method, std::string_view& allowed) {
  struct Entry {
    std::string_view path;
    bool prefix;
    std::string_view method;
    PortalRoute route;
  };
  static constexpr Entry kRoutes[] = {
      {"/api/payment/portal/configuration", false, "GET", PortalRoute::config_list},
      {"/api/payment/portal/configuration", false, "POST", PortalRoute::config_create},
      {"/api/payment/portal/configuration/", true, "POST", PortalRoute::config_update},
      {"/api/payment/portal/session", false, "POST", PortalRoute::session},
      {"/api/payment/portal/return", false, "GET", PortalRoute::portal_return},
      {"/api/payment/portal/analytics", false, "GET", PortalRoute::analytics},
      {"/api/payment/customers/", true, "POST", PortalRoute::customer_update},
  };
  allowed = {};
  for (const auto& e : kRoutes) {
    bool match = e.prefix ? path.size() > e.path.size() && path.substr(0, e.path.size()) == e.path &&
                                path.find('/', e.path.size()) == std::string_view::npos
                          : path == e.path;
    if (!match) continue;
    if (method == e.method) return e.route;
    // The path exists with another method: say which (both, for the configuration list).
    allowed = allowed.empty() ? e.method : std::string_view("GET, POST");
  }
  return std::nullopt;
}

std::string_view to_string(PortalRoute route) {
  switch (route) {
    case PortalRoute::session: return "session";
    case PortalRoute::portal_return: return "return";
    case PortalRoute::analytics: return "analytics";
    case PortalRoute::customer_update: return "customer_update";
    case PortalRoute::config_list: return "configuration_list";
    case PortalRoute::config_create: return "configuration_create";
    case PortalRoute::config_update: return "configuration_update";
  }
  return "unknown";
}

Answer PortalApi::handle(PortalRoute route, std::string_view authorization, const std::string& client,
                         std::string_view target, std::string_view body, std::string_view idempotency_key) {
  switch (route) {
    case PortalRoute::session: return create_session(authorization, client, body);
    case PortalRoute::portal_return: return handle_return(authorization, client, target);
    case PortalRoute::analytics: return analytics(authorization, client, target);
    case PortalRoute::customer_update: return update_customer(authorization, client, target, body, idempotency_key);
    case PortalRoute::config_list: return list_configurations(authorization, client);
    case PortalRoute::config_create: return save_configuration(authorization, client, target, body, true);
    case PortalRoute::config_update: return save_configuration(authorization, client, target, body, false);
  }
  return error(ErrorCode::not_found, "no such route");
}

namespace {
constexpr std::chrono::seconds kConfigurationCacheTtl{300};

// The seed's configuration shape: Stripe's object with our branding beside it.
json::object merged_configuration(const json::object& stripe, const std::string& branding_json) {
  json::object out;
  for (const char* k : {"id", "name", "business_profile", "features", "is_default", "active", "default_return_url"}) {
    if (auto* v = stripe.if_contains(k)) out[k] = *v;
  }
  boost::system::error_code ec;
  json::value branding = branding_json.empty() ? json::value(json::object{}) : json::parse(branding_json, ec);
  out["branding"] = ec ? json::value(json::object{}) : branding;
  return out;
}
}  // namespace

Answer PortalApi::list_configurations(std::string_view authorization, const std::string& client) {
  if (auto refused = admit(authorization, client, Role::admin)) return *refused;
  const Keys keys = store_.keys();
  auto redis = redis_.acquire();
  if (auto cached = redis->command({"GET", keys.portal_configuration_list()}); cached && cached->type == RedisValue::Type::string) {
    return {200, cached->str, {}};
  }
  json::array configs;
  StripeResult r = stripe_list_all(stripe_, "/v1/billing_portal/configurations", {}, configs);
  if (!r.ok()) return stripe_failed(r);
  std::vector<std::vector<std::string>> commands;
  for (const auto& c : configs) {
    auto id = json_read::string_at(c, "id");
    if (!id) return bad_answer("a configuration without an id");
    commands.push_back({"GET", keys.portal_branding(*id)});
  }
  std::vector<RedisValue> brandings;
  if (!commands.empty()) {
    std::vector<std::vector<std::string_view>> cmds;
    for (const auto& k : commands) cmds.push_back({k[0], k[1]});
    auto got = redis->pipeline(cmds);
    if (!got) return error(ErrorCode::upstream_unavailable, "the billing store is not reachable; retry later");
    brandings = std::move(*got);
  }
  json::array out;
  for (std::size_t i = 0; i < configs.size(); ++i) out.push_back(merged_configuration(configs[i].get_object(), brandings[i].str));
  std::string body = json::serialize(json::object{{"success", true}, {"configurations", out}});
  // Kept briefly, and dropped at once by the worker when a configuration event arrives. A cache
  // that cannot be written only costs the next caller a Stripe call.
  if (auto cached = redis->command({"SET", keys.portal_configuration_list(), body, "EX", std::to_string(kConfigurationCacheTtl.count())});
      !cached) {
    log::warn("configuration list not cached", {{"error", cached.error().message}});
  }
  return {200, body, {}};
}

Answer PortalApi::save_configuration(std::string_view authorization, const std::string& client, std::string_view target,
                                     std::string_view body, bool creating) {
  if (auto refused = admit(authorization, client, Role::admin)) return *refused;
  std::string id;
  if (!creating) {
    std::string path(target.substr(0, target.find('?')));
    id = path.substr(std::string_view("/api/payment/portal/configuration/").size());
    // Only a Stripe id reaches the URL we call: no traversal, no encoded separators.
    bool valid = id.rfind("bpc_", 0) == 0 && id.size() > 4 &&
                 id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == std::string::npos;
    if (!valid) return error(ErrorCode::bad_request, "the path must name a configuration id (bpc_...)");
  }
  boost::system::error_code ec;
  json::value req = json::parse(body, ec);
  if (ec || !req.is_object()) return error(ErrorCode::configuration_invalid, "the body must be a JSON object");
  ConfigurationRequest cr = validate_configuration(req.as_object(), creating);
  if (!cr.errors.empty()) {
    std::string message = "configuration invalid: ";
    for (std::size_t i = 0; i < cr.errors.size(); ++i) message += (i ? "; " : "") + cr.errors[i];
    return error(ErrorCode::configuration_invalid, message);
  }
  StripeResult r = stripe_.post(creating ? "/v1/billing_portal/configurations" : "/v1/billing_portal/configurations/" + id,
                                cr.stripe_params);
  if (r.error == StripeError::not_found) return error(ErrorCode::not_found, "no such configuration: " + id);
  if (r.error == StripeError::invalid_request) return error(ErrorCode::configuration_invalid, "Stripe refused it: " + r.message);
  if (!r.ok()) return stripe_failed(r);
  json::value saved = json::parse(r.body, ec);
  auto saved_id = ec ? std::nullopt : json_read::string_at(saved, "id");
  if (!saved_id) return bad_answer("a configuration without an id");
  id = std::string(*saved_id);
  const Keys keys = store_.keys();
  auto redis = redis_.acquire();
  std::string branding_json;
  if (!cr.branding.empty() || creating) {
    branding_json = json::serialize(cr.branding);
    if (!redis->command({"SET", keys.portal_branding(id), branding_json})) {
      return error(ErrorCode::upstream_unavailable, "saved at Stripe, but the branding could not be stored; retry the request");
    }
  } else if (auto b = redis->command({"GET", keys.portal_branding(id)}); b && b->type == RedisValue::Type::string) {
    branding_json = b->str;
  }
  // The next list and session see it at once.
  if (!redis->command({"DEL", keys.portal_configuration_list()})) {
    return error(ErrorCode::upstream_unavailable, "saved at Stripe, but the cached list could not be dropped; retry the request");
  }
  json::object out{{"success", true}, {"configuration", merged_configuration(saved.as_object(), branding_json)}};
  return {200, json::serialize(out), {}};
}

Answer PortalApi::analytics(std::string_view authorization, const std::string& client, std::string_view target) {
  if (auto refused = admit(authorization, client, Role::admin)) return *refused;
  auto u = boost::urls::parse_origin_form(target);
  if (!u) return error(ErrorCode::bad_request, "malformed query string");
  std::string start_text, end_text;
  for (auto p : u->params()) {
    if (p.key == "start_date") start_text = p.value;
    else if (p.key == "end_date") end_text = p.value;
  }
  const std::int64_t today = now_ms_() / 1000 / 86400 * 86400;
  auto start = start_text.empty() ? std::optional<std::int64_t>(today - 29 * 86400) : parse_utc_day(start_text);
  auto end = end_text.empty() ? std::optional<std::int64_t>(today) : parse_utc_day(end_text);
  if (!start || !end) return error(ErrorCode::bad_request, "start_date and end_date must be dates as YYYY-MM-DD");
  if (*start > *end) return error(ErrorCode::bad_request, "start_date must not be after end_date");
  const std::int64_t from_ms = *start * 1000, to_ms = (*end + 86400) * 1000 - 1;  // end_date inclusive

  auto redis = redis_.acquire();
  const Keys keys = store_.keys();
  auto ids = redis->command({"ZRANGEBYSCORE", keys.portal_visits(), std::to_string(from_ms), std::to_string(to_ms)});
  auto sessions = redis->command({"SMEMBERS", keys.portal_sessions()});
  if (!ids || !sessions) return error(ErrorCode::upstream_unavailable, "the billing store is not reachable; retry later");
  std::vector<std::vector<std::string>> commands;
  for (const auto& id : ids->elements) commands.push_back({"HGETALL", keys.portal_visit(id.str)});
  for (const auto& id : sessions->elements) commands.push_back({"HGETALL", keys.portal_session(id.str)});
  std::vector<std::vector<std::string_view>> cmds;
  for (const auto& k : commands) cmds.push_back({k[0], k[1]});
  std::vector<RedisValue> hashes;
  if (!cmds.empty()) {
    auto got = redis->pipeline(cmds);
    if (!got) return error(ErrorCode::upstream_unavailable, "the billing store is not reachable; retry later");
    hashes = std::move(*got);
  }
  auto as_map = [](const RedisValue& h) {
    ObjectFields m;
    for (std::size_t i = 0; i + 1 < h.elements.size(); i += 2) m[h.elements[i].str] = h.elements[i + 1].str;
    return m;
  };
  std::vector<VisitRecord> ours, elsewhere;
  std::set<std::string> our_stripe_sessions;
  for (std::size_t i = 0; i < ids->elements.size(); ++i) {
    ObjectFields v = as_map(hashes[i]);
    VisitRecord rec;
    rec.customer = v["customer"];
    rec.features.push_back(workflow_feature(v["workflow"]));
    if (auto ms = json_read::parse_int(v["duration_ms"])) rec.duration_min = static_cast<double>(*ms) / 60000.0;
    boost::system::error_code ec;
    if (auto result = json::parse(v["result"], ec); !ec) {
      if (const auto* sync = json_read::member(result, "synchronized_data")) {
        if (json_read::bool_at(*sync, "payment_method_updated").value_or(false)) rec.features.push_back("payment_method_update");
        if (json_read::bool_at(*sync, "customer_updated").value_or(false)) rec.features.push_back("customer_update");
        if (json_read::bool_at(*sync, "subscription_changed").value_or(false)) rec.features.push_back("subscription_update");
      }
    }
    our_stripe_sessions.insert(v["stripe_session"]);
    ours.push_back(std::move(rec));
  }
  for (std::size_t i = 0; i < sessions->elements.size(); ++i) {
    ObjectFields s = as_map(hashes[ids->elements.size() + i]);
    auto created_s = json_read::parse_int(s["created"]);
    if (our_stripe_sessions.count(s["id"]) || !created_s) continue;
    std::int64_t created_ms = *created_s * 1000;
    if (created_ms < from_ms || created_ms > to_ms) continue;
    VisitRecord rec;
    rec.customer = s["customer"];
    rec.features.push_back(s["flow_type"].empty() ? "portal_homepage" : s["flow_type"]);
    elsewhere.push_back(std::move(rec));
  }
  AnalyticsReport report = portal_analytics(ours, elsewhere);
  json::array features;
  for (const auto& [name, count] : report.most_used_features) features.push_back(json::array{json::value(name), count});
  json::object out{{"success", true},
                   {"analytics", json::object{{"total_sessions", report.total_sessions},
                                              {"unique_customers", report.unique_customers},
                                              {"most_used_features", features},
                                              {"session_duration_stats",
                                               json::object{{"average_duration_minutes", report.average_duration_minutes},
                                                            {"median_duration_minutes", report.median_duration_minutes}}},
                                              {"return_rate", report.return_rate},
                                              {"period", json::object{{"start_date", utc_day(*start)},
                                                                      {"end_date", utc_day(*end)}}}}}};
  return {200, json::serialize(out), {}};
}

Answer PortalApi::update_customer(std::string_view authorization, const std::string& client, std::string_view target,
                                  std::string_view body, std::string_view idempotency_key) {
  if (auto refused = admit(authorization, client, Role::app)) return *refused;
  std::string path(target.substr(0, target.find('?')));
  std::string customer = path.substr(std::string_view("/api/payment/customers/").size());
  if (customer.rfind("cus_", 0) != 0 || customer.find_first_of("/?#%") != std::string::npos) {
    return error(ErrorCode::bad_request, "the path must name a customer id (cus_...)");
  }
  boost::system::error_code ec;
  json::value req = json::parse(body, ec);
  if (ec || !req.is_object()) return error(ErrorCode::bad_request, "the body must be a JSON object");
  json::object params;
  for (const auto& kv : req.as_object()) {
    std::string_view k = kv.key();
    if (k == "email" || k == "name" || k == "phone") {
      if (!kv.value().is_string()) return error(ErrorCode::bad_request, std::string(k) + " must be a string");
      if (k == "email" && kv.value().as_string().find('@') == json::string::npos) {
        return error(ErrorCode::bad_request, "email must be an email address");
      }
      params[k] = kv.value();
    } else if (k == "address") {
      if (!kv.value().is_object()) return error(ErrorCode::bad_request, "address must be an object");
      json::object address;
      for (const auto& a : kv.value().as_object()) {
        static constexpr std::string_view kParts[] = {"line1", "line2", "city", "state", "postal_code", "country"};
        if (std::find(std::begin(kParts), std::end(kParts), a.key()) == std::end(kParts) || !a.value().is_string()) {
          return error(ErrorCode::bad_request, "address." + std::string(a.key()) + " is not a known address field (a string)");
        }
        address[a.key()] = a.value();
      }
      params["address"] = std::move(address);
    } else {
      return error(ErrorCode::bad_request, "unknown field '" + std::string(k) + "': email, name, phone or address");
    }
  }
  if (params.empty()) return error(ErrorCode::bad_request, "nothing to update: give email, name, phone or address");
  // The caller's Idempotency-Key (if any) is kept, so its own retries are safe end to end.
  StripeResult r = stripe_.post("/v1/customers/" + customer, params, std::string(idempotency_key));
  if (r.error == StripeError::not_found) return error(ErrorCode::customer_not_found, "no such customer: " + customer);
  if (r.error == StripeError::invalid_request) return error(ErrorCode::bad_request, "Stripe refused the update: " + r.message);
  if (!r.ok()) return stripe_failed(r);
  ChangeRecord rec;
  if (auto x = extract_snapshot(r.body, r.date_unix, "sync_" + random_id(""), "api-update", rec);
      x.status != ExtractStatus::record) {
    return bad_answer("a customer that cannot be read (" + x.detail + ")");
  }
  {
    auto redis = redis_.acquire();
    EventStore store(*redis, store_);
    if (!store.apply(std::span(&rec, 1), now_ms_())) {
      // Stripe has it; the webhook that follows will bring it here too.
      log::warn("customer updated at Stripe but not applied locally", {{"customer", customer}});
    }
  }
  ObjectFields f = record_fields(rec);
  json::value address = nullptr;
  if (!f["address"].empty()) address = json::parse(f["address"], ec);
  json::object out{{"success", true},
                   {"customer", json::object{{"id", customer}, {"email", f["email"]}, {"name", f["name"]},
                                             {"phone", f["phone"]}, {"address", address}}}};
  return {200, json::serialize(out), {}};
}

PortalApi::PortalApi(const IngressConfig& config, StripeApi& stripe, std::vector<ApiKey> keys,
                     std::function<std::int64_t()> now_ms)
    : config_(config),
      keys_(std::move(keys)),
      limiter_(config.portal.rate_per_s, config.portal.burst),
      redis_(parse_redis_url(config.redis_url), std::chrono::seconds(2)),
      now_ms_(std::move(now_ms)),
      stripe_budget_(redis_, stripe_budget_config(config.portal.stripe_api_key, config.portal.redis_prefix)),
      stripe_(stripe, stripe_budget_, StripePriority::normal),
      stripe_waiting_(stripe, stripe_budget_, StripePriority::customer_waiting) {
  store_.prefix = config.portal.redis_prefix;
}

Answer PortalApi::error(ErrorCode code, std::string_view message, unsigned status) const {
  return {status ? status : http_status(code), error_body(code, message, now_ms_()), {}};
}

Answer PortalApi::stripe_failed(const StripeResult& r) const {
  if (r.error == StripeError::bad_answer) return bad_answer("an answer that is not Stripe's API");
  return error(ErrorCode::upstream_unavailable, "Stripe is not reachable; retry later");
}

Answer PortalApi::bad_answer(std::string_view what) const {
  return error(ErrorCode::upstream_unavailable,
               "Stripe (or a proxy in front of it) gave " + std::string(what) + "; retry later", 502);
}

std::optional<Answer> PortalApi::admit(std::string_view authorization, const std::string& client, Role role) {
  std::string who;
  switch (keys_.check(authorization, role, &who)) {
    case AccessResult::unauthorized: return error(ErrorCode::unauthorized, "a valid API key is required (Authorization: Bearer <key>)");
    case AccessResult::forbidden: return error(ErrorCode::forbidden, "this API key may not use this route");
    case AccessResult::allowed: break;
  }
  for (const std::string& bucket : {"key:" + who, "ip:" + client}) {
    if (auto wait = limiter_.take(bucket)) {
      Answer a = error(ErrorCode::rate_limited, "too many requests; retry later");
      a.headers.emplace_back("Retry-After", std::to_string((wait->count() + 999) / 1000));
      return a;
    }
  }
  return std::nullopt;
}

Answer PortalApi::create_session(std::string_view authorization, const std::string& client, std::string_view body) {
  if (auto refused = admit(authorization, client, Role::app)) return *refused;
  boost::system::error_code ec;
  json::value req = json::parse(body, ec);
  if (ec || !req.is_object()) return error(ErrorCode::bad_request, "the body must be a JSON object");
  const auto& o = req.as_object();
  auto text = [&](const char* name) -> std::string {
    auto* v = o.if_contains(name);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  std::string customer = text("customer_id"), workflow_type = text("workflow_type");
  if (customer.empty()) return error(ErrorCode::bad_request, "customer_id is required");
  const Workflow* workflow = find_workflow(workflow_type);
  if (!workflow) {
    return error(ErrorCode::bad_request, "workflow_type must be one of payment_update, billing_review, "
                                         "subscription_management, cancellation_process, profile_update");
  }
  // Stripe cannot brand one session (the look is the account's and the configuration's), so
  // custom_branding is checked like a configuration's branding and recorded with the visit.
  std::string branding_json;
  if (auto* b = o.if_contains("custom_branding")) {
    ConfigurationRequest cr = validate_configuration(json::object{{"branding", *b}}, false);
    if (!cr.errors.empty()) {
      std::string message = "custom_branding invalid: ";
      for (std::size_t i = 0; i < cr.errors.size(); ++i) message += (i ? "; " : "") + cr.errors[i];
      return error(ErrorCode::bad_request, message);
    }
    branding_json = json::serialize(cr.branding);
  }
  std::string page = text("return_url");
  if (!page.empty()) {
    const auto& allowed = config_.portal.return_origins;
    if (std::find(allowed.begin(), allowed.end(), origin_of(page)) == allowed.end()) {
      return error(ErrorCode::bad_request, "return_url must be on one of PORTAL_RETURN_ORIGINS");
    }
  } else {
    page = config_.portal.public_base_url + std::string(workflow->redirect_path);
  }

  auto redis = redis_.acquire();
  auto before = read_customer_state(*redis, store_.keys(), customer);
  if (!before) return error(ErrorCode::upstream_unavailable, "the billing store is not reachable; retry later");
  if (before->customer.empty() || before->customer["deleted"] == "1") {
    // Not (yet) in Redis: ask Stripe, and keep what it says.
    StripeResult r = stripe_.get("/v1/customers/" + customer);
    if (r.error == StripeError::not_found) return error(ErrorCode::customer_not_found, "no such customer: " + customer);
    if (!r.ok()) return stripe_failed(r);
    ChangeRecord rec;
    auto x = extract_snapshot(r.body, r.date_unix, "sync_" + random_id(""), "session-sync", rec);
    if (x.status != ExtractStatus::record) return bad_answer("a customer that cannot be read (" + x.detail + ")");
    if (rec.tombstone) return error(ErrorCode::customer_not_found, "no such customer: " + customer);
    EventStore store(*redis, store_);
    if (!store.apply(std::span(&rec, 1), now_ms_())) {
      return error(ErrorCode::upstream_unavailable, "the billing store is not reachable; retry later");
    }
    before->customer = record_fields(rec);
  }

  SessionRequest sr;
  sr.customer_id = customer;
  sr.configuration_id = text("configuration_id");
  sr.locale = text("locale");
  for (const auto& [id, sub] : before->subscriptions) {
    auto it = sub.find("status");
    if (it != sub.end() && subscription_in_portal(it->second)) {
      sr.live_subscription_id = id;
      break;
    }
  }
  const std::string session_id = random_id("ps_");
  sr.return_url = return_link(page, config_.portal.return_secret.reveal(), session_id, customer, workflow->action);
  SessionPlanError plan_error;
  json::object params = session_params(*workflow, sr, plan_error);
  if (plan_error == SessionPlanError::no_live_subscription) {
    return error(ErrorCode::conflict, "customer " + customer + " has no live subscription to cancel");
  }
  // Our session id is the Idempotency-Key: a retried creation never makes two sessions.
  StripeResult created = stripe_.post("/v1/billing_portal/sessions", params, session_id);
  if (!created.ok()) {
    if (created.error == StripeError::invalid_request || created.error == StripeError::not_found) {
      return error(ErrorCode::bad_request, "Stripe refused the session: " + created.message);
    }
    log::warn("portal session not created", {{"customer", customer}, {"error", to_string(created.error)}});
    return stripe_failed(created);
  }
  json::value stripe_session = json::parse(created.body, ec);
  if (ec || !stripe_session.is_object()) return bad_answer("a portal session that is not a JSON object");
  auto session_stripe_id = json_read::string_at(stripe_session, "id");
  auto session_url = json_read::string_at(stripe_session, "url");
  if (!session_stripe_id || !session_url) return bad_answer("a portal session without an id or url");
  const std::string stripe_id(*session_stripe_id), url(*session_url);
  const std::int64_t now = now_ms_();
  const std::int64_t expires = now + config_.portal.session_ttl.count() * 1000;

  const std::string visit = store_.keys().portal_visit(session_id);
  std::string before_json = json::serialize(state_json(*before));
  auto saved = redis->pipeline({{"HSET", visit, "customer", customer, "workflow", workflow->type, "action",
                                 workflow->action, "stripe_session", stripe_id, "created_ms", std::to_string(now),
                                 "expires_ms", std::to_string(expires), "before", before_json,
                                 "branding", branding_json},
                                {"ZADD", store_.keys().portal_visits(), std::to_string(now), session_id}});
  if (!saved) return error(ErrorCode::upstream_unavailable, "the billing store is not reachable; retry later");
  log::info("portal session created", {{"customer", customer}, {"workflow", workflow->type}, {"session", session_id}});

  json::object out{{"success", true},
                   {"portal_session", json::object{{"id", stripe_id},
                                                   {"url", url},
                                                   {"expires_at", rfc3339_utc_ms(expires).substr(0, 19) + "Z"},
                                                   {"return_url", sr.return_url}}}};
  return {200, json::serialize(out), {}};
}

Answer PortalApi::handle_return(std::string_view authorization, const std::string& client, std::string_view target) {
  if (auto refused = admit(authorization, client, Role::app)) return *refused;
  auto u = boost::urls::parse_origin_form(target);
  if (!u) return error(ErrorCode::bad_request, "malformed query string");
  std::string session_id, customer, action, sig;
  for (auto p : u->params()) {
    if (p.key == "session_id") session_id = p.value;
    else if (p.key == "customer_id") customer = p.value;
    else if (p.key == "action") action = p.value;
    else if (p.key == "sig") sig = p.value;
  }
  if (session_id.empty() || customer.empty() || action.empty() || sig.empty()) {
    return error(ErrorCode::bad_request, "session_id, customer_id, action and sig are required");
  }
  auto redis = redis_.acquire();
  const std::string visit = store_.keys().portal_visit(session_id);
  auto stored = redis->command({"HGETALL", visit});
  if (!stored) return error(ErrorCode::upstream_unavailable, "the billing store is not reachable; retry later");
  ObjectFields v;
  for (std::size_t i = 0; i + 1 < stored->elements.size(); i += 2) v[stored->elements[i].str] = stored->elements[i + 1].str;
  if (v.empty()) return error(ErrorCode::invalid_session, "unknown portal session");
  if (v["customer"] != customer) return error(ErrorCode::forbidden, "this portal session belongs to another customer");
  if (!verify_return_signature(config_.portal.return_secret.reveal(), session_id, customer, action, sig) || v["action"] != action) {
    return error(ErrorCode::invalid_session, "the return link's signature does not match");
  }
  if (!v["result"].empty()) return {200, v["result"], {}};  // returned once already: same answer
  if (now_ms_() > json_read::parse_int(v["expires_ms"]).value_or(0)) return error(ErrorCode::invalid_session, "the portal session has expired");

  // Fetch everything first: nothing is written unless the whole picture arrived.
  StripeResult cust = stripe_waiting_.get("/v1/customers/" + customer);
  json::array subs, pms;
  StripeResult subs_r = cust.ok() ? stripe_list_all(stripe_waiting_, "/v1/subscriptions", {{"customer", customer}, {"status", "all"}}, subs) : cust;
  StripeResult pms_r = subs_r.ok() ? stripe_list_all(stripe_waiting_, "/v1/customers/" + customer + "/payment_methods", {}, pms) : subs_r;
  if (!cust.ok() || !subs_r.ok() || !pms_r.ok()) {
    log::warn("portal return: Stripe fetch failed", {{"customer", customer}, {"session", session_id}});
    return error(ErrorCode::sync_failed, "could not fetch the customer's billing state from Stripe; nothing was changed");
  }

  boost::system::error_code parse_ec;
  CustomerState before = state_from_json(json::parse(v["before"], parse_ec));
  CustomerState after;
  std::vector<ChangeRecord> records;
  auto add = [&](const std::string& object_json, std::int64_t date) -> ChangeRecord* {
    ChangeRecord r;
    if (extract_snapshot(object_json, date, "sync_" + session_id + "_" + std::to_string(records.size()),
                         "return-sync", r).status != ExtractStatus::record) {
      return nullptr;
    }
    records.push_back(std::move(r));
    return &records.back();
  };
  if (auto* r = add(cust.body, cust.date_unix)) after.customer = record_fields(*r);
  for (const auto& s : subs) {
    if (auto* r = add(json::serialize(s), subs_r.date_unix)) {
      auto f = record_fields(*r);
      if (subscription_in_portal(f["status"]) || before.subscriptions.count(r->object_id)) after.subscriptions[r->object_id] = f;
    }
  }
  for (const auto& p : pms) {
    if (auto* r = add(json::serialize(p), pms_r.date_unix)) after.payment_methods[r->object_id] = record_fields(*r);
  }
  // Attached before, absent now: detached in the portal.
  for (const auto& [id, fields] : before.payment_methods) {
    if (after.payment_methods.count(id)) continue;
    ChangeRecord r;
    r.key = customer;
    r.kind = ObjectKind::payment_method;
    r.object_id = id;
    r.event_id = "sync_" + session_id + "_" + std::to_string(records.size());
    r.event_type = "payment_method.snapshot";
    r.source = "return-sync";
    r.created = pms_r.date_unix;
    r.rank = 3;
    r.tombstone = true;
    r.index = IndexAction::remove;
    for (const auto& [k, val] : fields) r.fields.emplace_back(k, k == "deleted" ? "1" : val);
    records.push_back(std::move(r));
  }
  EventStore store(*redis, store_);
  if (!store.apply(records, now_ms_())) {
    return error(ErrorCode::sync_failed, "the billing store is not reachable; retry later");
  }

  SyncReport report = diff_states(before, after);
  json::array changes;
  for (const auto& c : report.changes) changes.push_back(json::value(c));
  const Workflow* workflow = nullptr;
  for (const char* t : {"payment_update", "billing_review", "subscription_management", "cancellation_process", "profile_update"}) {
    if (find_workflow(t)->action == action) workflow = find_workflow(t);
  }
  json::object out{{"success", true},
                   {"message", "Portal return handled successfully"},
                   {"synchronized_data", json::object{{"customer_updated", report.customer_updated},
                                                      {"subscription_changed", report.subscription_changed},
                                                      {"payment_method_updated", report.payment_method_updated},
                                                      {"changes", changes}}},
                   {"redirect_url", workflow ? std::string(workflow->redirect_path) : std::string("/dashboard/billing")}};
  std::string result = json::serialize(out);
  // Counted once: the first return records its time and answer; a concurrent second one reads it.
  const std::string now = std::to_string(now_ms_());
  auto first = redis->command({"HSETNX", visit, "returned_ms", now});
  if (first && first->integer == 1) {
    std::int64_t duration = now_ms_() - json_read::parse_int(v["created_ms"]).value_or(now_ms_());
    if (auto kept = redis->command({"HSET", visit, "result", result, "duration_ms", std::to_string(duration)}); !kept) {
      // The objects are applied; only the analytics of this return are missing.
      log::warn("portal return not recorded", {{"session", session_id}, {"error", kept.error().message}});
    }
  } else if (auto again = redis->command({"HGET", visit, "result"}); again && !again->str.empty()) {
    result = again->str;
  }
  log::info("portal return synchronised", {{"customer", customer}, {"session", session_id},
                                            {"changes", static_cast<std::int64_t>(report.changes.size())}});
  return {200, result, {}};
}

}  // namespace stripe_sync::ingress
