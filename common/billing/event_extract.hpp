#pragma once
// From a Stripe event's raw JSON to the change record the worker applies. Pure: no I/O.
#include <string>
#include <string_view>
#include <vector>

#include "common/billing/change_record.hpp"

namespace stripe_sync {

enum class ExtractStatus {
  record,     // a change to apply
  ignored,    // a type we do not keep (invoice.paid, ...): counted and committed
  permanent,  // never applicable (not JSON, a known type missing a required field or of a
              // broken shape: reason invalid_shape): DLQ
};

struct ExtractResult {
  ExtractStatus status = ExtractStatus::record;
  std::string reason;  // for ignored/permanent: short machine reason ("not_json", "missing_field")
  std::string detail;  // human text; never contains the payload
};

// A field Stripe always sends for an object kind, and the JSON types it may have.
struct RequiredField {
  enum Type : unsigned { string = 1, number = 2, boolean = 4, object = 8, null = 16 };
  std::string_view name;  // a top-level field of the object
  unsigned types;         // bits of Type
};
// The required fields of a kept object kind ("customer", "subscription", ...); empty for others.
std::vector<RequiredField> required_fields(std::string_view object_type);

// The event types the worker keeps; every other type is `ignored`.
bool is_handled_type(std::string_view type);
// All of them, in a fixed order (metric labels).
std::vector<std::string_view> handled_types();

ExtractResult extract_change(std::string_view event_json, ChangeRecord& out);

// Whether an API object of this type ("customer", "checkout.session", ...) is kept: a snapshot
// of it is applied, so a thin notification naming one is worth a fetch.
bool is_kept_object(std::string_view object_type);

// How a stored field reads back as JSON, in the types Stripe uses ("" stored is null).
enum class FieldType { string, integer, boolean, json };
struct StoredField {
  std::string_view name;
  FieldType type;
};
// The fields a record of `kind` stores, in table order (the typed read API's documents).
std::vector<StoredField> stored_fields(ObjectKind kind);

// An object as Stripe's API returns it (customer, subscription, payment method), fetched at
// `date_unix` (the answer's Date header), as a change record with stamp date_unix * 10 + 2 that
// meets the same rules as events. `sync_id` names this fetch (it is the record's event id, so
// applying the same fetch twice is a duplicate).
// `account`: the connected account it was fetched for (a thin event's context), prefixed to the
// partition key as an event's `account` would be.
ExtractResult extract_snapshot(std::string_view object_json, std::int64_t date_unix,
                               std::string_view sync_id, std::string_view source, ChangeRecord& out,
                               std::string_view account = {});

}  // namespace stripe_sync
