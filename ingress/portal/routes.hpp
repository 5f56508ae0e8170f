#pragma once
// The portal API's routes: one table of method and path pattern, matched once per request. A
// path segment written {id} or {key} matches one non-empty segment, handed to the handler as
// `id` or `key`, so no handler slices the target again.
#include <optional>
#include <string>
#include <string_view>

namespace stripe_sync::ingress {

enum class PortalRoute {
  session,
  portal_return,
  analytics,
  customer_update,
  config_list,
  config_create,
  config_update,
  customer_read,       // GET /api/payment/customers/{id}
  entitlement_check,   // GET /api/payment/customers/{id}/entitlements/{key}
  invoice_list,        // GET /api/payment/customers/{id}/invoices
};

// The route's name in metrics: session, return, analytics, customer_update,
// configuration_list, configuration_create, configuration_update, customer_read,
// entitlement_check, invoice_list.
std::string_view to_string(PortalRoute route);

struct RouteMatch {
  PortalRoute route;
  std::string id;   // the path's {id}, raw (not decoded); empty for routes without one
  std::string key;  // the path's {key} (an entitlement's lookup key), raw
};

// Which portal route a request is for (nullopt: not a portal route). When the path exists with
// other methods only, `allowed_method` says which (for a 405).
std::optional<RouteMatch> match_portal_route(std::string_view path, std::string_view method,
                                             std::string_view& allowed_method);

}  // namespace stripe_sync::ingress
