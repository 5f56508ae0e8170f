// The portal's configurations (role admin): GET /api/payment/portal/configuration lists Stripe's
// with our branding beside each (cached in Redis, dropped by the worker on
// billing_portal.configuration.* events); POST creates one, POST .../{id} updates one.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/core/json_read.hpp"
#include "common/core/log.hpp"
#include "ingress/portal/portal_api.hpp"
#include "ingress/portal/portal_configuration.hpp"

namespace stripe_sync::ingress {

namespace json = boost::json;

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

Answer PortalApi::list_configurations(const PortalRequest&) {
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
    if (!got) return store_unavailable();
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

Answer PortalApi::save_configuration(const PortalRequest& request, bool creating) {
  std::string id;
  if (!creating) {
    id = request.match.id;
    // Only a Stripe id reaches the URL we call: no traversal, no encoded separators.
    bool valid = id.rfind("bpc_", 0) == 0 && id.size() > 4 &&
                 id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == std::string::npos;
    if (!valid) return error(ErrorCode::bad_request, "the path must name a configuration id (bpc_...)");
  }
  boost::system::error_code ec;
  json::value req = json::parse(request.body, ec);
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

}  // namespace stripe_sync::ingress
