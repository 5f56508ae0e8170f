// The app's read side (role app), all from Redis, never from Stripe:
//   GET /api/payment/customers/{id}                        the typed customer document, with an ETag
//   GET /api/payment/customers/{id}/entitlements/{key}     {"success":true,"active":bool}: one SISMEMBER
//   GET /api/payment/customers/{id}/invoices               the billing history, newest first, paged
#include <charconv>

#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include "common/billing/customer_document.hpp"
#include "ingress/portal/portal_api.hpp"

namespace stripe_sync::ingress {

namespace json = boost::json;

namespace {

// Whether an If-None-Match header names `etag` (or is "*"); weak tags compare by their value.
bool etag_matches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.rfind("W/", 0) == 0) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

Answer PortalApi::read_customer(const PortalRequest& request) {
  const std::string& customer = request.match.id;
  if (!is_customer_id(customer)) return error(ErrorCode::bad_request, "the path must name a customer id (cus_...)");
  auto redis = redis_.acquire();
  auto doc = read_customer_document(*redis, store_.keys(), customer);
  if (!doc) return store_unavailable();
  if (!*doc) return error(ErrorCode::customer_not_found, "no such customer in the synced state: " + customer);
  json::object out{{"success", true}};
  for (auto& [k, v] : **doc) out[k] = std::move(v);
  std::string body = json::serialize(out);
  // The ETag is the document's digest: equal state, equal tag, on every instance.
  std::string etag(1, '"');  // built by appending: GCC 12 -O3 warns falsely on "x" + std::string
  etag.append(sha256_hex(body), 0, 32).push_back('"');
  // The app may keep it, but asks again each time (If-None-Match): billing state moves.
  std::vector<std::pair<std::string, std::string>> headers{{"ETag", etag}, {"Cache-Control", "private, no-cache"}};
  if (!request.if_none_match.empty() && etag_matches(request.if_none_match, etag)) return {304, "", headers};
  return {200, std::move(body), headers};
}

Answer PortalApi::check_entitlement(const PortalRequest& request) {
  const std::string& customer = request.match.id;
  if (!is_customer_id(customer)) return error(ErrorCode::bad_request, "the path must name a customer id (cus_...)");
  if (request.match.key.size() > 200) return error(ErrorCode::bad_request, "the lookup key is longer than 200 characters");
  auto redis = redis_.acquire();
  auto member = redis->command({"SISMEMBER", store_.keys().entitlement_keys(customer), request.match.key});
  if (!member || member->is_error()) return store_unavailable();
  return {200, json::serialize(json::object{{"success", true}, {"active", member->integer == 1}}), {}};
}

Answer PortalApi::list_invoices(const PortalRequest& request) {
  const std::string& customer = request.match.id;
  if (!is_customer_id(customer)) return error(ErrorCode::bad_request, "the path must name a customer id (cus_...)");
  auto u = boost::urls::parse_origin_form(request.target);
  if (!u) return error(ErrorCode::bad_request, "malformed query string");
  std::size_t limit = 10;
  std::string starting_after;
  for (auto p : u->params()) {
    if (p.key == "limit") {
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), n);
      if (ec != std::errc{} || end != p.value.data() + p.value.size() || n < 1 || n > 100) {
        return error(ErrorCode::bad_request, "limit must be an integer from 1 to 100");
      }
      limit = n;
    } else if (p.key == "starting_after") {
      starting_after = p.value;
      if (starting_after.rfind("in_", 0) != 0) return error(ErrorCode::bad_request, "starting_after must be an invoice id (in_...)");
    }
  }
  auto redis = redis_.acquire();
  auto page = read_invoice_page(*redis, store_.keys(), customer, limit, starting_after);
  if (!page) return store_unavailable();
  if (!*page) return error(ErrorCode::customer_not_found, "no such customer in the synced state: " + customer);
  json::object out{{"success", true}, {"data", std::move((*page)->data)}, {"has_more", (*page)->has_more}};
  return {200, json::serialize(out), {}};
}

}  // namespace stripe_sync::ingress
