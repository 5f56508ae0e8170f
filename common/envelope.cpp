#include "common/envelope.hpp"

#include <simdjson.h>

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

simdjson::error_code read_id_like(od::value v, std::string& out) {
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  if (t == od::json_type::null) return simdjson::SUCCESS;
  if (t == od::json_type::string) {
    std::string_view s;
    if (auto e = v.get_string().get(s)) return e;
    out.assign(s);
    return simdjson::SUCCESS;
  }
  if (t == od::json_type::object) {
    od::object o;
    if (auto e = v.get_object().get(o)) return e;
    for (auto field : o) {
      od::field f;
      if (auto e = std::move(field).get(f)) return e;
      std::string_view k;
      if (auto e = f.unescaped_key().get(k)) return e;
      if (k == "id") {
        if (auto e = read_id_like(f.value(), out)) return e;
      }
    }
    return simdjson::SUCCESS;
  }
  return simdjson::INCORRECT_TYPE;
}

EnvelopeResult read_object(od::value v, Envelope& out, bool& has_id) {
  od::object o;
  if (v.get_object().get(o)) return fail(EnvelopeStatus::wrong_type, "data.object must be an object");
  for (auto field : o) {
    od::field f;
    if (auto e = std::move(field).get(f)) return json_error(e);
    std::string_view k;
    if (auto e = f.unescaped_key().get(k)) return json_error(e);
    if (k == "object") {
      std::string_view s;
      if (f.value().get_string().get(s)) return fail(EnvelopeStatus::wrong_type, "data.object.object must be a string");
      out.object_type.assign(s);
    } else if (k == "id") {
      std::string_view s;
      if (f.value().get_string().get(s)) return fail(EnvelopeStatus::wrong_type, "data.object.id must be a string");
      out.object_id.assign(s);
      has_id = true;
    } else if (k == "customer") {
      if (read_id_like(f.value(), out.customer)) return fail(EnvelopeStatus::wrong_type, "data.object.customer must be a string or null");
    }
    // Every other field is skipped unparsed (on-demand), though still checked for structure.
  }
  return {};
}

EnvelopeResult read_previous(od::value v, Envelope& out) {
  od::object o;
  if (v.get_object().get(o)) return fail(EnvelopeStatus::wrong_type, "data.previous_attributes must be an object");
  for (auto field : o) {
    od::field f;
    if (auto e = std::move(field).get(f)) return json_error(e);
    std::string_view k;
    if (auto e = f.unescaped_key().get(k)) return json_error(e);
    if (k == "customer") {
      if (read_id_like(f.value(), out.previous_customer)) return fail(EnvelopeStatus::wrong_type, "data.previous_attributes.customer must be a string or null");
    }
  }
  return {};
}

EnvelopeResult read_data(od::value v, Envelope& out, bool& has_object, bool& has_id) {
  od::object o;
  if (v.get_object().get(o)) return fail(EnvelopeStatus::wrong_type, "data must be an object");
  for (auto field : o) {
    od::field f;
    if (auto e = std::move(field).get(f)) return json_error(e);
    std::string_view k;
    if (auto e = f.unescaped_key().get(k)) return json_error(e);
    if (k == "object") {
      has_object = true;
      if (auto r = read_object(f.value(), out, has_id); !r) return r;
    } else if (k == "previous_attributes") {
      if (auto r = read_previous(f.value(), out); !r) return r;
    }
  }
  return {};
}

EnvelopeResult read_document(od::document& doc, Envelope& out) {
  od::object top;
  if (auto e = doc.get_object().get(top)) {
    if (e == simdjson::INCORRECT_TYPE) return fail(EnvelopeStatus::wrong_type, "body must be a JSON object");
    return json_error(e);
  }
  bool has_id = false, has_type = false, has_created = false, has_data = false;
  bool has_object = false, has_object_id = false;
  for (auto field : top) {
    od::field f;
    if (auto e = std::move(field).get(f)) return json_error(e);
    std::string_view k;
    if (auto e = f.unescaped_key().get(k)) return json_error(e);
    if (k == "id") {
      std::string_view s;
      if (f.value().get_string().get(s)) return fail(EnvelopeStatus::wrong_type, "id must be a string");
      out.id.assign(s);
      has_id = !s.empty();
    } else if (k == "type") {
      std::string_view s;
      if (f.value().get_string().get(s)) return fail(EnvelopeStatus::wrong_type, "type must be a string");
      out.type.assign(s);
      has_type = !s.empty();
    } else if (k == "created") {
      std::int64_t c;
      if (f.value().get_int64().get(c) || c < 0) return fail(EnvelopeStatus::wrong_type, "created must be a non-negative integer");
      out.created = c;
      has_created = true;
    } else if (k == "livemode") {
      bool b;
      if (f.value().get_bool().get(b)) return fail(EnvelopeStatus::wrong_type, "livemode must be a boolean");
      out.livemode = b;
    } else if (k == "account") {
      if (read_id_like(f.value(), out.account)) return fail(EnvelopeStatus::wrong_type, "account must be a string or null");
    } else if (k == "data") {
      has_data = true;
      if (auto r = read_data(f.value(), out, has_object, has_object_id); !r) return r;
    }
  }
  // Anything but whitespace after the object: reject (on-demand does not check it by itself).
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) return fail(EnvelopeStatus::not_json, "body is not valid JSON: trailing content after the event");
  if (!has_id) return fail(EnvelopeStatus::missing_field, "missing field: id");
  if (!has_type) return fail(EnvelopeStatus::missing_field, "missing field: type");
  if (!has_created) return fail(EnvelopeStatus::missing_field, "missing field: created");
  if (!has_data || !has_object) return fail(EnvelopeStatus::missing_field, "missing field: data.object");
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

std::string Envelope::partition_key() const {
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
