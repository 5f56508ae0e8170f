#include "common/stripe/form_encoding.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace stripe_sync {

namespace json = boost::json;

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

namespace {

std::string scalar_text(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return std::string(v.get_string());
    case json::kind::bool_: return v.get_bool() ? "true" : "false";
    case json::kind::int64: return std::to_string(v.get_int64());
    case json::kind::uint64: return std::to_string(v.get_uint64());
    case json::kind::double_: return json::serialize(v);
    default: return "";  // null: Stripe's way to unset a field
  }
}

// Keys keep their brackets literal (Stripe reads both forms); the rest is percent-encoded.
std::string encode_key(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '[' || c == ']') out.push_back(c);
    else out += percent_encode(std::string_view(&c, 1));
  }
  return out;
}

void append(std::string& out, const std::string& key, const json::value& v) {
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) append(out, key + "[" + std::string(kv.key()) + "]", kv.value());
    return;
  }
  if (v.is_array()) {
    const auto& a = v.get_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      // Built step by step: GCC 12 at -O3 misreports "[" + std::to_string(i) as overlapping.
      std::string item = key;
      item += '[';
      if (a[i].is_object() || a[i].is_array()) item += std::to_string(i);
      item += ']';
      append(out, item, a[i]);
    }
    return;
  }
  if (!out.empty()) out.push_back('&');
  out += encode_key(key);
  out.push_back('=');
  out += percent_encode(scalar_text(v));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decode_component(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return true;
}

}  // namespace

std::string form_encode(const json::object& params) {
  std::string out;
  for (const auto& kv : params) append(out, std::string(kv.key()), kv.value());
  return out;
}

bool form_decode(std::string_view body, std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  while (!body.empty()) {
    auto amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      std::string k, v;
      if (!decode_component(pair.substr(0, eq), k)) return false;
      if (eq != std::string_view::npos && !decode_component(pair.substr(eq + 1), v)) return false;
      out.emplace_back(std::move(k), std::move(v));
    }
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return true;
}

}  // namespace stripe_sync
