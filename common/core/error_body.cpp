#include "common/core/error_body.hpp"

#include "common/core/json_writer.hpp"
#include "common/core/log.hpp"
#include "common/core/time.hpp"

namespace stripe_sync {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_signature: return "INVALID_SIGNATURE";
    case ErrorCode::invalid_event: return "INVALID_EVENT";
    case ErrorCode::payload_too_large: return "PAYLOAD_TOO_LARGE";
    case ErrorCode::bad_request: return "BAD_REQUEST";
    case ErrorCode::unauthorized: return "UNAUTHORIZED";
    case ErrorCode::forbidden: return "FORBIDDEN";
    case ErrorCode::not_found: return "NOT_FOUND";
    case ErrorCode::method_not_allowed: return "METHOD_NOT_ALLOWED";
    case ErrorCode::rate_limited: return "RATE_LIMITED";
    case ErrorCode::customer_not_found: return "CUSTOMER_NOT_FOUND";
    case ErrorCode::invalid_session: return "INVALID_SESSION";
    case ErrorCode::sync_failed: return "SYNC_FAILED";
    case ErrorCode::configuration_invalid: return "CONFIGURATION_INVALID";
    case ErrorCode::upstream_unavailable: return "UPSTREAM_UNAVAILABLE";
    case ErrorCode::conflict: return "CONFLICT";
    case ErrorCode::internal: return "INTERNAL";
  }
  return "INTERNAL";
}

unsigned http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_signature:
    case ErrorCode::invalid_event:
    case ErrorCode::bad_request:
    case ErrorCode::invalid_session:
    case ErrorCode::configuration_invalid: return 400;
    case ErrorCode::unauthorized: return 401;
    case ErrorCode::forbidden: return 403;
    case ErrorCode::not_found:
    case ErrorCode::customer_not_found: return 404;
    case ErrorCode::method_not_allowed: return 405;
    case ErrorCode::payload_too_large: return 413;
    case ErrorCode::rate_limited: return 429;
    case ErrorCode::sync_failed: return 502;
    case ErrorCode::upstream_unavailable: return 503;
    case ErrorCode::conflict: return 409;
    case ErrorCode::internal: return 500;
  }
  return 500;
}

std::string error_body(ErrorCode code, std::string_view message, std::int64_t unix_ms) {
  std::string out;
  out.reserve(128 + message.size());
  JsonObjectWriter w(out);
  w.field("success", false)
      .field("error", message)
      .field("error_code", to_string(code))
      .field("timestamp", rfc3339_utc_ms(unix_ms));
  w.close();
  return out;
}

}  // namespace stripe_sync
