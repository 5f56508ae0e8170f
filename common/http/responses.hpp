#pragma once
// Building responses: JSON bodies and the error format (DESIGN.md, "Errors"), for every server.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/core/error_body.hpp"
#include "common/http/http_types.hpp"

namespace stripe_sync {

// A JSON answer, not cached, keeping the request's HTTP version and keep-alive.
Response json_response(unsigned status, std::string body, unsigned version, bool keep_alive);
// The error format with the code's own status.
Response error_response(ErrorCode code, std::string_view message, unsigned version, bool keep_alive,
                        std::int64_t now_ms);

}  // namespace stripe_sync
