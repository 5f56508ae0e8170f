#pragma once
// The portal API's routes: one table of method and path pattern, matched once per request. A
// path segment written {id} matches one non-empty segment, handed to the handler as `id`, so no
// handler slices the target again.
#include <optional>
#include <string>
#include <string_view>

namespace stripe_sync::ingress {

enum class PortalRoute { session, portal_return, analytics, customer_update, config_list, config_create, config_update };

// The route's name in metrics: session, return, analytics, customer_update,
// configuration_list, configuration_create, configuration_update.
std::string_view to_string(PortalRoute route);

struct RouteMatch {
  PortalRoute route;
  std::string id;  // the path's {id}, raw (not decoded); empty for routes without one
};

// Which portal route a request is for (nullopt: not a portal route). When the path exists with
// other methods only, `allowed_method` says which (for a 405).
std::optional<RouteMatch> match_portal_route(std::string_view path, std::string_view method,
                                             std::string_view& allowed_method);

}  // namespace stripe_sync::ingress
