#include "ingress/portal/portal_api.hpp"

#include "common/redis/redis_probe.hpp"

namespace stripe_sync::ingress {

bool is_customer_id(std::string_view id) {
  return id.rfind("cus_", 0) == 0 && id.size() > 4 && id.find_first_of("/?#%{}") == std::string_view::npos;
}

std::string random_id(std::string_view prefix) {
  std::string uuid = random_uuid();
  std::string out(prefix);
  for (char c : uuid)
    if (c != '-') out.push_back(c);
  return out;
}

PortalApi::PortalApi(const PortalConfig& config, const std::string& redis_url, StripeApi& stripe,
                     std::vector<ApiKey> keys, std::function<std::int64_t()> now_ms, metrics::Registry* metrics)
    : config_(config),
      keys_(std::move(keys)),
      limiter_(config.rate_per_s, config.burst),
      redis_(parse_redis_url(redis_url), std::chrono::seconds(2)),
      now_ms_(std::move(now_ms)),
      stripe_budget_(redis_, stripe_budget_config(config.stripe_api_key, config.store.prefix, metrics)),
      stripe_(stripe, stripe_budget_, StripePriority::normal),
      stripe_waiting_(stripe, stripe_budget_, StripePriority::customer_waiting),
      store_(config.store) {}

Answer PortalApi::handle(const PortalRequest& request) {
  const Role role = request.match.route == PortalRoute::config_list || request.match.route == PortalRoute::config_create ||
                            request.match.route == PortalRoute::config_update || request.match.route == PortalRoute::analytics
                        ? Role::admin
                        : Role::app;
  if (auto refused = admit(request, role)) return *refused;
  switch (request.match.route) {
    case PortalRoute::session: return create_session(request);
    case PortalRoute::portal_return: return handle_return(request);
    case PortalRoute::analytics: return analytics(request);
    case PortalRoute::customer_update: return update_customer(request);
    case PortalRoute::config_list: return list_configurations(request);
    case PortalRoute::config_create: return save_configuration(request, true);
    case PortalRoute::config_update: return save_configuration(request, false);
    case PortalRoute::customer_read: return read_customer(request);
    case PortalRoute::entitlement_check: return check_entitlement(request);
    case PortalRoute::invoice_list: return list_invoices(request);
  }
  return error(ErrorCode::not_found, "no such route");
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

Answer PortalApi::store_unavailable() const {
  return error(ErrorCode::upstream_unavailable, "the billing store is not reachable; retry later");
}

std::optional<Answer> PortalApi::admit(const PortalRequest& request, Role role) {
  std::string who;
  switch (keys_.check(request.authorization, role, &who)) {
    case AccessResult::unauthorized: return error(ErrorCode::unauthorized, "a valid API key is required (Authorization: Bearer <key>)");
    case AccessResult::forbidden: return error(ErrorCode::forbidden, "this API key may not use this route");
    case AccessResult::allowed: break;
  }
  for (const std::string& bucket : {"key:" + who, "ip:" + request.client}) {
    if (auto wait = limiter_.take(bucket)) {
      Answer a = error(ErrorCode::rate_limited, "too many requests; retry later");
      a.headers.emplace_back("Retry-After", std::to_string((wait->count() + 999) / 1000));
      return a;
    }
  }
  return std::nullopt;
}

}  // namespace stripe_sync::ingress
