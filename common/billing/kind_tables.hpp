#pragma once
// What stripe-sync keeps of each Stripe object kind, and which event types change it: the one
// table the extraction (event_extract.cpp), the typed read side (stored_fields) and the record
// schemas' test all read. Internal to billing; pure data.
#include <string_view>
#include <vector>

#include "common/billing/change_record.hpp"
#include "common/billing/event_extract.hpp"

namespace stripe_sync::kinds {

enum class Render {
  text,   // string as is, numbers in decimal, booleans true/false, null "", expanded object -> id
  json,   // minified JSON, null ""
  items,  // subscription items -> [{price, product, quantity, unit_amount, currency, interval}]
  period_start,  // items.data[0].current_period_start (API 2025+), else the subscription's own
  period_end,
  invoice_lines,  // lines -> [{price, product, quantity, amount, description}]
  lookup_keys,    // entitlements -> ["lookup_key", ...]
  features,       // entitlements -> ["feat_...", ...]
};

struct FieldSpec {
  std::string_view name;     // the stored field
  std::string_view pointer;  // JSON pointer into the object (and into previous_attributes)
  Render render = Render::text;
  // Where API versions before 2025-03-31.basil kept it, when it moved: read when `pointer` finds
  // nothing (period fields: when the items carry no period).
  std::string_view fallback = {};
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

struct TypeSpec {
  std::string_view type;
  const KindSpec* kind;
  int rank;  // 1 created, 2 other change, 3 deleted; 0: from the object (invoice_rank)
  bool tombstone;
};

// The event type's entry; nullptr for a type we do not keep.
const TypeSpec* type_spec(std::string_view type);
// The kind an API answer of `object_type` is applied as (a snapshot); nullptr when not kept.
const KindSpec* snapshot_kind(std::string_view object_type);

// An invoice only moves forward: draft -> open -> uncollectible -> paid or void (uncollectible
// can still be paid or voided; paid and void are final; only a draft is deleted). Its rank is
// that order, so within one second a later status wins, and an older event can never bring a
// voided invoice back to open: a stale stamp loses, and an equal second loses on rank.
int invoice_rank(std::string_view status, bool deleted);

}  // namespace stripe_sync::kinds
