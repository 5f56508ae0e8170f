#include "common/billing/field_render.hpp"

#include "common/core/json_writer.hpp"

namespace stripe_sync::kinds {

namespace dom = simdjson::dom;

std::string text_of(dom::element e) {
  switch (e.type()) {
    case dom::element_type::STRING: return std::string(std::string_view(e));
    case dom::element_type::INT64: return std::to_string(int64_t(e));
    case dom::element_type::UINT64: return std::to_string(uint64_t(e));
    case dom::element_type::DOUBLE: return simdjson::minify(e);
    case dom::element_type::BOOL: return bool(e) ? "true" : "false";
    case dom::element_type::NULL_VALUE: return "";
    case dom::element_type::OBJECT: {
      // An expanded reference (customer, default_payment_method): keep its id.
      std::string_view id;
      if (e["id"].get(id) == simdjson::SUCCESS) return std::string(id);
      return simdjson::minify(e);
    }
    case dom::element_type::ARRAY: return simdjson::minify(e);
  }
  return "";
}

namespace {

// One column of a rendered list of line items: its name, where it is in the line, and whether
// it is written as a JSON scalar (a number, or null when absent) rather than a string.
struct LineColumn {
  std::string_view name;
  std::string_view pointer;
  bool raw = false;
};

// A subscription's items: the plan of each.
constexpr LineColumn kItemColumns[] = {{"price", "/price/id"},          {"product", "/price/product"},
                                       {"quantity", "/quantity", true}, {"unit_amount", "/price/unit_amount", true},
                                       {"currency", "/price/currency"}, {"interval", "/price/recurring/interval"}};
// An invoice's lines: what was billed (prices through pricing.price_details in this API version).
constexpr LineColumn kInvoiceLineColumns[] = {{"price", "/pricing/price_details/price"},
                                              {"product", "/pricing/price_details/product"},
                                              {"quantity", "/quantity", true},
                                              {"amount", "/amount", true},
                                              {"description", "/description"}};

// A list object ({data: [...]}) as a JSON array of one object per line, with `columns`.
template <std::size_t N>
std::string line_items_json(dom::element list, const LineColumn (&columns)[N]) {
  dom::array data;
  if (list["data"].get(data) != simdjson::SUCCESS) return "[]";
  std::string out = "[";
  bool first = true;
  for (dom::element line : data) {
    if (!first) out += ",";
    first = false;
    JsonObjectWriter w(out);
    for (const LineColumn& c : columns) {
      dom::element v;
      std::string text = line.at_pointer(c.pointer).get(v) == simdjson::SUCCESS ? text_of(v) : std::string();
      if (c.raw) {
        w.raw_field(c.name, text.empty() ? "null" : text);
      } else {
        w.field(c.name, text);
      }
    }
    w.close();
  }
  return out + "]";
}

std::string json_strings(const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ",";
    append_json_string(out, values[i]);
  }
  return out + "]";
}

}  // namespace

std::vector<std::string> entitlement_strings(dom::element entitlements, std::string_view name) {
  std::vector<std::string> out;
  dom::array data;
  if (entitlements["data"].get(data) != simdjson::SUCCESS) return out;
  for (dom::element e : data) {
    std::string_view v;
    if (e[name].get(v) == simdjson::SUCCESS) out.emplace_back(v);
  }
  return out;
}

ObjectFields::ObjectFields(dom::object object) : object_(object) {
  fields_.reserve(object.size());
  for (dom::key_value_pair field : object) fields_.emplace_back(field.key, field.value);
}

simdjson::simdjson_result<dom::element> ObjectFields::at(std::string_view pointer) const {
  if (pointer.empty() || pointer[0] != '/') return object_.at_pointer(pointer);
  const std::size_t end = pointer.find('/', 1);
  const std::string_view key = pointer.substr(1, end == std::string_view::npos ? end : end - 1);
  // A segment with an escape (~0, ~1) is left to simdjson, which decodes it.
  if (key.find('~') != std::string_view::npos) return object_.at_pointer(pointer);
  dom::element v;
  if (auto e = find(key).get(v)) return e;
  if (end == std::string_view::npos) return v;
  return v.at_pointer(pointer.substr(end));
}

simdjson::simdjson_result<dom::element> ObjectFields::find(std::string_view key) const {
  for (const auto& [k, v] : fields_) {
    if (k == key) return dom::element(v);
  }
  return simdjson::NO_SUCH_FIELD;
}

std::optional<std::string> render(const ObjectFields& root, const FieldSpec& f) {
  dom::element v;
  if (root.at(f.pointer).get(v) != simdjson::SUCCESS) {
    // Kept elsewhere by an older API version: those fields are scalars.
    if (f.fallback.empty() || root.at(f.fallback).get(v) != simdjson::SUCCESS) return std::nullopt;
    return text_of(v);
  }
  switch (f.render) {
    case Render::text: return text_of(v);
    case Render::json: return v.is_null() ? std::string() : simdjson::minify(v);
    case Render::items: return line_items_json(v, kItemColumns);
    case Render::invoice_lines: return line_items_json(v, kInvoiceLineColumns);
    case Render::lookup_keys: return json_strings(entitlement_strings(v, "lookup_key"));
    case Render::features: return json_strings(entitlement_strings(v, "feature"));
    case Render::period_start:
    case Render::period_end: {
      std::string_view key = f.render == Render::period_start ? "current_period_start" : "current_period_end";
      dom::element p;
      if (v.at_pointer(std::string("/data/0/") + std::string(key)).get(p) == simdjson::SUCCESS) return text_of(p);
      // Before 2025-03-31.basil the period was the subscription's own, beside its items.
      if (root.at(f.fallback).get(p) == simdjson::SUCCESS) return text_of(p);
      return std::string();
    }
  }
  return std::nullopt;
}

}  // namespace stripe_sync::kinds
