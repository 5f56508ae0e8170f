#pragma once
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/padded_body.hpp"

namespace stripe_sync {

namespace http = boost::beast::http;

using Request = http::request<PaddedStringBody>;
// An answer, as render_response (http_server.hpp) writes it: the status line, Content-Type and
// Cache-Control (the JSON defaults unless `fields` names them), the fields in order, Connection
// where the version's default does not hold, Content-Length, the body. A plain struct: building
// one allocates its body and nothing else unless it carries fields.
struct Response {
  static constexpr std::string_view kDefaultContentType = "application/json";
  static constexpr std::string_view kDefaultCacheControl = "no-store";

  unsigned status = 200;
  unsigned version = 11;  // the request's: 10 or 11
  bool keep_alive = true;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;

  // Replaces the field of that name (case-insensitive), or adds it at the end.
  void set(std::string_view name, std::string_view value);
};

// Sends the response for one request. Called exactly once, on the connection's strand.
using Respond = std::function<void(Response)>;

}  // namespace stripe_sync
