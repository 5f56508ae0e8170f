#pragma once
// simdjson reads up to this many bytes past the end of the JSON text; a buffer whose capacity
// leaves this much room is parsed in place, anything else is copied once first. The HTTP body
// (common/http/padded_body.hpp) reserves it, the envelope reader relies on it.
#include <cstddef>

namespace stripe_sync {

inline constexpr std::size_t kJsonPadding = 64;

}  // namespace stripe_sync
