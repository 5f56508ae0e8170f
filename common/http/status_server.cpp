#include "common/http/status_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>
#include <stdexcept>
#include <thread>

#include "common/core/error_body.hpp"

namespace stripe_sync {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class StatusSession : public std::enable_shared_from_this<StatusSession> {
 public:
  StatusSession(tcp::socket socket, const StatusServer::Route& route)
      : stream_(std::move(socket)), route_(route) {}

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(8 * 1024);
    parser_->body_limit(0);  // status routes take no body
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) return close();
    const auto& req = parser_->get();
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(req.version());
    res->keep_alive(req.keep_alive());
    res->set(http::field::cache_control, "no-store");
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res->result(http::status::method_not_allowed);
      res->set(http::field::allow, "GET");
      res->set(http::field::content_type, "application/json");
      res->body() = error_body(ErrorCode::method_not_allowed, "method not allowed; use GET", 0);
    } else {
      std::string_view target = req.target();
      StatusAnswer a = route_(target.substr(0, target.find('?')));
      res->result(a.status);
      res->set(http::field::content_type, a.content_type);
      if (req.method() != http::verb::head) res->body() = std::move(a.body);
    }
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code wec, std::size_t) {
      if (wec || !res->keep_alive()) return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  const StatusServer::Route& route_;
  beast::flat_buffer buffer_{8 * 1024};
  std::optional<http::request_parser<http::empty_body>> parser_;
};

}  // namespace

// Handlers capture `this`: the destructor stops the io_context and joins its thread before any
// member goes, and destroying the io_context then destroys whatever handlers are still pending.
struct StatusServer::Impl {
  explicit Impl(Route r) : route(std::move(r)), acceptor(ioc) {}

  void accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) std::make_shared<StatusSession>(std::move(s), route)->start();
      accept();
    });
  }

  Route route;
  asio::io_context ioc{1};  // declared before the acceptor and sessions' sockets: outlives them
  tcp::acceptor acceptor;
  std::thread thread;
};

StatusServer::StatusServer(std::string_view host, std::uint16_t port, Route route)
    : impl_(std::make_unique<Impl>(std::move(route))) {
  beast::error_code ec;
  auto address = asio::ip::make_address(std::string(host), ec);
  tcp::endpoint ep(address, port);
  if (!ec) impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + std::string(host) + ":" + std::to_string(port) + ": " +
                             ec.message());
  }
  impl_->accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->ioc.run(); });
}

StatusServer::~StatusServer() {
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

std::uint16_t StatusServer::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace stripe_sync
