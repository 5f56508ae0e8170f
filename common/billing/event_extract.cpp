#include "common/billing/event_extract.hpp"

#include <simdjson.h>

#include <array>
#include <optional>

#include "common/billing/envelope.hpp"
#include "common/billing/subscription_rules.hpp"
#include "common/core/json_writer.hpp"

namespace stripe_sync {

// The worker reads ~15 fields at several depths of the object and of previous_attributes, and
// re-serialises some (address, items). simdjson's DOM API fits that random access (and picks
// the fastest kernel for the CPU at run time); the ingress keeps the forward-only on-demand
// reader for its five routing fields.
namespace dom = simdjson::dom;

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

enum class Render {
  text,   // string as is, numbers in decimal, booleans true/false, null "", expanded object -> id
  json,   // minified JSON, null ""
  items,  // subscription items -> [{price, product, quantity, unit_amount, currency, interval}]
  period_start,  // items.data[0].current_period_start (API 2025+), else the subscription's own
  period_end,
  invoice_lines,  // lines -> [{price, quantity, amount}]
  lookup_keys,    // entitlements -> ["lookup_key", ...]
  features,       // entitlements -> ["feat_...", ...]
};

struct FieldSpec {
  std::string_view name;     // the stored field
  std::string_view pointer;  // JSON pointer into the object (and into previous_attributes)
  Render render = Render::text;
};

struct KindSpec {
  ObjectKind kind;
  std::string_view object;  // data.object.object expected
  std::vector<FieldSpec> fields;
  // What Stripe always sends for this kind (objects.json: required), with its JSON types. An
  // object without one of them, or with another type, is dead-lettered as invalid_shape instead
  // of being stored with empty values over good state.
  std::vector<RequiredField> required;
  bool has_deleted = true;  // the record keeps "deleted" ("1" once a tombstone)
  std::string_view own_id;  // for an object without an id (object_has_id): the record's object id
};

constexpr unsigned kString = RequiredField::string, kNumber = RequiredField::number,
                   kBool = RequiredField::boolean, kObject = RequiredField::object, kNull = RequiredField::null;

// What DESIGN.md's Redis records keep of each object. The same pointers find the previous
// values in data.previous_attributes, which Stripe shapes like the object.
const KindSpec kCustomer{ObjectKind::customer, "customer", {
    {"id", "/id"}, {"email", "/email"}, {"name", "/name"}, {"phone", "/phone"},
    {"address", "/address", Render::json},
    {"default_payment_method", "/invoice_settings/default_payment_method"},
    {"livemode", "/livemode"}, {"metadata", "/metadata", Render::json}, {"currency", "/currency"},
    {"balance", "/balance"}, {"delinquent", "/delinquent"}, {"tax_exempt", "/tax_exempt"}},
    {{"id", kString}, {"email", kString | kNull}, {"invoice_settings", kObject}, {"livemode", kBool}}, true, {}};
const KindSpec kSubscription{ObjectKind::subscription, "subscription", {
    {"id", "/id"}, {"customer", "/customer"}, {"status", "/status"},
    {"cancel_at_period_end", "/cancel_at_period_end"}, {"cancel_at", "/cancel_at"},
    {"canceled_at", "/canceled_at"}, {"cancellation_reason", "/cancellation_details/reason"},
    {"current_period_start", "/items", Render::period_start},
    {"current_period_end", "/items", Render::period_end},
    {"items", "/items", Render::items},
    {"trial_start", "/trial_start"}, {"trial_end", "/trial_end"}, {"ended_at", "/ended_at"},
    {"pause_collection", "/pause_collection", Render::json},
    {"default_payment_method", "/default_payment_method"}, {"latest_invoice", "/latest_invoice"},
    {"collection_method", "/collection_method"}, {"billing_cycle_anchor", "/billing_cycle_anchor"},
    {"metadata", "/metadata", Render::json}, {"created", "/created"}},
    {{"id", kString}, {"customer", kString | kObject}, {"status", kString}, {"items", kObject},
     {"cancel_at_period_end", kBool}, {"cancel_at", kNumber | kNull}, {"canceled_at", kNumber | kNull},
     {"created", kNumber}, {"livemode", kBool}}, true, {}};
const KindSpec kPaymentMethod{ObjectKind::payment_method, "payment_method", {
    {"id", "/id"}, {"customer", "/customer"}, {"type", "/type"},
    {"card_brand", "/card/brand"}, {"card_last4", "/card/last4"},
    {"card_exp_month", "/card/exp_month"}, {"card_exp_year", "/card/exp_year"}},
    {{"id", kString}, {"type", kString}, {"customer", kString | kObject | kNull}, {"created", kNumber},
     {"livemode", kBool}}, true, {}};
const KindSpec kPortalSession{ObjectKind::portal_session, "billing_portal.session", {
    {"id", "/id"}, {"customer", "/customer"}, {"configuration", "/configuration"},
    {"created", "/created"}, {"livemode", "/livemode"}, {"return_url", "/return_url"},
    {"locale", "/locale"}, {"flow_type", "/flow/type"}},
    {{"id", kString}, {"customer", kString}, {"created", kNumber}, {"livemode", kBool}}, false, {}};
const KindSpec kPortalConfiguration{ObjectKind::portal_configuration, "billing_portal.configuration", {
    {"id", "/id"}, {"active", "/active"}, {"is_default", "/is_default"},
    {"default_return_url", "/default_return_url"},
    {"business_profile", "/business_profile", Render::json},
    {"features", "/features", Render::json}, {"livemode", "/livemode"}},
    {{"id", kString}, {"active", kBool}, {"is_default", kBool}, {"livemode", kBool}}, false, {}};
// Invoices link to their subscription through parent.subscription_details (no top-level
// subscription in this API version), and their lines to prices through pricing.price_details.
const KindSpec kInvoice{ObjectKind::invoice, "invoice", {
    {"id", "/id"}, {"customer", "/customer"}, {"status", "/status"}, {"number", "/number"},
    {"currency", "/currency"}, {"amount_due", "/amount_due"}, {"amount_paid", "/amount_paid"},
    {"amount_remaining", "/amount_remaining"}, {"total", "/total"},
    {"subscription", "/parent/subscription_details/subscription"},
    {"billing_reason", "/billing_reason"}, {"collection_method", "/collection_method"},
    {"attempt_count", "/attempt_count"}, {"next_payment_attempt", "/next_payment_attempt"},
    {"due_date", "/due_date"}, {"period_start", "/period_start"}, {"period_end", "/period_end"},
    {"hosted_invoice_url", "/hosted_invoice_url"}, {"invoice_pdf", "/invoice_pdf"},
    {"status_transitions", "/status_transitions", Render::json}, {"lines", "/lines", Render::invoice_lines},
    {"description", "/description"}, {"created", "/created"}, {"livemode", "/livemode"}},
    {{"id", kString}, {"customer", kString | kObject | kNull}, {"status", kString | kNull}, {"currency", kString},
     {"amount_due", kNumber}, {"amount_paid", kNumber}, {"amount_remaining", kNumber}, {"created", kNumber},
     {"livemode", kBool}}, true, {}};
// No id of its own: one per customer, keyed by it.
const KindSpec kEntitlementSummary{ObjectKind::entitlement_summary, "entitlements.active_entitlement_summary", {
    {"customer", "/customer"}, {"lookup_keys", "/entitlements", Render::lookup_keys},
    {"features", "/entitlements", Render::features}, {"livemode", "/livemode"}},
    {{"customer", kString}, {"entitlements", kObject}, {"livemode", kBool}}, false, "entitlements"};
const KindSpec kCheckoutSession{ObjectKind::checkout_session, "checkout.session", {
    {"id", "/id"}, {"customer", "/customer"}, {"mode", "/mode"}, {"status", "/status"},
    {"payment_status", "/payment_status"}, {"subscription", "/subscription"}, {"invoice", "/invoice"},
    {"payment_intent", "/payment_intent"}, {"client_reference_id", "/client_reference_id"},
    {"amount_total", "/amount_total"}, {"currency", "/currency"}, {"created", "/created"},
    {"expires_at", "/expires_at"}, {"livemode", "/livemode"}},
    {{"id", kString}, {"customer", kString | kObject | kNull}, {"mode", kString}, {"status", kString | kNull},
     {"payment_status", kString}, {"created", kNumber}, {"expires_at", kNumber}, {"livemode", kBool}}, false, {}};
const KindSpec kPrice{ObjectKind::price, "price", {
    {"id", "/id"}, {"product", "/product"}, {"active", "/active"}, {"currency", "/currency"},
    {"unit_amount", "/unit_amount"}, {"nickname", "/nickname"}, {"lookup_key", "/lookup_key"},
    {"type", "/type"}, {"recurring", "/recurring", Render::json}, {"created", "/created"},
    {"livemode", "/livemode"}},
    {{"id", kString}, {"active", kBool}, {"currency", kString}, {"product", kString | kObject},
     {"type", kString}, {"created", kNumber}, {"livemode", kBool}}, true, {}};
const KindSpec kProduct{ObjectKind::product, "product", {
    {"id", "/id"}, {"name", "/name"}, {"active", "/active"}, {"description", "/description"},
    {"default_price", "/default_price"}, {"created", "/created"}, {"livemode", "/livemode"}},
    {{"id", kString}, {"active", kBool}, {"name", kString}, {"created", kNumber}, {"livemode", kBool}}, true, {}};

const KindSpec* const kKinds[] = {&kCustomer, &kSubscription, &kPaymentMethod, &kPortalSession, &kPortalConfiguration,
                                  &kInvoice, &kEntitlementSummary, &kCheckoutSession, &kPrice, &kProduct};
// What Stripe's API answers with (and re-sync, revalidation and backfill apply as snapshots).
const KindSpec* const kSnapshotKinds[] = {&kCustomer, &kSubscription, &kPaymentMethod, &kInvoice,
                                          &kEntitlementSummary, &kCheckoutSession, &kPrice, &kProduct};

struct TypeSpec {
  std::string_view type;
  const KindSpec* kind;
  int rank;
  bool tombstone;
};

const std::array kTypes{
    TypeSpec{"customer.created", &kCustomer, 1, false},
    TypeSpec{"customer.updated", &kCustomer, 2, false},
    TypeSpec{"customer.deleted", &kCustomer, 3, true},
    TypeSpec{"customer.subscription.created", &kSubscription, 1, false},
    TypeSpec{"customer.subscription.updated", &kSubscription, 2, false},
    TypeSpec{"customer.subscription.deleted", &kSubscription, 3, true},
    TypeSpec{"customer.subscription.paused", &kSubscription, 2, false},
    TypeSpec{"customer.subscription.resumed", &kSubscription, 2, false},
    TypeSpec{"customer.subscription.pending_update_applied", &kSubscription, 2, false},
    TypeSpec{"customer.subscription.pending_update_expired", &kSubscription, 2, false},
    TypeSpec{"customer.subscription.trial_will_end", &kSubscription, 2, false},
    TypeSpec{"payment_method.attached", &kPaymentMethod, 2, false},
    TypeSpec{"payment_method.updated", &kPaymentMethod, 2, false},
    TypeSpec{"payment_method.automatically_updated", &kPaymentMethod, 2, false},
    TypeSpec{"payment_method.detached", &kPaymentMethod, 3, true},
    TypeSpec{"billing_portal.session.created", &kPortalSession, 1, false},
    TypeSpec{"billing_portal.configuration.created", &kPortalConfiguration, 1, false},
    TypeSpec{"billing_portal.configuration.updated", &kPortalConfiguration, 2, false},
    // An invoice's rank comes from its status (invoice_rank), not from the event type.
    TypeSpec{"invoice.created", &kInvoice, 0, false},
    TypeSpec{"invoice.updated", &kInvoice, 0, false},
    TypeSpec{"invoice.finalized", &kInvoice, 0, false},
    TypeSpec{"invoice.finalization_failed", &kInvoice, 0, false},
    TypeSpec{"invoice.paid", &kInvoice, 0, false},
    TypeSpec{"invoice.payment_succeeded", &kInvoice, 0, false},
    TypeSpec{"invoice.payment_failed", &kInvoice, 0, false},
    TypeSpec{"invoice.payment_action_required", &kInvoice, 0, false},
    TypeSpec{"invoice.voided", &kInvoice, 0, false},
    TypeSpec{"invoice.marked_uncollectible", &kInvoice, 0, false},
    TypeSpec{"invoice.overdue", &kInvoice, 0, false},
    TypeSpec{"invoice.will_be_due", &kInvoice, 0, false},
    TypeSpec{"invoice.deleted", &kInvoice, 0, true},
    TypeSpec{"entitlements.active_entitlement_summary.updated", &kEntitlementSummary, 2, false},
    TypeSpec{"checkout.session.completed", &kCheckoutSession, 2, false},
    TypeSpec{"checkout.session.expired", &kCheckoutSession, 2, false},
    TypeSpec{"checkout.session.async_payment_succeeded", &kCheckoutSession, 3, false},
    TypeSpec{"checkout.session.async_payment_failed", &kCheckoutSession, 3, false},
    TypeSpec{"price.created", &kPrice, 1, false},
    TypeSpec{"price.updated", &kPrice, 2, false},
    TypeSpec{"price.deleted", &kPrice, 3, true},
    TypeSpec{"product.created", &kProduct, 1, false},
    TypeSpec{"product.updated", &kProduct, 2, false},
    TypeSpec{"product.deleted", &kProduct, 3, true},
};

// An invoice only moves forward: draft -> open -> uncollectible -> paid or void (uncollectible
// can still be paid or voided; paid and void are final; only a draft is deleted). Its rank is
// that order, so within one second a later status wins, and an older event can never bring a
// voided invoice back to open: a stale stamp loses, and an equal second loses on rank.
int invoice_rank(std::string_view status, bool deleted) {
  if (deleted) return 5;
  if (status == "draft") return 1;
  if (status == "uncollectible") return 3;
  if (status == "paid" || status == "void") return 4;
  return 2;  // open, or null
}

const TypeSpec* type_spec(std::string_view type) {
  for (const auto& t : kTypes)
    if (t.type == type) return &t;
  return nullptr;
}

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

std::string items_json(dom::element items) {
  dom::array data;
  if (items["data"].get(data) != simdjson::SUCCESS) return "[]";
  std::string out = "[";
  bool first = true;
  for (dom::element item : data) {
    auto at = [&](std::string_view ptr) -> std::string {
      dom::element v;
      return item.at_pointer(ptr).get(v) == simdjson::SUCCESS ? text_of(v) : std::string();
    };
    if (!first) out += ",";
    first = false;
    JsonObjectWriter w(out);
    w.field("price", at("/price/id")).field("product", at("/price/product"));
    w.raw_field("quantity", at("/quantity").empty() ? "null" : at("/quantity"));
    w.raw_field("unit_amount", at("/price/unit_amount").empty() ? "null" : at("/price/unit_amount"));
    w.field("currency", at("/price/currency")).field("interval", at("/price/recurring/interval"));
    w.close();
  }
  return out + "]";
}

std::string invoice_lines_json(dom::element lines) {
  dom::array data;
  if (lines["data"].get(data) != simdjson::SUCCESS) return "[]";
  std::string out = "[";
  bool first = true;
  for (dom::element line : data) {
    auto at = [&](std::string_view ptr) -> std::string {
      dom::element v;
      return line.at_pointer(ptr).get(v) == simdjson::SUCCESS ? text_of(v) : std::string();
    };
    if (!first) out += ",";
    first = false;
    JsonObjectWriter w(out);
    w.field("price", at("/pricing/price_details/price")).field("product", at("/pricing/price_details/product"));
    w.raw_field("quantity", at("/quantity").empty() ? "null" : at("/quantity"));
    w.raw_field("amount", at("/amount").empty() ? "null" : at("/amount"));
    w.field("description", at("/description"));
    w.close();
  }
  return out + "]";
}

// One string of each active entitlement ("lookup_key" or "feature"), as a JSON array.
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

std::string json_strings(const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ",";
    append_json_string(out, values[i]);
  }
  return out + "]";
}

// Renders one field from `root` (the object, or previous_attributes). nullopt: not present.
std::optional<std::string> render(dom::element root, const FieldSpec& f) {
  dom::element v;
  if (root.at_pointer(f.pointer).get(v) != simdjson::SUCCESS) return std::nullopt;
  switch (f.render) {
    case Render::text: return text_of(v);
    case Render::json: return v.is_null() ? std::string() : simdjson::minify(v);
    case Render::items: return items_json(v);
    case Render::invoice_lines: return invoice_lines_json(v);
    case Render::lookup_keys: return json_strings(entitlement_strings(v, "lookup_key"));
    case Render::features: return json_strings(entitlement_strings(v, "feature"));
    case Render::period_start:
    case Render::period_end: {
      std::string_view key = f.render == Render::period_start ? "current_period_start" : "current_period_end";
      dom::element p;
      if (v.at_pointer(std::string("/data/0/") + std::string(key)).get(p) == simdjson::SUCCESS) return text_of(p);
      return std::string();
    }
  }
  return std::nullopt;
}

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
std::optional<ExtractResult> check_shape(dom::element object, const KindSpec& kind) {
  for (const RequiredField& r : kind.required) {
    dom::element v;
    if (object[r.name].get(v) != simdjson::SUCCESS) {
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
ExtractResult fill_record(dom::element object, const dom::element* prev, const KindSpec& kind,
                          int rank, bool tombstone, const Envelope& env, ChangeRecord& out) {
  const bool has_prev = prev != nullptr;
  out.kind = kind.kind;
  out.object_id = object_has_id(kind.object) ? env.object_id : std::string(kind.own_id);
  if (kind.kind == ObjectKind::invoice) {
    std::string_view status;
    if (object["status"].get(status) != simdjson::SUCCESS) status = {};  // null: open's rank
    rank = invoice_rank(status, tombstone);
  }
  out.rank = rank;
  out.tombstone = tombstone;
  out.has_previous = has_prev;
  out.key = env.partition_key();

  for (const auto& f : kind.fields) {
    out.fields.emplace_back(std::string(f.name), render(object, f).value_or(std::string()));
    if (has_prev) {
      // A period moves with the items; only a change of the items list can carry it.
      if (auto pv = render(*prev, f)) out.previous.emplace_back(std::string(f.name), std::move(*pv));
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
      if (object["created"].get(created) == simdjson::SUCCESS) out.index_score = created;
      break;
    }
    case ObjectKind::entitlement_summary: {
      if (env.customer.empty()) return permanent("missing_field", "missing field: data.object.customer");
      out.index = IndexAction::replace;
      dom::element list;
      if (object["entitlements"].get(list) == simdjson::SUCCESS) {
        out.index_members = entitlement_strings(list, "lookup_key");
      }
      break;
    }
  }
  return {};
}

// Stripe's field names keep one type across its objects: these are integers (Unix times,
// amounts in the smallest unit, counts) and booleans; every other text field is a string.
constexpr std::string_view kIntegerFields[] = {
    "created", "cancel_at", "canceled_at", "current_period_start", "current_period_end", "trial_start", "trial_end",
    "ended_at", "billing_cycle_anchor", "balance", "amount_due", "amount_paid", "amount_remaining", "total",
    "attempt_count", "next_payment_attempt", "due_date", "period_start", "period_end", "amount_total", "expires_at",
    "unit_amount", "card_exp_month", "card_exp_year"};
constexpr std::string_view kBooleanFields[] = {"livemode", "cancel_at_period_end", "delinquent", "active",
                                               "is_default", "deleted"};

FieldType type_of_field(const FieldSpec& f) {
  if (f.render == Render::period_start || f.render == Render::period_end) return FieldType::integer;
  if (f.render != Render::text) return FieldType::json;
  for (std::string_view n : kIntegerFields)
    if (n == f.name) return FieldType::integer;
  for (std::string_view n : kBooleanFields)
    if (n == f.name) return FieldType::boolean;
  return FieldType::string;
}

}  // namespace

std::vector<StoredField> stored_fields(ObjectKind kind) {
  std::vector<StoredField> out;
  for (const KindSpec* k : kKinds) {
    if (k->kind != kind) continue;
    for (const FieldSpec& f : k->fields) out.push_back({f.name, type_of_field(f)});
    if (k->has_deleted) out.push_back({"deleted", FieldType::boolean});
  }
  return out;
}

std::vector<RequiredField> required_fields(std::string_view object_type) {
  for (const KindSpec* k : kKinds) {
    if (k->object == object_type) return k->required;
  }
  return {};
}

std::vector<std::string_view> handled_types() {
  std::vector<std::string_view> out;
  for (const auto& t : kTypes) out.push_back(t.type);
  return out;
}

bool is_handled_type(std::string_view type) { return type_spec(type) != nullptr; }

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
  if (auto bad = check_shape(object, *spec->kind)) return *bad;

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
  out.created = created;

  return fill_record(object, has_prev ? &prev : nullptr, *spec->kind, spec->rank, spec->tombstone, env, out);
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
  const KindSpec* kind = nullptr;
  for (const KindSpec* k : kSnapshotKinds) {
    if (k->object == object_type) kind = k;
  }
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
  if (!deleted) {
    if (auto bad = check_shape(object, *kind)) return *bad;
  }
  std::string_view status;
  bool ended = kind == &kSubscription && object["status"].get(status) == simdjson::SUCCESS &&
               subscription_ended(status);
  out.event_id = std::string(sync_id);
  out.event_type = std::string(object_type) + ".snapshot";
  out.source = std::string(source);
  out.created = date_unix;  // Stripe's Date header: never our clock
  return fill_record(object, nullptr, *kind, 2, deleted || ended, env, out);
}

}  // namespace stripe_sync
