#include "common/billing/kind_tables.hpp"

#include <array>

namespace stripe_sync {
namespace kinds {
namespace {

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
    {"current_period_start", "/items", Render::period_start, "/current_period_start"},
    {"current_period_end", "/items", Render::period_end, "/current_period_end"},
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
// subscription since 2025-03-31.basil), and their lines to prices through pricing.price_details.
const KindSpec kInvoice{ObjectKind::invoice, "invoice", {
    {"id", "/id"}, {"customer", "/customer"}, {"status", "/status"}, {"number", "/number"},
    {"currency", "/currency"}, {"amount_due", "/amount_due"}, {"amount_paid", "/amount_paid"},
    {"amount_remaining", "/amount_remaining"}, {"total", "/total"},
    {"subscription", "/parent/subscription_details/subscription", Render::text, "/subscription"},
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

const KindSpec* snapshot_kind(std::string_view object_type) {
  for (const KindSpec* k : kSnapshotKinds)
    if (k->object == object_type) return k;
  return nullptr;
}

}  // namespace kinds

using namespace kinds;

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

bool is_kept_object(std::string_view object_type) { return snapshot_kind(object_type) != nullptr; }

}  // namespace stripe_sync
