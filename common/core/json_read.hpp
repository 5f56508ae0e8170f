#pragma once
// Checked reads of JSON from outside (Stripe's answers, our own records read back): a missing
// member or a member of another type is "absent", never an exception. Boost.JSON's at() and
// as_*() throw, and a throw on a pool thread ends the process (STYLE.md, "The edge of a handler
// chain catches").
#include <boost/json/value.hpp>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stripe_sync::json_read {

inline const boost::json::value* member(const boost::json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  return o ? o->if_contains(key) : nullptr;
}

// The string member `key`, or nullopt.
inline std::optional<std::string_view> string_at(const boost::json::value& v, std::string_view key) {
  const auto* m = member(v, key);
  if (!m || !m->is_string()) return std::nullopt;
  return std::string_view(m->get_string());
}

inline std::optional<std::int64_t> int_at(const boost::json::value& v, std::string_view key) {
  const auto* m = member(v, key);
  if (!m) return std::nullopt;
  if (m->is_int64()) return m->get_int64();
  if (m->is_uint64() && m->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(m->get_uint64());
  return std::nullopt;
}

inline std::optional<bool> bool_at(const boost::json::value& v, std::string_view key) {
  const auto* m = member(v, key);
  if (!m || !m->is_bool()) return std::nullopt;
  return m->get_bool();
}

inline const boost::json::array* array_at(const boost::json::value& v, std::string_view key) {
  const auto* m = member(v, key);
  return m ? m->if_array() : nullptr;
}

// A whole decimal integer ("123", "-4"); nullopt for anything else, including "" and "12x".
inline std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return n;
}

}  // namespace stripe_sync::json_read
