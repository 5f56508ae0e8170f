#pragma once
// The Beast HTTP/1.1 server: an acceptor, and one HttpSession per connection on its own strand.
// Sessions parse each message with a fresh parser (body limit, header and body deadlines), hand
// it to IngressHandler, and write the answer; keep-alive is honoured until shutdown.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <atomic>
#include <list>
#include <memory>
#include <mutex>

#include "ingress/ingress_config.hpp"
#include "ingress/ingress_handler.hpp"

namespace stripe_sync::ingress {

class HttpSession;

class HttpServer : public std::enable_shared_from_this<HttpServer> {
 public:
  // Binds and listens at once (throws on failure); accept() starts serving.
  HttpServer(boost::asio::io_context& ioc, const IngressConfig& config, IngressHandler& handler,
             IngressMetrics& metrics);
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
  const IngressConfig& config_;
  IngressHandler& handler_;
  IngressMetrics& metrics_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex sessions_mutex_;
  std::list<std::weak_ptr<HttpSession>> sessions_;
};

}  // namespace stripe_sync::ingress
