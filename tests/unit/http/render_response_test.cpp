#include "common/http/http_server.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/write.hpp>
#include <sstream>

#include "common/http/responses.hpp"

namespace stripe_sync {
namespace {

// Beast's own serializer is the reference: render_response must write the same bytes.
std::string beast_bytes(const Response& res) {
  std::ostringstream os;
  os << res;
  return os.str();
}

std::string rendered(const Response& res) {
  std::string out = "left over from the previous answer";
  render_response(res, out);
  return out;
}

TEST(RenderResponse, WritesWhatBeastsSerializerWrites) {
  std::vector<Response> cases;
  cases.push_back(json_response(200, R"({"success":true,"event_id":"evt_1"})", 11, true));
  cases.push_back(json_response(200, R"({"success":true})", 10, true));   // HTTP/1.0 keep-alive
  cases.push_back(json_response(400, R"({"error":{}})", 11, false));      // Connection: close
  cases.push_back(json_response(204, "", 11, true));
  Response unavailable = error_response(ErrorCode::upstream_unavailable, "retry later", 11, true, 1);
  unavailable.set(http::field::retry_after, "5");
  cases.push_back(unavailable);
  Response custom_reason = json_response(299, "{}", 11, true);  // no standard reason phrase
  cases.push_back(custom_reason);
  Response big = json_response(200, std::string(100000, 'x'), 11, true);
  big.set("X-Request-Id", "abc");
  cases.push_back(big);
  for (const Response& res : cases) {
    EXPECT_EQ(rendered(res), beast_bytes(res)) << res.result_int();
  }
}

TEST(RenderResponse, StartsWithTheStatusLineAndEndsWithTheBody) {
  const std::string out = rendered(json_response(503, "{\"a\":1}", 11, true));
  EXPECT_EQ(out.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("Content-Length: 7\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 11), "\r\n\r\n{\"a\":1}");
}

}  // namespace
}  // namespace stripe_sync
