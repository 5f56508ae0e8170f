#include "common/http/http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>
#include <vector>

#include "common/core/log.hpp"
#include "common/core/time.hpp"
#include "common/http/responses.hpp"

namespace stripe_sync {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

void render_response(const Response& res, std::string& out) {
  const auto status = static_cast<http::status>(res.status);
  const std::string_view reason = http::obsolete_reason(status);
  bool own_type = false, own_cache = false;
  std::size_t size = 96 + reason.size() + res.body.size();
  for (const auto& [k, v] : res.fields) {
    size += k.size() + v.size() + 4;
    own_type = own_type || beast::iequals(k, "Content-Type");
    own_cache = own_cache || beast::iequals(k, "Cache-Control");
  }
  out.clear();
  out.reserve(size);
  auto line = [&out](std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  };
  const unsigned v = res.version;
  out += "HTTP/";
  out += static_cast<char>('0' + v / 10 % 10);
  out += '.';
  out += static_cast<char>('0' + v % 10);
  out += ' ';
  out += std::to_string(res.status);
  out += ' ';
  out += reason;
  out += "\r\n";
  if (!own_type) line("Content-Type", Response::kDefaultContentType);
  if (!own_cache) line("Cache-Control", Response::kDefaultCacheControl);
  for (const auto& [k, value] : res.fields) line(k, value);
  if (v == 10 && res.keep_alive) line("Connection", "keep-alive");
  if (v != 10 && !res.keep_alive) line("Connection", "close");
  // RFC 9110 8.6: no Content-Length on a 1xx or 204, nor a 304's 0 for the 200's length.
  const bool bodiless = status == http::status::no_content || status == http::status::not_modified ||
                        http::to_status_class(status) == http::status_class::informational;
  if (!bodiless) line("Content-Length", std::to_string(res.body.size()));
  out += "\r\n";
  if (!bodiless) out += res.body;
}

// One connection. Lives on its own strand; every async call binds shared_from_this().
class HttpSession : public std::enable_shared_from_this<HttpSession> {
  friend class HttpServer;
  using Clock = std::chrono::steady_clock;

 public:
  HttpSession(tcp::socket&& socket, std::shared_ptr<HttpServer> server)
      : socket_(std::move(socket)), watchdog_(socket_.get_executor()), server_(std::move(server)) {
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    if (!ec) peer_ = ep.address();
    // Beast reads max(512, free capacity) at a time, and the parser consumes what it reads, so
    // an unreserved buffer never grows past 512 bytes: a 2 KB webhook took five reads.
    buffer_.reserve(kReadBufferBytes);
  }

  ~HttpSession() {
    server_->handler_.on_connection_closed();
    server_->untrack(registration_);
  }

  void start(std::list<std::weak_ptr<HttpSession>>::iterator registration) {
    registration_ = registration;
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }

  // From HttpServer::begin_shutdown, on our strand.
  void on_shutdown() {
    draining_ = true;
    if (idle_ && buffer_.size() == 0) {
      // Between requests: nobody is waiting for an answer from us.
      do_close();
    }
  }

 private:
  // The connection's deadline. One timer per connection, armed lazily: each phase moves
  // `deadline_`, and the timer, when it wakes, waits again if the deadline has moved on; only a
  // deadline earlier than the timer's re-arms it. A timer per read and write (beast::tcp_stream's
  // way) cost a timer-queue insert and cancel and two allocations for each. At the deadline the
  // socket is closed, which ends the pending operation with operation_aborted; `timed_out_` says
  // why.
  void expires_after(Clock::duration d) {
    deadline_ = Clock::now() + d;
    if (waits_ == 0 || deadline_ < watchdog_.expiry()) watch();
  }

  void expires_never() { deadline_ = Clock::time_point::max(); }

  void watch() {
    ++waits_;
    watchdog_.expires_at(deadline_);  // ends a wait for a later deadline with operation_aborted
    watchdog_.async_wait([self = shared_from_this()](boost::system::error_code ec) { self->on_watchdog(ec); });
  }

  void on_watchdog(boost::system::error_code ec) {
    --waits_;
    // Cancelled, superseded by a newer wait, closed, or nothing to time (the next phase re-arms).
    if (ec || waits_ > 0 || !socket_.is_open() || deadline_ == Clock::time_point::max()) return;
    if (Clock::now() < deadline_) return watch();
    timed_out_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  void do_read() {
    if (draining_) return do_close();
    parser_.emplace();
    parser_->body_limit(server_->config_.max_body_bytes);
    parser_->header_limit(kHeaderLimitBytes);
    idle_ = buffer_.size() == 0;
    expires_after(server_->config_.header_timeout);
    http::async_read_header(socket_, buffer_, *parser_,
                            beast::bind_front_handler(&HttpSession::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    idle_ = false;
    if (ec) return on_read_error(ec);
    // The read that brought the header usually brought the whole body too.
    if (parser_->is_done()) return on_read({}, 0);
    expires_after(server_->config_.body_timeout);
    http::async_read(socket_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    expires_never();  // the handler's own deadline (produce timeout) governs now
    auto req = std::make_shared<Request>(parser_->release());
    parser_.reset();
    server_->handler_.handle(
        req, peer_, socket_.get_executor(),
        [self = shared_from_this()](Response res) { self->send(std::move(res)); });
  }

  void on_read_error(beast::error_code ec) {
    if (timed_out_) ec = beast::error::timeout;
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return do_close();
    }
    if (ec == beast::error::timeout) {
      // A client that stalls mid-request (or an idle keep-alive) loses its connection.
      if (buffer_.size() > 0 || (parser_ && parser_->got_some())) {
        log::info("closing a connection that stalled mid-request", {{"peer", peer_.to_string()}});
      }
      return do_close();
    }
    unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    if (ec == http::error::body_limit) {
      server_->handler_.on_body_too_large();
      return send(error_response(ErrorCode::payload_too_large,
                                 "body larger than " + std::to_string(server_->config_.max_body_bytes) + " bytes",
                                 version, false, unix_ms_now()));
    }
    // Anything else is a malformed request: answer once, then close.
    return send(error_response(ErrorCode::bad_request, "malformed HTTP request: " + ec.message(), version, false,
                               unix_ms_now()));
  }

  void send(Response res) {
    server_->handler_.on_response(res.status);
    if (draining_) res.keep_alive = false;
    const bool close = !res.keep_alive;
    render_response(res, out_);
    expires_after(server_->config_.body_timeout);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
                        self->on_write(ec, close);
                      });
  }

  void on_write(beast::error_code ec, bool close) {
    // A large answer (a page of invoices, /metrics) is not kept for the connection's lifetime.
    if (out_.capacity() > kKeptAnswerBytes) std::string().swap(out_);
    if (ec) return do_close();
    if (close) return do_linger_close();
    do_read();
  }

  // Half-close, then drain what the client still sends for a moment, so that closing with
  // unread bytes (say, the rest of a rejected body) does not reset the connection before the
  // client has read our answer.
  void do_linger_close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    expires_after(std::chrono::seconds(2));
    do_drain();
  }

  void do_drain() {
    socket_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > (4u << 20)) return self->do_close();
                              self->do_drain();
                            });
  }

  void do_close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    watchdog_.cancel();  // its wait holds this session
  }

  tcp::socket socket_;
  asio::steady_timer watchdog_;
  Clock::time_point deadline_ = Clock::time_point::max();
  int waits_ = 0;  // waits of watchdog_ not yet completed
  bool timed_out_ = false;
  std::shared_ptr<HttpServer> server_;
  asio::ip::address peer_;
  beast::flat_buffer buffer_;
  std::string out_;  // the answer being written; its capacity is kept for the next one
  std::optional<http::request_parser<PaddedStringBody>> parser_;
  std::list<std::weak_ptr<HttpSession>>::iterator registration_;
  bool idle_ = true;
  bool draining_ = false;
  std::array<char, 16 * 1024> drain_;
  std::size_t drained_ = 0;
};

HttpServer::HttpServer(asio::io_context& ioc, HttpServerConfig config, RequestHandler& handler)
    : ioc_(ioc), acceptor_(asio::make_strand(ioc)), config_(std::move(config)), handler_(handler) {
  tcp::endpoint ep{asio::ip::make_address(config_.host), config_.port};
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

tcp::endpoint HttpServer::local_endpoint() const { return acceptor_.local_endpoint(); }

void HttpServer::start() {
  asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void HttpServer::do_accept() {
  const asio::any_io_executor session_executor =
      config_.one_thread ? asio::any_io_executor(ioc_.get_executor()) : asio::any_io_executor(asio::make_strand(ioc_));
  acceptor_.async_accept(session_executor,
                         beast::bind_front_handler(&HttpServer::on_accept, shared_from_this()));
}

void HttpServer::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (stopping_.load()) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    // EMFILE and friends: log, keep accepting (the cap below should prevent it).
    log::warn("accept failed", {{"error", ec.message()}});
    return do_accept();
  }
  if (open_sessions() >= config_.max_connections) {
    handler_.on_connection_rejected();
    boost::system::error_code ignored;
    socket.close(ignored);
    return do_accept();
  }
  socket.set_option(tcp::no_delay(true), ec);
  handler_.on_connection_opened();
  auto session = std::make_shared<HttpSession>(std::move(socket), shared_from_this());
  session->start(track(session));
  do_accept();
}

std::list<std::weak_ptr<HttpSession>>::iterator HttpServer::track(std::weak_ptr<HttpSession> s) {
  std::lock_guard lock(sessions_mutex_);
  return sessions_.insert(sessions_.end(), std::move(s));
}

void HttpServer::untrack(std::list<std::weak_ptr<HttpSession>>::iterator it) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.erase(it);
}

std::size_t HttpServer::open_sessions() const {
  std::lock_guard lock(sessions_mutex_);
  return sessions_.size();
}

void HttpServer::begin_shutdown() {
  if (stopping_.exchange(true)) return;
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
  // Take the live sessions under the lock, post to them without it: the last reference to a
  // session may be one of these, and its destructor untracks itself under the same lock.
  std::vector<std::shared_ptr<HttpSession>> live;
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& weak : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) asio::post(s->socket_.get_executor(), [s] { s->on_shutdown(); });
}

}  // namespace stripe_sync
