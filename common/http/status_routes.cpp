#include "common/http/status_routes.hpp"

#include "common/http/responses.hpp"

namespace stripe_sync {

std::optional<Response> status_route(const Request& req, std::string_view path, const StatusSource& source,
                                     std::int64_t now_ms) {
  if (path != "/healthz" && path != "/readyz" && path != "/metrics") return std::nullopt;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    Response res = error_response(ErrorCode::method_not_allowed, "method not allowed; use GET", req.version(),
                                  req.keep_alive(), now_ms);
    res.set("Allow", "GET");
    return res;
  }
  if (path == "/healthz") return json_response(200, R"({"status":"ok"})", req.version(), req.keep_alive());
  if (path == "/readyz") {
    std::string reason;
    if (source.ready(reason)) return json_response(200, R"({"status":"ready"})", req.version(), req.keep_alive());
    return error_response(ErrorCode::upstream_unavailable, reason, req.version(), req.keep_alive(), now_ms);
  }
  Response res = json_response(200, source.metrics_text(), req.version(), req.keep_alive());
  res.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  return res;
}

}  // namespace stripe_sync
