#include "common/core/log.hpp"

#include "common/core/time.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <stdexcept>

#include "common/core/json_writer.hpp"

namespace stripe_sync::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
Format g_format = Format::json;
std::string g_process = "stripe-sync";

std::string_view level_name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

}  // namespace

Level parse_level(std::string_view s) {
  if (s == "debug") return Level::debug;
  if (s == "info") return Level::info;
  if (s == "warn" || s == "warning") return Level::warn;
  if (s == "error") return Level::error;
  throw std::invalid_argument("must be one of debug, info, warn, error");
}

Format parse_format(std::string_view s) {
  if (s == "json") return Format::json;
  if (s == "text") return Format::text;
  throw std::invalid_argument("must be json or text");
}

void configure(Level level, Format format, std::string_view process_name) {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
  g_format = format;
  g_process = std::string(process_name);
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

std::string format_record(Format format, Level level, std::int64_t unix_ms,
                          std::string_view process, std::string_view message,
                          std::initializer_list<Field> fields) {
  std::string line;
  line.reserve(160);
  if (format == Format::json) {
    JsonObjectWriter w(line);
    w.field("time", rfc3339_utc_ms(unix_ms)).field("level", level_name(level));
    w.field("process", process).field("msg", message);
    for (const Field& f : fields) {
      if (auto* s = std::get_if<std::string_view>(&f.value)) {
        w.field(f.key, *s);
      } else {
        w.field(f.key, std::get<std::int64_t>(f.value));
      }
    }
    w.close();
  } else {
    line += rfc3339_utc_ms(unix_ms);
    line.push_back(' ');
    line += level_name(level);
    line.push_back(' ');
    line += process;
    line += ": ";
    line += message;
    for (const Field& f : fields) {
      line.push_back(' ');
      line += f.key;
      line.push_back('=');
      if (auto* s = std::get_if<std::string_view>(&f.value)) {
        // Quote through the JSON escaper so a value can never break the line.
        append_json_string(line, *s);
      } else {
        line += std::to_string(std::get<std::int64_t>(f.value));
      }
    }
  }
  line.push_back('\n');
  return line;
}

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  auto now = unix_ms_now();
  std::string line = format_record(g_format, level, now, g_process, message, fields);
  // One write(2) per record: atomic for pipes up to PIPE_BUF and in practice for files.
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace stripe_sync::log
