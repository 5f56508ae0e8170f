#pragma once
// The typed read side (DESIGN.md, "The app's read side"): a customer's state as one JSON
// document in the types Stripe uses (booleans, integers, null, nested objects; never JSON inside
// a string), with our bookkeeping under "_sync". The one builder, for
// GET /api/payment/customers/{id} and `stripe-sync state customer`.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "common/billing/change_record.hpp"
#include "common/billing/keys.hpp"
#include "common/billing/state_reader.hpp"
#include "common/core/result.hpp"
#include "common/redis/redis_client.hpp"

namespace stripe_sync {

// One stored record as Stripe types it: the kind's stored fields only ("" is null, "deleted"
// a boolean), in the kind's table order.
boost::json::object typed_record(ObjectKind kind, const ObjectFields& fields);

// How many invoices the document holds (the newest).
inline constexpr std::size_t kDocumentInvoices = 10;

// The customer, the live subscriptions (each item with its price's nickname and product's name
// when those are synced), the payment methods (which one is the default), the active
// entitlements, the newest invoices, and "_sync" {version, event, synced_ms,
// revalidate_pending}. nullopt: no such customer. Three round trips.
Result<std::optional<boost::json::object>> read_customer_document(RedisClient& redis, const Keys& keys,
                                                                   std::string_view customer);

// A page of the customer's invoices, newest first: up to `limit` after `starting_after` (an
// invoice id; empty for the first page). nullopt: no such customer. `has_more` says whether
// another page follows.
struct InvoicePage {
  boost::json::array data;
  bool has_more = false;
};
Result<std::optional<InvoicePage>> read_invoice_page(RedisClient& redis, const Keys& keys, std::string_view customer,
                                                     std::size_t limit, std::string_view starting_after);

}  // namespace stripe_sync
