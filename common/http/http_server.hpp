#pragma once
// The Beast HTTP/1.1 server of both processes: an acceptor, and one HttpSession per connection on
// its own strand. Sessions parse each message with a fresh parser (body limit, header and body
// deadlines), hand it to the RequestHandler, and write the answer; keep-alive is honoured until
// shutdown.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <atomic>
#include <list>
#include <memory>
#include <mutex>

#include <chrono>
#include <cstdint>
#include <string>

#include "common/http/request_handler.hpp"

namespace stripe_sync {

// The request parser's limits: the server's, and the fuzz target's (fuzz/fuzz_http_request.cpp).
inline constexpr std::size_t kHeaderLimitBytes = 16 * 1024;
// Each connection's read buffer, reserved up front: one read takes a typical webhook whole.
inline constexpr std::size_t kReadBufferBytes = 8 * 1024;
// The answer buffer a connection keeps between answers; a larger one is released once written.
inline constexpr std::size_t kKeptAnswerBytes = 16 * 1024;

// The bytes of a response (http_types.hpp says what they are), as Beast's serializer would write
// the same header, into one buffer: one send per answer. Every response carries its
// Content-Length but a 1xx, 204 or 304 (RFC 9110 8.6), which carries no body.
void render_response(const Response& res, std::string& out);

struct HttpServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;                           // 0: any free port (see local_endpoint)
  std::size_t max_body_bytes = 1 << 20;             // past it: 413
  std::chrono::milliseconds header_timeout{10000};  // a client must send its headers by then
  std::chrono::milliseconds body_timeout{30000};    // ... and its body, and read our answer
  std::size_t max_connections = 10000;              // past it a new connection is closed at once
  // Only one thread runs the io_context: its executor is then an implicit strand, and a session
  // runs on it directly instead of on a strand of its own (no strand queue, lock or reference
  // count per operation).
  bool one_thread = false;
};

class HttpSession;

class HttpServer : public std::enable_shared_from_this<HttpServer> {
 public:
  // Binds and listens at once (throws on failure); accept() starts serving.
  HttpServer(boost::asio::io_context& ioc, HttpServerConfig config, RequestHandler& handler);
  void start();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Stops accepting, closes idle connections, and lets busy ones finish their request and then
  // close. Safe to call from any thread.
  void begin_shutdown();
  std::size_t open_sessions() const;

 private:
  friend class HttpSession;
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
  std::list<std::weak_ptr<HttpSession>>::iterator track(std::weak_ptr<HttpSession> s);
  void untrack(std::list<std::weak_ptr<HttpSession>>::iterator it);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  const HttpServerConfig config_;
  RequestHandler& handler_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex sessions_mutex_;
  std::list<std::weak_ptr<HttpSession>> sessions_;
};

}  // namespace stripe_sync
