// The connection deadlines of HttpServer against a real socket: a keep-alive connection in use
// is never cut by a deadline that has moved on, an idle one is closed at the header deadline
// (also when a slow answer let the connection's timer lapse and re-arm for the longer write
// deadline), and a stalled body is closed at the body deadline.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "common/http/http_server.hpp"
#include "tests/support/http_client.hpp"

namespace stripe_sync {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Answers every request with 200 "ok", after `delay` (a timer on the connection's executor).
class SlowHandler : public RequestHandler {
 public:
  explicit SlowHandler(std::chrono::milliseconds delay) : delay_(delay) {}
  void handle(std::shared_ptr<Request> req, const boost::asio::ip::address&, boost::asio::any_io_executor executor,
              Respond respond) override {
    Response res;
    res.version = req->version();
    res.keep_alive = req->keep_alive();
    res.body = "ok";
    if (delay_.count() == 0) return respond(std::move(res));
    auto timer = std::make_shared<boost::asio::steady_timer>(executor, delay_);
    timer->async_wait([timer, res = std::move(res), respond = std::move(respond)](boost::system::error_code) mutable {
      respond(std::move(res));
    });
  }

 private:
  std::chrono::milliseconds delay_;
};

class Server {
 public:
  Server(std::chrono::milliseconds header_timeout, std::chrono::milliseconds body_timeout,
         std::chrono::milliseconds answer_delay)
      : handler_(answer_delay) {
    HttpServerConfig c;
    c.header_timeout = header_timeout;
    c.body_timeout = body_timeout;
    c.one_thread = true;
    server_ = std::make_shared<HttpServer>(ioc_, c, handler_);
    server_->start();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Server() {
    ioc_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return server_->local_endpoint().port(); }

 private:
  SlowHandler handler_;  // outlives the context: sessions still pending in it call it as they go
  boost::asio::io_context ioc_;
  std::shared_ptr<HttpServer> server_;
  std::thread thread_;
};

bool send_all(int fd, const std::string& bytes) {
  return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

// Reads one answer ("...\r\n\r\nok"); false if the connection ends first or nothing comes within 5 s.
bool read_answer(int fd) {
  std::string got;
  const auto until = Clock::now() + 5s;
  while (got.find("\r\n\r\nok") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0;
}

// How long until the server closes the connection (EOF or reset), up to `limit`.
std::chrono::milliseconds time_to_close(int fd, std::chrono::milliseconds limit) {
  const auto start = Clock::now();
  while (Clock::now() - start < limit) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      char c;
      if (::read(fd, &c, 1) <= 0) break;
    }
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

const std::string kGet = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";

TEST(HttpServerDeadlines, AConnectionInUseOutlivesManyHeaderDeadlines) {
  Server server(300ms, 10s, 0ms);
  int fd = test::connect_loopback(server.port());
  ASSERT_GE(fd, 0);
  // 1.5 s of requests 100 ms apart: five header deadlines pass, each moved on by a request.
  for (int i = 0; i < 15; ++i) {
    ASSERT_TRUE(send_all(fd, kGet)) << "request " << i;
    ASSERT_TRUE(read_answer(fd)) << "request " << i << ": the connection was cut while in use";
    std::this_thread::sleep_for(100ms);
  }
  ::close(fd);
}

// Opens a connection, sends `request` (and reads one answer when `answered`), then returns how
// long the server took to close the connection, up to 5 s; -1 ms when a step before that failed.
std::chrono::milliseconds time_to_close_after(std::uint16_t port, const std::string& request, bool answered) {
  int fd = test::connect_loopback(port);
  if (fd < 0) return std::chrono::milliseconds(-1);
  std::chrono::milliseconds took(-1);
  if (send_all(fd, request) && (!answered || read_answer(fd))) took = time_to_close(fd, 5s);
  ::close(fd);
  return took;
}

TEST(HttpServerDeadlines, AnIdleConnectionClosesAtTheHeaderDeadline) {
  Server server(300ms, 10s, 0ms);
  const auto took = time_to_close_after(server.port(), kGet, true);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 2s) << "the 300 ms header deadline should have closed the idle connection";
}

TEST(HttpServerDeadlines, AfterASlowAnswerTheShorterHeaderDeadlineStillHolds) {
  // The answer takes longer than the header deadline: the connection's timer wakes with nothing
  // to time, the answer's write arms it for the 10 s body deadline, and the next header deadline
  // (300 ms) is earlier than that, so it must re-arm the timer.
  Server server(300ms, 10s, 600ms);
  const auto took = time_to_close_after(server.port(), kGet, true);
  EXPECT_GE(took, 0ms) << "no answer";
  EXPECT_LT(took, 2s) << "the idle connection was kept until the write's 10 s deadline";
}

TEST(HttpServerDeadlines, AStalledBodyClosesAtTheBodyDeadline) {
  Server server(10s, 400ms, 0ms);
  const auto took = time_to_close_after(
      server.port(), "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part", false);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s) << "the 400 ms body deadline should have closed the stalled request";
}

}  // namespace
}  // namespace stripe_sync
