#pragma once
// How a field of a Stripe object becomes the string a Redis record stores (kinds::Render).
// Internal to billing; pure.
#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/billing/kind_tables.hpp"

namespace stripe_sync::kinds {

// A scalar as text: strings as they are, numbers in decimal, booleans true/false, null "", an
// expanded reference (an object with an id) as its id, anything else as minified JSON.
std::string text_of(simdjson::dom::element e);

// The strings `name` ("lookup_key" or "feature") of a list of active entitlements.
std::vector<std::string> entitlement_strings(simdjson::dom::element entitlements, std::string_view name);

// Renders one field from `root` (the object, or previous_attributes). nullopt: not present.
std::optional<std::string> render(simdjson::dom::element root, const FieldSpec& f);

}  // namespace stripe_sync::kinds
