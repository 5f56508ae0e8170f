#include "common/http/responses.hpp"

namespace stripe_sync {

Response json_response(unsigned status, std::string body, unsigned version, bool keep_alive) {
  Response res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response error_response(ErrorCode code, std::string_view message, unsigned version, bool keep_alive,
                        std::int64_t now_ms) {
  return json_response(http_status(code), error_body(code, message, now_ms), version, keep_alive);
}

}  // namespace stripe_sync
