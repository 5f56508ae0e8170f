#include "tests/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace stripe_sync::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct HttpClient::Impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
};

HttpClient::HttpClient(std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->stream.expires_after(std::chrono::seconds(30));
  impl_->stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

HttpClient::~HttpClient() {
  beast::error_code ec;
  impl_->stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
}

namespace {
// With STRIPE_SYNC_RESPONSE_LOG_DIR set (ctest sets it), every response is recorded, one JSON
// object a line, for tests/openapi/validate_responses.py to check against schemas/openapi.yaml.
void record(const std::string& method, const std::string& target, const HttpResult& r) {
  static const char* dir = std::getenv("STRIPE_SYNC_RESPONSE_LOG_DIR");
  if (dir == nullptr || *dir == '\0') return;
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::filesystem::create_directories(dir);
  std::ofstream out(std::string(dir) + "/responses-" + std::to_string(::getpid()) + ".jsonl", std::ios::app);
  boost::json::object line{{"method", method}, {"path", target.substr(0, target.find('?'))},
                           {"status", r.status}, {"body", r.body}};
  out << boost::json::serialize(line) << "\n";
}
}  // namespace

HttpResult HttpClient::request(const std::string& method, const std::string& target,
                               const std::string& body,
                               const std::map<std::string, std::string>& headers) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  if (!body.empty() || method == "POST") req.prepare_payload();
  impl_->stream.expires_after(std::chrono::seconds(30));
  http::write(impl_->stream, req);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(impl_->stream, impl_->buffer, parser);
  auto& res = parser.get();
  HttpResult out;
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  out.keep_alive = res.keep_alive();
  for (const auto& f : res) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    out.headers[name] = std::string(f.value());
  }
  record(method, target, out);
  return out;
}

HttpResult post_webhook(std::uint16_t port, const std::string& body, const std::string& signature) {
  HttpClient c(port);
  return c.request("POST", "/webhooks/stripe", body,
                   {{"Content-Type", "application/json; charset=utf-8"},
                    {"Stripe-Signature", signature}});
}

std::string scrape_metrics(std::uint16_t port) {
  try {
    auto r = HttpClient(port).get("/metrics");
    return r.status == 200 ? r.body : std::string();
  } catch (const std::exception&) {
    return {};
  }
}

double metric_value(const std::string& text, const std::string& series) {
  std::size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + series.size() + 1));
    at += series.size();
  }
  return -1;
}

}  // namespace stripe_sync::test
