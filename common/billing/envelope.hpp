#pragma once
// The event envelope: the few fields of a Stripe event that routing needs, read in one forward
// pass with simdjson's on-demand API. Nothing else of the body is materialised.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/core/json_padding.hpp"

namespace stripe_sync {

struct Envelope {
  std::string id;                 // evt_...
  std::string type;               // customer.subscription.updated (thin: v1.customer.updated)
  std::int64_t created = 0;       // unix seconds of the change (thin: from the ISO string)
  bool livemode = false;
  std::string account;            // acct_... for Connect events, else empty
  std::string object_type;        // data.object.object
  std::string object_id;          // data.object.id
  std::string customer;           // data.object.customer (empty when null or absent)
  std::string previous_customer;  // data.previous_attributes.customer

  // A thin notification (`object` "v2.core.event", thin-events.md): no data, a related object.
  bool thin = false;
  std::string related_id;    // related_object.id (empty when the type has none)
  std::string related_type;  // related_object.type: customer, subscription, invoice, ...
  std::string related_url;   // related_object.url: an API path, "/v1/customers/cus_..."
  std::string context;       // "acct_..." for a connected account's event, else empty

  // The Kafka key and Redis hash tag: the customer the event belongs to (see DESIGN.md),
  // prefixed "acct_.../" for Connect events so two accounts never share a partition key. A
  // thin notification: its related object's id (the customer's, for a customer), else its own
  // id, prefixed by its context.
  std::string partition_key() const;
};

// Whether Stripe gives objects of this type ("customer", "entitlements.active_entitlement_summary",
// ...) an id. Those without one belong to a customer: data.object.customer is required instead.
bool object_has_id(std::string_view object_type);

enum class EnvelopeStatus { ok, not_json, missing_field, wrong_type };

struct EnvelopeResult {
  EnvelopeStatus status = EnvelopeStatus::ok;
  std::string detail;  // which field, or the parser's message; safe to show the sender
  explicit operator bool() const { return status == EnvelopeStatus::ok; }
};

// Reads `json` in place when `capacity` >= json.size() + kJsonPadding (the bytes past the end
// must be readable), else from a padded copy.
EnvelopeResult read_envelope(std::string_view json, std::size_t capacity, Envelope& out);
inline EnvelopeResult read_envelope(std::string_view json, Envelope& out) {
  return read_envelope(json, json.size(), out);
}

}  // namespace stripe_sync
