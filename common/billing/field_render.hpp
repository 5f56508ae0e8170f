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

// The top-level fields of an object, gathered in one walk of its tape, so that each of a kind's
// fields is found in a short array instead of by a walk of the object for every pointer (a
// subscription's twenty fields took 2 of the 6.7 us its extraction cost).
class ObjectFields {
 public:
  explicit ObjectFields(simdjson::dom::object object);
  // The element at a JSON pointer ("/a/b"), as dom::element::at_pointer finds it: the first of
  // duplicate keys, NO_SUCH_FIELD when absent.
  simdjson::simdjson_result<simdjson::dom::element> at(std::string_view pointer) const;
  // The top-level field `key` (unescaped), as dom::object::at_key finds it.
  simdjson::simdjson_result<simdjson::dom::element> find(std::string_view key) const;

 private:
  simdjson::dom::object object_;
  std::vector<std::pair<std::string_view, simdjson::dom::element>> fields_;
};

// Renders one field from `root` (the object, or previous_attributes). nullopt: not present.
std::optional<std::string> render(const ObjectFields& root, const FieldSpec& f);

}  // namespace stripe_sync::kinds
