#pragma once
// Structured logs: one record a line, JSON by default (LOG_FORMAT=json|text), written with a
// single write(2) so lines from several threads never interleave.
//
// Secrets never reach this facade: callers pass identifiers (event id, customer id, partition,
// offset), never headers, keys or payloads.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "common/core/secret.hpp"

namespace stripe_sync::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };
enum class Format { json, text };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, std::int64_t v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(std::int64_t{v}) {}
  Field(std::string_view k, const Secret& v) = delete;  // secrets are never logged
  std::string_view key;
  std::variant<std::string_view, std::int64_t> value;
};

// Parses "debug|info|warn|error" and "json|text"; throws std::invalid_argument otherwise.
Level parse_level(std::string_view s);
Format parse_format(std::string_view s);

// Set once at start-up, before threads exist.
void configure(Level level, Format format, std::string_view process_name);

bool enabled(Level level);
void write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

// Renders a record without writing it (the formatter, exposed for tests).
std::string format_record(Format format, Level level, std::int64_t unix_ms,
                          std::string_view process, std::string_view message,
                          std::initializer_list<Field> fields);

inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::debug)) write(Level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::info)) write(Level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::warn)) write(Level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::error)) write(Level::error, m, f);
}



}  // namespace stripe_sync::log
