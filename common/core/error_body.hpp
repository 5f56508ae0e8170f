#pragma once
// The HTTP API's error format (DESIGN.md, "Errors"):
// {"success":false,"error":"<human text>","error_code":"<CODE>","timestamp":"<RFC 3339 UTC>"}
#include <cstdint>
#include <string>
#include <string_view>

namespace stripe_sync {

enum class ErrorCode {
  invalid_signature,
  invalid_event,
  payload_too_large,
  bad_request,
  unauthorized,
  forbidden,
  not_found,
  method_not_allowed,
  rate_limited,
  customer_not_found,
  invalid_session,
  sync_failed,
  configuration_invalid,
  upstream_unavailable,
  conflict,  // 409: the request is fine but the customer's state does not allow it
  internal,
};

std::string_view to_string(ErrorCode code);  // "INVALID_SIGNATURE"
unsigned http_status(ErrorCode code);        // 400, 413, ...

// `message` must never contain a secret: callers pass fixed texts or parser messages.
std::string error_body(ErrorCode code, std::string_view message, std::int64_t unix_ms);

}  // namespace stripe_sync
