#include "common/billing/customer_document.hpp"

#include <charconv>
#include <set>
#include <vector>

#include <boost/json/parse.hpp>

#include "common/billing/event_extract.hpp"

namespace stripe_sync {

namespace json = boost::json;

namespace {

json::value typed_value(FieldType type, std::string_view name, const std::string& v) {
  if (name == "deleted") return v == "1";
  if (v.empty()) return nullptr;
  switch (type) {
    case FieldType::string: return json::string(v);
    case FieldType::integer: {
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec == std::errc{} && end == v.data() + v.size()) return n;
      return json::string(v);
    }
    case FieldType::boolean: return v == "true" || v == "1";
    case FieldType::json: {
      boost::system::error_code ec;
      json::value parsed = json::parse(v, ec);
      if (!ec) return parsed;
      return json::string(v);
    }
  }
  return json::string(v);
}

Error redis_error(const RedisValue& v) { return Error{ErrorClass::permanent, "redis_reply", "Redis: " + v.str}; }

// The first error reply of a pipeline, if any.
std::optional<Error> first_error(const std::vector<RedisValue>& replies) {
  for (const RedisValue& v : replies)
    if (v.is_error()) return redis_error(v);
  return std::nullopt;
}

std::int64_t integer_of(const ObjectFields& f, const char* name) {
  auto it = f.find(name);
  std::int64_t n = 0;
  if (it != f.end()) std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
  return n;
}

// An invoice id in the history of `customer`, checked before it goes into a key.
bool plain_id(std::string_view id) { return !id.empty() && id.find_first_of("{}/ ") == std::string_view::npos; }

}  // namespace

json::object typed_record(ObjectKind kind, const ObjectFields& fields) {
  json::object out;
  for (const StoredField& f : stored_fields(kind)) {
    auto it = fields.find(std::string(f.name));
    out[f.name] = typed_value(f.type, f.name, it == fields.end() ? std::string() : it->second);
  }
  return out;
}

Result<std::optional<json::object>> read_customer_document(RedisClient& redis, const Keys& keys,
                                                           std::string_view customer) {
  auto first = redis.pipeline({{"HGETALL", keys.customer(customer)},
                               {"SMEMBERS", keys.subscriptions(customer)},
                               {"SMEMBERS", keys.payment_methods(customer)},
                               {"HGETALL", keys.entitlements(customer)},
                               {"ZREVRANGE", keys.invoices(customer), "0", std::to_string(kDocumentInvoices - 1)}});
  if (!first) return first.error();
  if (auto e = first_error(*first)) return *e;
  ObjectFields customer_fields = fields_of((*first)[0], SyncFields::keep);
  if (customer_fields.empty()) return std::optional<json::object>{};

  // Every member's hash, in one round trip.
  struct Member {
    ObjectKind kind;
    std::string id;
  };
  std::vector<Member> members;
  std::vector<std::string> hash_keys;
  for (const auto& id : (*first)[1].elements) {
    members.push_back({ObjectKind::subscription, id.str});
    hash_keys.push_back(keys.subscription(customer, id.str));
  }
  for (const auto& id : (*first)[2].elements) {
    members.push_back({ObjectKind::payment_method, id.str});
    hash_keys.push_back(keys.payment_method(customer, id.str));
  }
  for (const auto& id : (*first)[4].elements) {
    members.push_back({ObjectKind::invoice, id.str});
    hash_keys.push_back(keys.invoice(customer, id.str));
  }
  std::vector<ObjectFields> hashes;
  if (!hash_keys.empty()) {
    std::vector<std::vector<std::string_view>> commands;
    for (const auto& k : hash_keys) commands.push_back({"HGETALL", k});
    auto replies = redis.pipeline(commands);
    if (!replies) return replies.error();
    if (auto e = first_error(*replies)) return *e;
    for (const auto& r : *replies) hashes.push_back(fields_of(r, SyncFields::keep));
  }

  // The prices and products the subscriptions name: account-wide records (other slots).
  std::set<std::string> prices, products;
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (members[i].kind != ObjectKind::subscription) continue;
    boost::system::error_code ec;
    json::value items = json::parse(hashes[i]["items"], ec);
    if (ec || !items.is_array()) continue;
    for (const auto& item : items.as_array()) {
      if (!item.is_object()) continue;
      if (const auto* p = item.as_object().if_contains("price"); p && p->is_string() && plain_id(p->as_string())) prices.emplace(p->as_string());
      if (const auto* p = item.as_object().if_contains("product"); p && p->is_string() && plain_id(p->as_string())) products.emplace(p->as_string());
    }
  }
  std::map<std::string, ObjectFields> catalog;  // by id
  if (!prices.empty() || !products.empty()) {
    std::vector<std::string> catalog_keys, ids;
    for (const auto& p : prices) {
      catalog_keys.push_back(keys.price(p));
      ids.push_back(p);
    }
    for (const auto& p : products) {
      catalog_keys.push_back(keys.product(p));
      ids.push_back(p);
    }
    std::vector<std::vector<std::string_view>> commands;
    for (const auto& k : catalog_keys) commands.push_back({"HGETALL", k});
    auto replies = redis.pipeline(commands);
    if (!replies) return replies.error();
    if (auto e = first_error(*replies)) return *e;
    for (std::size_t i = 0; i < ids.size(); ++i) catalog[ids[i]] = fields_of((*replies)[i], SyncFields::omit);
  }
  auto name_of = [&](const json::value& id, const char* field) -> json::value {
    if (!id.is_string()) return nullptr;
    auto it = catalog.find(std::string(id.as_string()));
    if (it == catalog.end() || it->second[field].empty()) return nullptr;
    return json::string(it->second[field]);
  };

  bool revalidate_pending = customer_fields.count("_revalidate") > 0;
  json::object doc;
  doc["customer"] = typed_record(ObjectKind::customer, customer_fields);
  const std::string default_pm = customer_fields["default_payment_method"];
  json::array subscriptions, payment_methods, invoices;
  for (std::size_t i = 0; i < members.size(); ++i) {
    revalidate_pending = revalidate_pending || hashes[i].count("_revalidate") > 0;
    json::object record = typed_record(members[i].kind, hashes[i]);
    switch (members[i].kind) {
      case ObjectKind::subscription:
        if (auto* items = record.if_contains("items"); items && items->is_array()) {
          for (auto& item : items->as_array()) {
            if (!item.is_object()) continue;
            json::object& o = item.as_object();
            o["price_nickname"] = name_of(o["price"], "nickname");
            o["product_name"] = name_of(o["product"], "name");
          }
        }
        subscriptions.push_back(std::move(record));
        break;
      case ObjectKind::payment_method:
        record["default"] = !default_pm.empty() && default_pm == members[i].id;
        payment_methods.push_back(std::move(record));
        break;
      default:
        invoices.push_back(std::move(record));
        break;
    }
  }
  doc["subscriptions"] = std::move(subscriptions);
  doc["payment_methods"] = std::move(payment_methods);
  ObjectFields entitlements = fields_of((*first)[3], SyncFields::keep);
  json::object typed_entitlements = typed_record(ObjectKind::entitlement_summary, entitlements);
  json::value active = typed_entitlements["lookup_keys"];
  doc["entitlements"] = json::object{{"active", active.is_array() ? active : json::array{}},
                                     {"features", typed_entitlements["features"].is_array() ? typed_entitlements["features"] : json::array{}}};
  doc["invoices"] = std::move(invoices);
  doc["_sync"] = json::object{{"version", integer_of(customer_fields, "_v")},
                              {"event", customer_fields["_event"]},
                              {"synced_ms", integer_of(customer_fields, "_synced_ms")},
                              {"revalidate_pending", revalidate_pending}};
  return std::optional<json::object>(std::move(doc));
}

Result<std::optional<InvoicePage>> read_invoice_page(RedisClient& redis, const Keys& keys, std::string_view customer,
                                                     std::size_t limit, std::string_view starting_after) {
  const std::string history = keys.invoices(customer);
  auto first = redis.pipeline({{"EXISTS", keys.customer(customer)},
                               {"ZREVRANK", history, starting_after.empty() ? std::string_view("-") : starting_after}});
  if (!first) return first.error();
  if (auto e = first_error(*first)) return *e;
  if ((*first)[0].integer == 0) return std::optional<InvoicePage>{};
  std::int64_t start = 0;
  if (!starting_after.empty()) {
    // An id not in the history starts nowhere: an empty page, as Stripe answers a cursor it no
    // longer lists.
    if ((*first)[1].type != RedisValue::Type::integer) return std::optional<InvoicePage>(InvoicePage{});
    start = (*first)[1].integer + 1;
  }
  // One more than asked, to know whether another page follows.
  auto ids = redis.command({"ZREVRANGE", history, std::to_string(start), std::to_string(start + static_cast<std::int64_t>(limit))});
  if (!ids) return ids.error();
  if (ids->is_error()) return redis_error(*ids);
  InvoicePage page;
  page.has_more = ids->elements.size() > limit;
  std::vector<std::string> hash_keys;
  for (std::size_t i = 0; i < ids->elements.size() && i < limit; ++i) hash_keys.push_back(keys.invoice(customer, ids->elements[i].str));
  if (hash_keys.empty()) return std::optional<InvoicePage>(std::move(page));
  std::vector<std::vector<std::string_view>> commands;
  for (const auto& k : hash_keys) commands.push_back({"HGETALL", k});
  auto hashes = redis.pipeline(commands);
  if (!hashes) return hashes.error();
  if (auto e = first_error(*hashes)) return *e;
  for (const auto& h : *hashes) page.data.push_back(typed_record(ObjectKind::invoice, fields_of(h, SyncFields::omit)));
  return std::optional<InvoicePage>(std::move(page));
}

}  // namespace stripe_sync
