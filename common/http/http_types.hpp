#pragma once
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>

#include "common/http/padded_body.hpp"

namespace stripe_sync {

namespace http = boost::beast::http;

using Request = http::request<PaddedStringBody>;
using Response = http::response<http::string_body>;

// Sends the response for one request. Called exactly once, on the connection's strand.
using Respond = std::function<void(Response)>;

}  // namespace stripe_sync
