#include "common/http/http_server.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/write.hpp>
#include <sstream>

#include "common/http/responses.hpp"

namespace stripe_sync {
namespace {

// Beast's own serializer is the reference: the same header built as a Beast message, in the order
// http_types.hpp gives (Content-Type and Cache-Control unless named, the fields, Connection,
// Content-Length), must come out byte for byte as render_response writes it.
std::string beast_bytes(const Response& res) {
  http::response<http::string_body> b{static_cast<http::status>(res.status), res.version};
  b.set(http::field::content_type, Response::kDefaultContentType);
  b.set(http::field::cache_control, Response::kDefaultCacheControl);
  for (const auto& [k, v] : res.fields) b.set(k, v);
  b.keep_alive(res.keep_alive);
  b.body() = res.body;
  b.prepare_payload();
  const auto s = b.result();
  if (s == http::status::no_content || s == http::status::not_modified) b.erase(http::field::content_length);
  std::ostringstream os;
  os << b;
  return os.str();
}

std::string rendered(const Response& res) {
  std::string out = "left over from the previous answer";
  render_response(res, out);
  return out;
}

TEST(RenderResponse, WritesWhatBeastsSerializerWritesForTheSameHeader) {
  std::vector<Response> cases;
  cases.push_back(json_response(200, R"({"success":true,"event_id":"evt_1"})", 11, true));
  cases.push_back(json_response(200, R"({"success":true})", 10, true));   // HTTP/1.0 keep-alive
  cases.push_back(json_response(200, R"({"success":true})", 10, false));  // HTTP/1.0, closes
  cases.push_back(json_response(400, R"({"error":{}})", 11, false));      // Connection: close
  Response unavailable = error_response(ErrorCode::upstream_unavailable, "retry later", 11, true, 1);
  unavailable.set("Retry-After", "5");
  cases.push_back(unavailable);
  Response custom_reason = json_response(299, "{}", 11, true);  // no standard reason phrase
  cases.push_back(custom_reason);
  Response big = json_response(200, std::string(100000, 'x'), 11, true);
  big.set("X-Request-Id", "abc");
  cases.push_back(big);
  Response metrics = json_response(200, "# HELP x\n", 11, true);
  metrics.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");  // replaces the default
  cases.push_back(metrics);
  Response cached = json_response(200, "{}", 11, true);
  cached.set("ETag", "\"v1\"");
  cached.set("cache-control", "private, no-cache");  // any case names the same field
  cases.push_back(cached);
  for (const Response& res : cases) {
    EXPECT_EQ(rendered(res), beast_bytes(res)) << res.status;
  }
}

TEST(RenderResponse, StartsWithTheStatusLineAndEndsWithTheBody) {
  const std::string out = rendered(json_response(503, "{\"a\":1}", 11, true));
  EXPECT_EQ(out.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("Content-Length: 7\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("Connection"), std::string::npos) << out;  // HTTP/1.1 keeps alive by default
  EXPECT_EQ(out.substr(out.size() - 11), "\r\n\r\n{\"a\":1}");
}

TEST(RenderResponse, NotModifiedAndNoContentCarryNoContentLength) {
  for (unsigned status : {204u, 304u}) {
    Response res = json_response(status, "", 11, true);
    res.set("ETag", "\"v1\"");
    const std::string out = rendered(res);
    EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n") << out;
    EXPECT_EQ(out, beast_bytes(res));
  }
}

TEST(RenderResponse, SetReplacesAFieldWhateverItsCase) {
  Response res = json_response(200, "{}", 11, true);
  res.set("Retry-After", "5");
  res.set("retry-after", "7");
  ASSERT_EQ(res.fields.size(), 1u);
  EXPECT_EQ(res.fields[0].second, "7");
  const std::string out = rendered(res);
  EXPECT_NE(out.find("\r\nRetry-After: 7\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("retry-after"), std::string::npos) << out;  // the first name's case is kept
}

}  // namespace
}  // namespace stripe_sync
