#include "ingress/portal/routes.hpp"

namespace stripe_sync::ingress {

namespace {

struct Route {
  std::string_view method;
  std::string_view pattern;
  PortalRoute route;
};

constexpr Route kRoutes[] = {
    {"GET", "/api/payment/portal/configuration", PortalRoute::config_list},
    {"POST", "/api/payment/portal/configuration", PortalRoute::config_create},
    {"POST", "/api/payment/portal/configuration/{id}", PortalRoute::config_update},
    {"POST", "/api/payment/portal/session", PortalRoute::session},
    {"GET", "/api/payment/portal/return", PortalRoute::portal_return},
    {"GET", "/api/payment/portal/analytics", PortalRoute::analytics},
    {"POST", "/api/payment/customers/{id}", PortalRoute::customer_update},
    {"GET", "/api/payment/customers/{id}", PortalRoute::customer_read},
    {"GET", "/api/payment/customers/{id}/entitlements/{key}", PortalRoute::entitlement_check},
    {"GET", "/api/payment/customers/{id}/invoices", PortalRoute::invoice_list},
};

// `path` against `pattern`, segment by segment; {id} and {key} take one non-empty segment.
bool matches(std::string_view pattern, std::string_view path, std::string& id, std::string& key) {
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern[0] != '/' || path[0] != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    std::string_view p = pattern.substr(0, pattern.find('/'));
    std::string_view s = path.substr(0, path.find('/'));
    if (p == "{id}" || p == "{key}") {
      if (s.empty()) return false;
      (p == "{id}" ? id : key) = std::string(s);
    } else if (p != s) {
      return false;
    }
    pattern.remove_prefix(p.size());
    path.remove_prefix(s.size());
  }
  return true;
}

}  // namespace

std::string_view to_string(PortalRoute route) {
  switch (route) {
    case PortalRoute::session: return "session";
    case PortalRoute::portal_return: return "return";
    case PortalRoute::analytics: return "analytics";
    case PortalRoute::customer_update: return "customer_update";
    case PortalRoute::config_list: return "configuration_list";
    case PortalRoute::config_create: return "configuration_create";
    case PortalRoute::config_update: return "configuration_update";
    case PortalRoute::customer_read: return "customer_read";
    case PortalRoute::entitlement_check: return "entitlement_check";
    case PortalRoute::invoice_list: return "invoice_list";
  }
  return "unknown";
}

std::optional<RouteMatch> match_portal_route(std::string_view path, std::string_view method,
                                             std::string_view& allowed_method) {
  allowed_method = {};
  for (const Route& r : kRoutes) {
    std::string id, key;
    if (!matches(r.pattern, path, id, key)) continue;
    if (method == r.method) return RouteMatch{r.route, std::move(id), std::move(key)};
    // The path exists with another method: say which (both, for the configuration list).
    allowed_method = allowed_method.empty() ? r.method : std::string_view("GET, POST");
  }
  return std::nullopt;
}

}  // namespace stripe_sync::ingress
