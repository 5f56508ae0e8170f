#include "common/billing/envelope.hpp"

#include <cctype>
#include <initializer_list>

#include <simdjson.h>

#include "common/core/time.hpp"

namespace stripe_sync {
namespace {

static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING);

EnvelopeResult fail(EnvelopeStatus s, std::string detail) { return {s, std::move(detail)}; }

EnvelopeResult json_error(simdjson::error_code e) {
  return fail(EnvelopeStatus::not_json, std::string("body is not valid JSON: ") +
                                            simdjson::error_message(e));
}


namespace od = simdjson::ondemand;
using simdjson::SIMDJSON_PADDING;

// Calls on_field(key, value) for each field of `o`, in document order, in one forward pass.
// on_field returns an EnvelopeResult; the first failure stops the walk. A key of `read` that
// appears twice is refused: parsers disagree on which copy counts (this reader would keep the
// last, the worker's DOM lookup the first), so such a body could be routed and deduplicated as
// one event and applied as another.
template <class OnField>
EnvelopeResult for_each_field(od::object o, std::initializer_list<std::string_view> read, OnField&& on_field) {
  unsigned seen = 0;
  for (auto field : o) {
    od::field f;
    if (auto e = std::move(field).get(f)) return json_error(e);
    std::string_view k;
    if (auto e = f.unescaped_key().get(k)) return json_error(e);
    unsigned bit = 1;
    for (std::string_view r : read) {
      if (k == r) {
        if (seen & bit) return fail(EnvelopeStatus::wrong_type, "duplicate key: " + std::string(k));
        seen |= bit;
      }
      bit <<= 1;
    }
    if (auto r = on_field(k, f.value()); !r) return r;
  }
  return {};
}

EnvelopeResult read_string(od::value v, std::string& out, const char* path) {
  std::string_view s;
  if (v.get_string().get(s)) return fail(EnvelopeStatus::wrong_type, std::string(path) + " must be a string");
  out.assign(s);
  return {};
}

// A string, null (left empty), or an expanded object whose "id" is taken (`customer` may be
// expanded in API responses replayed by backfill).
EnvelopeResult read_id_like(od::value v, std::string& out, const char* path) {
  od::json_type t;
  if (v.type().get(t) == simdjson::SUCCESS) {
    if (t == od::json_type::null) return {};
    if (t == od::json_type::string) return read_string(v, out, path);
    od::object o;
    if (t == od::json_type::object && v.get_object().get(o) == simdjson::SUCCESS) {
      return for_each_field(o, {"id"}, [&](std::string_view k, od::value fv) -> EnvelopeResult {
        return k == "id" ? read_string(fv, out, path) : EnvelopeResult{};
      });
    }
  }
  return fail(EnvelopeStatus::wrong_type, std::string(path) + " must be a string or null");
}

EnvelopeResult object_of(od::value v, od::object& o, const char* path) {
  if (v.get_object().get(o)) return fail(EnvelopeStatus::wrong_type, std::string(path) + " must be an object");
  return {};
}

EnvelopeResult read_object(od::value v, Envelope& out, bool& has_id) {
  od::object o;
  if (auto r = object_of(v, o, "data.object"); !r) return r;
  // Every field but these three is skipped unparsed (on-demand), though checked for structure.
  return for_each_field(o, {"object", "id", "customer"}, [&](std::string_view k, od::value fv) -> EnvelopeResult {
    if (k == "object") return read_string(fv, out.object_type, "data.object.object");
    if (k == "id") {
      has_id = true;
      return read_string(fv, out.object_id, "data.object.id");
    }
    if (k == "customer") return read_id_like(fv, out.customer, "data.object.customer");
    return {};
  });
}

// related_object {id, type, url}: the url must be an API path (one leading slash), as
// stripe-node requires before it fetches it.
EnvelopeResult read_related(od::value v, Envelope& out) {
  od::json_type t;
  if (v.type().get(t) == simdjson::SUCCESS && t == od::json_type::null) return {};
  od::object o;
  if (auto r = object_of(v, o, "related_object"); !r) return r;
  auto walked = for_each_field(o, {"id", "type", "url"}, [&](std::string_view k, od::value fv) -> EnvelopeResult {
    if (k == "id") return read_string(fv, out.related_id, "related_object.id");
    if (k == "type") return read_string(fv, out.related_type, "related_object.type");
    if (k == "url") return read_string(fv, out.related_url, "related_object.url");
    return {};
  });
  if (!walked) return walked;
  if (out.related_url.empty() || out.related_url[0] != '/' || out.related_url.rfind("//", 0) == 0 ||
      out.related_url.find_first_of("?#\r\n ") != std::string::npos) {
    return fail(EnvelopeStatus::wrong_type, "related_object.url must be an API path");
  }
  return {};
}

// A thin event's context: an account path ("acct_1", "acct_1/acct_2"), sent back as Stripe-Context.
bool plain_context(std::string_view c) {
  for (char ch : c) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '/')) return false;
  }
  return true;
}

EnvelopeResult read_data(od::value v, Envelope& out, bool& has_object, bool& has_id) {
  od::object o;
  if (auto r = object_of(v, o, "data"); !r) return r;
  return for_each_field(o, {"object", "previous_attributes"}, [&](std::string_view k, od::value fv) -> EnvelopeResult {
    if (k == "object") {
      has_object = true;
      return read_object(fv, out, has_id);
    }
    if (k == "previous_attributes") {
      od::object prev;
      if (auto r = object_of(fv, prev, "data.previous_attributes"); !r) return r;
      return for_each_field(prev, {"customer"}, [&](std::string_view pk, od::value pv) -> EnvelopeResult {
        return pk == "customer" ? read_id_like(pv, out.previous_customer, "data.previous_attributes.customer")
                                : EnvelopeResult{};
      });
    }
    return {};
  });
}

EnvelopeResult read_document(od::document& doc, Envelope& out) {
  od::object top;
  if (auto e = doc.get_object().get(top)) {
    if (e == simdjson::INCORRECT_TYPE) return fail(EnvelopeStatus::wrong_type, "body must be a JSON object");
    return json_error(e);
  }
  bool has_data = false, has_object = false, has_object_id = false, has_created = false;
  std::string object, created_text;
  auto walked = for_each_field(top, {"id", "type", "created", "livemode", "account", "data", "object", "related_object", "context"},
                               [&](std::string_view k, od::value fv) -> EnvelopeResult {
    if (k == "id") return read_string(fv, out.id, "id");
    if (k == "type") return read_string(fv, out.type, "type");
    if (k == "object") return read_string(fv, object, "object");
    if (k == "related_object") return read_related(fv, out);
    if (k == "context") return read_id_like(fv, out.context, "context");
    if (k == "created") {
      // Unix seconds in a snapshot event, an ISO string in a thin one (`object` may come later).
      od::json_type t;
      if (fv.type().get(t) == simdjson::SUCCESS && t == od::json_type::string) {
        has_created = true;
        return read_string(fv, created_text, "created");
      }
      std::int64_t c;
      if (fv.get_int64().get(c) || c < 0) return fail(EnvelopeStatus::wrong_type, "created must be a non-negative integer");
      out.created = c;
      has_created = true;
      return {};
    }
    if (k == "livemode") {
      bool b;
      if (fv.get_bool().get(b)) return fail(EnvelopeStatus::wrong_type, "livemode must be a boolean");
      out.livemode = b;
      return {};
    }
    if (k == "account") return read_id_like(fv, out.account, "account");
    if (k == "data") {
      has_data = true;
      return read_data(fv, out, has_object, has_object_id);
    }
    return {};
  });
  if (!walked) return walked;
  // Anything but whitespace after the object: reject (on-demand does not check it by itself).
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) return fail(EnvelopeStatus::not_json, "body is not valid JSON: trailing content after the event");
  if (out.id.empty()) return fail(EnvelopeStatus::missing_field, "missing field: id");
  if (out.type.empty()) return fail(EnvelopeStatus::missing_field, "missing field: type");
  if (!has_created) return fail(EnvelopeStatus::missing_field, "missing field: created");
  out.thin = object == "v2.core.event";
  if (out.thin) {
    auto created = parse_rfc3339_utc(created_text);
    if (!created) return fail(EnvelopeStatus::wrong_type, "created must be an ISO 8601 UTC time in a thin event");
    out.created = *created;
    if (!plain_context(out.context)) return fail(EnvelopeStatus::wrong_type, "context must be an account path");
    return {};
  }
  if (!object.empty() && object != "event") {
    return fail(EnvelopeStatus::wrong_type, "object must be 'event' or 'v2.core.event'");
  }
  if (!created_text.empty()) return fail(EnvelopeStatus::wrong_type, "created must be a non-negative integer");
  if (!has_data || !has_object) return fail(EnvelopeStatus::missing_field, "missing field: data.object");
  if (!object_has_id(out.object_type)) {
    if (out.customer.empty()) return fail(EnvelopeStatus::missing_field, "missing field: data.object.customer");
    return {};
  }
  if (!has_object_id || out.object_id.empty()) return fail(EnvelopeStatus::missing_field, "missing field: data.object.id");
  return {};
}

EnvelopeResult read(std::string_view json, std::size_t capacity, Envelope& out) {
  // One parser per thread: its buffers are reused, so steady state allocates nothing here.
  thread_local od::parser parser;
  od::document doc;
  if (capacity >= json.size() + SIMDJSON_PADDING) {
    if (auto e = parser.iterate(json.data(), json.size(), capacity).get(doc)) return json_error(e);
    return read_document(doc, out);
  }
  simdjson::padded_string copy(json);
  if (auto e = parser.iterate(copy).get(doc)) return json_error(e);
  return read_document(doc, out);
}

}  // namespace

bool object_has_id(std::string_view object_type) {
  return object_type != "entitlements.active_entitlement_summary";
}

std::string Envelope::partition_key() const {
  if (thin) {
    const std::string& base = related_id.empty() ? id : related_id;
    return context.empty() ? base : context + "/" + base;
  }
  const std::string* base = &object_id;
  if (object_type != "customer") {
    if (!customer.empty()) base = &customer;
    else if (!previous_customer.empty()) base = &previous_customer;
  }
  if (account.empty()) return *base;
  return account + "/" + *base;
}

EnvelopeResult read_envelope(std::string_view json, std::size_t capacity, Envelope& out) {
  out = Envelope{};
  return read(json, capacity, out);
}

}  // namespace stripe_sync
