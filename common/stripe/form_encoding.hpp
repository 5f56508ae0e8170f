#pragma once
// Stripe's request encoding: application/x-www-form-urlencoded with nested parameters.
//   {"features":{"customer_update":{"allowed_updates":["email","address"]}}}
//     -> features[customer_update][allowed_updates][]=email&features[customer_update][allowed_updates][]=address
//   {"items":[{"price":"p_1"}]} -> items[0][price]=p_1   (arrays of objects need the index)
// Booleans are true/false, null is the empty string (Stripe's "unset"). Pure; no I/O.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/fwd.hpp>

namespace stripe_sync {

// `params` must be a JSON object. Keys keep their order.
std::string form_encode(const boost::json::object& params);

// The inverse, as flat pairs with the bracketed keys decoded ("features[customer_update][...]").
// Returns false on a malformed percent escape.
bool form_decode(std::string_view body, std::vector<std::pair<std::string, std::string>>& out);

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string percent_encode(std::string_view s);

}  // namespace stripe_sync
