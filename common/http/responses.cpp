#include "common/http/responses.hpp"

#include <boost/beast/core/string.hpp>

namespace stripe_sync {

void Response::set(std::string_view name, std::string_view value) {
  for (auto& [k, v] : fields) {
    if (boost::beast::iequals(k, name)) {
      v.assign(value);
      return;
    }
  }
  fields.emplace_back(name, value);
}

Response json_response(unsigned status, std::string body, unsigned version, bool keep_alive) {
  Response res;
  res.status = status;
  res.version = version;
  res.keep_alive = keep_alive;
  res.body = std::move(body);
  return res;
}

Response error_response(ErrorCode code, std::string_view message, unsigned version, bool keep_alive,
                        std::int64_t now_ms) {
  return json_response(http_status(code), error_body(code, message, now_ms), version, keep_alive);
}

}  // namespace stripe_sync
