#include "common/billing/event_extract.hpp"

#include <simdjson.h>

#include <optional>

#include "common/billing/envelope.hpp"
#include "common/billing/field_render.hpp"
#include "common/billing/kind_tables.hpp"
#include "common/billing/subscription_rules.hpp"

namespace stripe_sync {

// The worker reads ~15 fields at several depths of the object and of previous_attributes, and
// re-serialises some (address, items). simdjson's DOM API fits that random access (and picks
// the fastest kernel for the CPU at run time); the ingress keeps the forward-only on-demand
// reader for its five routing fields.
namespace dom = simdjson::dom;
using namespace kinds;

std::string_view to_string(ObjectKind k) {
  switch (k) {
    case ObjectKind::customer: return "customer";
    case ObjectKind::subscription: return "subscription";
    case ObjectKind::payment_method: return "payment_method";
    case ObjectKind::portal_session: return "portal_session";
    case ObjectKind::portal_configuration: return "portal_configuration";
    case ObjectKind::invoice: return "invoice";
    case ObjectKind::entitlement_summary: return "entitlement_summary";
    case ObjectKind::checkout_session: return "checkout_session";
    case ObjectKind::price: return "price";
    case ObjectKind::product: return "product";
  }
  return "customer";
}

const std::string* ChangeRecord::field(std::string_view name) const {
  for (const auto& [k, v] : fields)
    if (k == name) return &v;
  return nullptr;
}

namespace {

constexpr unsigned kString = RequiredField::string, kNumber = RequiredField::number,
                   kBool = RequiredField::boolean, kObject = RequiredField::object, kNull = RequiredField::null;

ExtractResult permanent(std::string reason, std::string detail) {
  return {ExtractStatus::permanent, std::move(reason), std::move(detail)};
}

unsigned type_of(dom::element v) {
  switch (v.type()) {
    case dom::element_type::STRING: return kString;
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE: return kNumber;
    case dom::element_type::BOOL: return kBool;
    case dom::element_type::OBJECT: return kObject;
    case dom::element_type::NULL_VALUE: return kNull;
    case dom::element_type::ARRAY: return 0;
  }
  return 0;
}

std::string type_names(unsigned types) {
  std::string out;
  for (auto [bit, name] : {std::pair{kString, "a string"}, {kNumber, "a number"}, {kBool, "a boolean"},
                           {kObject, "an object"}, {kNull, "null"}}) {
    if (!(types & bit)) continue;
    if (!out.empty()) out += " or ";
    out += name;
  }
  return out;
}

// invalid_shape naming the first field Stripe always sends that is missing or of another type.
std::optional<ExtractResult> check_shape(const ObjectFields& object, const KindSpec& kind) {
  for (const RequiredField& r : kind.required) {
    dom::element v;
    if (object.find(r.name).get(v) != simdjson::SUCCESS) {
      return permanent("invalid_shape", "data.object." + std::string(r.name) + " is missing");
    }
    if (!(type_of(v) & r.types)) {
      return permanent("invalid_shape", "data.object." + std::string(r.name) + " must be " + type_names(r.types));
    }
  }
  return std::nullopt;
}

// Fills `out` (kind, stamp parts, fields, previous, index action) from an object and, for
// events, its previous_attributes. Shared by webhook events and API snapshots: one mapping.
ExtractResult fill_record(const ObjectFields& object, const dom::element* prev, const KindSpec& kind,
                          int rank, bool tombstone, const Envelope& env, ChangeRecord& out) {
  const bool has_prev = prev != nullptr;
  out.kind = kind.kind;
  out.object_id = object_has_id(kind.object) ? env.object_id : std::string(kind.own_id);
  if (kind.kind == ObjectKind::invoice) {
    std::string_view status;
    if (object.find("status").get(status) != simdjson::SUCCESS) status = {};  // null: open's rank
    rank = invoice_rank(status, tombstone);
  }
  out.rank = rank;
  out.tombstone = tombstone;
  out.has_previous = has_prev;
  out.key = env.partition_key();

  const std::optional<ObjectFields> previous =
      has_prev ? std::optional<ObjectFields>(prev->get_object().value_unsafe()) : std::nullopt;
  out.fields.reserve(kind.fields.size() + 1);
  for (const auto& f : kind.fields) {
    out.fields.emplace_back(std::string(f.name), render(object, f).value_or(std::string()));
    if (previous) {
      // A period moves with the items; only a change of the items list can carry it.
      if (auto pv = render(*previous, f)) out.previous.emplace_back(std::string(f.name), std::move(*pv));
    }
  }
  if (out.kind == ObjectKind::payment_method && out.tombstone) {
    // A detached payment method has customer null; keep who it belonged to.
    for (auto& [k, v] : out.fields)
      if (k == "customer" && v.empty()) v = env.previous_customer;
  }

  if (kind.has_deleted) out.fields.emplace_back("deleted", out.tombstone ? "1" : "0");
  switch (out.kind) {
    case ObjectKind::customer:
    case ObjectKind::portal_configuration:
    case ObjectKind::checkout_session:
    case ObjectKind::price:
    case ObjectKind::product:
      break;
    case ObjectKind::subscription: {
      if (env.customer.empty()) return permanent("missing_field", "missing field: data.object.customer");
      const std::string* status = out.field("status");
      bool ended = out.tombstone || (status && subscription_ended(*status));
      out.index = ended ? IndexAction::remove : IndexAction::add;
      break;
    }
    case ObjectKind::payment_method:
      if (env.customer.empty() && env.previous_customer.empty()) {
        return permanent("missing_field", "missing field: data.object.customer");
      }
      out.index = out.tombstone ? IndexAction::remove : IndexAction::add;
      break;
    case ObjectKind::portal_session:
      out.index = IndexAction::add;
      break;
    case ObjectKind::invoice: {
      // The customer's billing history, by the invoice's own created.
      out.index = out.tombstone ? IndexAction::unorder : IndexAction::ordered;
      std::int64_t created = 0;
      if (object.find("created").get(created) == simdjson::SUCCESS) out.index_score = created;
      break;
    }
    case ObjectKind::entitlement_summary: {
      if (env.customer.empty()) return permanent("missing_field", "missing field: data.object.customer");
      out.index = IndexAction::replace;
      dom::element list;
      if (object.find("entitlements").get(list) == simdjson::SUCCESS) {
        out.index_members = entitlement_strings(list, "lookup_key");
      }
      break;
    }
  }
  return {};
}

}  // namespace

ExtractResult extract_change(std::string_view json, ChangeRecord& out) {
  thread_local dom::parser parser;
  out = ChangeRecord{};
  dom::element doc;
  if (auto e = parser.parse(json.data(), json.size()).get(doc)) {
    return permanent("not_json", std::string("body is not valid JSON: ") + simdjson::error_message(e));
  }
  std::string_view id, type;
  if (doc["id"].get(id) || id.empty()) return permanent("missing_field", "missing field: id");
  if (doc["type"].get(type) || type.empty()) return permanent("missing_field", "missing field: type");
  out.event_id = std::string(id);
  out.event_type = std::string(type);
  const TypeSpec* spec = type_spec(type);
  if (spec == nullptr) return {ExtractStatus::ignored, "unhandled_type", "event type not kept: " + out.event_type};

  int64_t created = 0;
  if (doc["created"].get(created) || created < 0) return permanent("missing_field", "missing field: created");
  dom::element object;
  if (doc.at_pointer("/data/object").get(object) || !object.is_object()) {
    return permanent("missing_field", "missing field: data.object");
  }
  std::string_view object_type, object_id;
  if (object["object"].get(object_type) || object_type != spec->kind->object) {
    return permanent("wrong_object", "data.object.object must be '" + std::string(spec->kind->object) +
                                         "' for " + out.event_type);
  }
  if (object_has_id(object_type) && (object["id"].get(object_id) || object_id.empty())) {
    return permanent("missing_field", "missing field: data.object.id");
  }
  const ObjectFields fields(object.get_object().value_unsafe());
  if (auto bad = check_shape(fields, *spec->kind)) return *bad;

  // The partition key by the same rule the ingress used (Envelope::partition_key).
  Envelope env;
  env.object_type = std::string(object_type);
  env.object_id = std::string(object_id);
  if (dom::element c; object["customer"].get(c) == simdjson::SUCCESS) env.customer = text_of(c);
  dom::element prev;
  bool has_prev = doc.at_pointer("/data/previous_attributes").get(prev) == simdjson::SUCCESS && prev.is_object();
  if (has_prev) {
    if (dom::element c; prev["customer"].get(c) == simdjson::SUCCESS) env.previous_customer = text_of(c);
  }
  if (dom::element a; doc["account"].get(a) == simdjson::SUCCESS) env.account = text_of(a);
  if (std::string_view v; doc["api_version"].get(v) == simdjson::SUCCESS) out.api_version = std::string(v);
  out.created = created;

  return fill_record(fields, has_prev ? &prev : nullptr, *spec->kind, spec->rank, spec->tombstone, env, out);
}

ExtractResult extract_snapshot(std::string_view object_json, std::int64_t date_unix,
                               std::string_view sync_id, std::string_view source, ChangeRecord& out,
                               std::string_view account) {
  thread_local dom::parser parser;
  out = ChangeRecord{};
  dom::element object;
  if (auto e = parser.parse(object_json.data(), object_json.size()).get(object); e || !object.is_object()) {
    return permanent("not_json", "Stripe's answer is not a JSON object");
  }
  std::string_view object_type, object_id;
  if (object["object"].get(object_type) ||
      (object_has_id(object_type) && (object["id"].get(object_id) || object_id.empty()))) {
    return permanent("missing_field", "object without id or object type");
  }
  const KindSpec* kind = snapshot_kind(object_type);
  if (kind == nullptr) return {ExtractStatus::ignored, "unhandled_object", "not a kept object: " + std::string(object_type)};
  Envelope env;
  env.object_type = std::string(object_type);
  env.object_id = std::string(object_id);
  env.account = std::string(account);
  if (dom::element c; object["customer"].get(c) == simdjson::SUCCESS) env.customer = text_of(c);
  // What the object's state says about its life: a deleted customer ({"deleted": true}) or an
  // ended subscription is a tombstone, as the matching events would have made it.
  bool deleted = false;
  if (dom::element d; object["deleted"].get(d) == simdjson::SUCCESS && d.is_bool()) deleted = bool(d);
  // A deleted object as the API returns it is only {id, object, deleted: true}.
  const ObjectFields fields(object.get_object().value_unsafe());
  if (!deleted) {
    if (auto bad = check_shape(fields, *kind)) return *bad;
  }
  std::string_view status;
  bool ended = kind->kind == ObjectKind::subscription && object["status"].get(status) == simdjson::SUCCESS &&
               subscription_ended(status);
  out.event_id = std::string(sync_id);
  out.event_type = std::string(object_type) + ".snapshot";
  out.source = std::string(source);
  out.created = date_unix;  // Stripe's Date header: never our clock
  return fill_record(fields, nullptr, *kind, 2, deleted || ended, env, out);
}

}  // namespace stripe_sync
