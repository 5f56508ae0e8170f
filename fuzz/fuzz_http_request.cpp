// libFuzzer: the ingress's HTTP request path without sockets. The bytes are parsed by Beast's
// request parser with the server's limits (as HttpSession does), and a message that parses is
// routed by IngressHandler (webhook checks, health, metrics, 404/405) with a publisher that
// acknowledges at once. Properties: no crash; exactly one answer; every answer is JSON or the
// metrics text and carries a status the contract allows.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <set>

#include "common/core/metrics.hpp"
#include "common/http/http_server.hpp"
#include "ingress/ingress_handler.hpp"

using namespace stripe_sync;
using namespace stripe_sync::ingress;

namespace {

class AckAll final : public EventPublisher {
 public:
  void publish(OutgoingMessage, boost::asio::any_io_executor ex, PublishHandler done) override {
    boost::asio::post(ex, [done = std::move(done)] { done(PublishResult{}); });
  }
};

struct World {
  World() : metrics(registry), handler(config, publisher, metrics, clock()) {}
  static Clock clock() {
    return {[] { return std::int64_t{1795500000}; }, [] { return std::int64_t{1795500000000}; }};
  }
  IngressConfig config = [] {
    IngressConfig c;
    c.webhook_secrets = {"whsec_fuzz"};
    c.max_body_bytes = 64 * 1024;
    return c;
  }();
  metrics::Registry registry;
  AckAll publisher;
  IngressMetrics metrics;
  IngressHandler handler;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  world.handler.set_readiness(IngressHandler::Readiness::ready);
  http::request_parser<PaddedStringBody> parser;
  parser.header_limit(kHeaderLimitBytes);  // the server's own limits
  parser.body_limit(world.config.max_body_bytes);
  parser.eager(true);
  // As Beast's read loop feeds it: put until the message is done or the bytes run out, then
  // the end of the stream (for a body delimited by the connection's close).
  boost::beast::error_code ec;
  const char* p = reinterpret_cast<const char*>(data);
  std::size_t left = size;
  while (left > 0 && !parser.is_done()) {
    std::size_t used = parser.put(boost::asio::buffer(p, left), ec);
    if (ec == http::error::need_more) break;
    if (ec) return 0;  // the server answers 400 or 413 without routing
    p += used;
    left -= used;
    if (used == 0) break;
  }
  if (!parser.is_done()) {
    if (!parser.got_some()) return 0;
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return 0;
  }
  auto req = std::make_shared<Request>(parser.release());
  boost::asio::io_context ioc;
  int answers = 0;
  static const std::set<unsigned> allowed{200, 400, 403, 404, 405, 413, 415, 503};
  world.handler.handle(req, boost::asio::ip::make_address("127.0.0.1"), ioc.get_executor(), [&](Response res) {
    ++answers;
    if (!allowed.count(res.status)) std::abort();
    if (res.body.empty()) std::abort();
  });
  ioc.run();
  if (answers != 1) std::abort();
  return 0;
}
