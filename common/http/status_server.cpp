#include "common/http/status_server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <stdexcept>
#include <thread>

#include "common/core/time.hpp"
#include "common/http/http_server.hpp"
#include "common/http/responses.hpp"

namespace stripe_sync {

namespace {
class StatusHandler final : public RequestHandler {
 public:
  explicit StatusHandler(const StatusSource& source) : source_(source) {}
  void handle(std::shared_ptr<Request> req, const boost::asio::ip::address&, boost::asio::any_io_executor,
              Respond respond) override {
    std::string_view target = req->target();
    std::string_view path = target.substr(0, target.find('?'));
    if (auto res = status_route(*req, path, source_, unix_ms_now())) return respond(std::move(*res));
    respond(error_response(ErrorCode::not_found, "no such route", req->version(), req->keep_alive(), unix_ms_now()));
  }

 private:
  const StatusSource& source_;
};
}  // namespace

struct StatusServer::Impl {
  explicit Impl(const StatusSource& source) : handler(source) {}
  StatusHandler handler;  // first in, last out: sessions the io_context still holds call it
  boost::asio::io_context ioc{1};
  std::shared_ptr<HttpServer> server;
  std::thread thread;
};

StatusServer::StatusServer(std::string_view host, std::uint16_t port, const StatusSource& source)
    : impl_(std::make_unique<Impl>(source)) {
  HttpServerConfig c;
  c.host = std::string(host);
  c.port = port;
  c.max_body_bytes = 4096;
  c.header_timeout = std::chrono::seconds(5);
  c.body_timeout = std::chrono::seconds(5);
  c.max_connections = 64;
  try {
    impl_->server = std::make_shared<HttpServer>(impl_->ioc, c, impl_->handler);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot listen on " + c.host + ":" + std::to_string(port) + ": " + e.what());
  }
  impl_->server->start();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

StatusServer::~StatusServer() {
  impl_->server->begin_shutdown();
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t StatusServer::port() const { return impl_->server->local_endpoint().port(); }

}  // namespace stripe_sync
