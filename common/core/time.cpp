#include "common/core/time.hpp"

#include <chrono>
#include <ctime>

namespace stripe_sync {

namespace {
// strptime over the whole of `text` in `format`; the rest after it must be `tail` or nothing.
std::optional<std::int64_t> parse_exact(std::string_view text, const char* format, bool allow_z) {
  std::string s(text);
  std::tm tm{};
  const char* end = strptime(s.c_str(), format, &tm);
  if (end == nullptr) return std::nullopt;
  if (*end != '\0' && !(allow_z && (*end == 'Z' || *end == 'z') && end[1] == '\0')) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}
}  // namespace

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string rfc3339_utc_ms(std::int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  int ms = static_cast<int>(unix_ms % 1000);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + ms / 100));
  out.push_back(static_cast<char>('0' + ms / 10 % 10));
  out.push_back(static_cast<char>('0' + ms % 10));
  out.push_back('Z');
  return out;
}

std::string utc_day(std::int64_t unix_s) { return rfc3339_utc_ms(unix_s * 1000).substr(0, 10); }

std::int64_t parse_http_date(std::string_view text) {
  return parse_exact(text, "%a, %d %b %Y %H:%M:%S GMT", false).value_or(0);
}

std::optional<std::int64_t> parse_utc_day(std::string_view text) { return parse_exact(text, "%Y-%m-%d", false); }

std::optional<std::int64_t> parse_rfc3339_utc(std::string_view text) {
  if (text.size() < 20 || text.back() != 'Z' || text[10] != 'T') return std::nullopt;
  std::string_view whole = text.substr(0, 19);
  std::string_view rest = text.substr(19, text.size() - 20);  // ".000" or nothing, before the Z
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2) return std::nullopt;
    for (char c : rest.substr(1))
      if (c < '0' || c > '9') return std::nullopt;
  }
  return parse_exact(whole, "%Y-%m-%dT%H:%M:%S", false);
}

std::optional<std::int64_t> parse_utc_time(std::string_view text) {
  if (auto t = parse_exact(text, "%Y-%m-%dT%H:%M:%S", true)) return t;
  return parse_utc_day(text);
}

}  // namespace stripe_sync
