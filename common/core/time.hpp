#pragma once
// Time as text: the one place that parses or prints a date. Everything is UTC.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stripe_sync {

std::int64_t unix_ms_now();

// RFC 3339 with milliseconds, e.g. 2026-11-24T17:43:34.123Z (logs, error bodies).
std::string rfc3339_utc_ms(std::int64_t unix_ms);
// The day of `unix_s` as 2026-11-24.
std::string utc_day(std::int64_t unix_s);

// An HTTP Date header ("Tue, 24 Nov 2026 06:00:00 GMT", as Stripe sends it) as unix seconds;
// 0 when malformed (Stripe's clock is then unknown, and callers treat it so).
std::int64_t parse_http_date(std::string_view text);
// "2026-11-24" as unix seconds at 00:00 UTC.
std::optional<std::int64_t> parse_utc_day(std::string_view text);
// "2026-11-24T10:00:00Z" (the Z optional) or "2026-11-24" as unix seconds.
std::optional<std::int64_t> parse_utc_time(std::string_view text);
// An RFC 3339 UTC time with the Z and optional fractional seconds, as Stripe's v2 API writes
// `created` ("2026-11-24T06:00:14.000Z"), as unix seconds (the fraction dropped).
std::optional<std::int64_t> parse_rfc3339_utc(std::string_view text);

}  // namespace stripe_sync
