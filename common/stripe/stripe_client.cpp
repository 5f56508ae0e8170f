#include "common/stripe/stripe_client.hpp"

#include "common/core/metrics.hpp"

#include <openssl/rand.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <ctime>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "common/core/config.hpp"
#include "common/core/hex.hpp"
#include "common/stripe/form_encoding.hpp"
#include "common/stripe/stripe_call_metrics.hpp"
#include "common/core/json_read.hpp"
#include "common/core/log.hpp"
#include "common/core/time.hpp"

namespace stripe_sync {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

std::string_view to_string(StripeError e) {
  switch (e) {
    case StripeError::none: return "none";
    case StripeError::unreachable: return "unreachable";
    case StripeError::rate_limited: return "rate_limited";
    case StripeError::invalid_request: return "invalid_request";
    case StripeError::not_found: return "not_found";
    case StripeError::authentication: return "authentication";
    case StripeError::card: return "card";
    case StripeError::conflict: return "conflict";
    case StripeError::bad_answer: return "bad_answer";
  }
  return "unreachable";
}

// GET of a list, following has_more; the Date of the last page is the snapshot's time.
StripeResult stripe_list_all(StripeApi& stripe, const std::string& path, boost::json::object query, boost::json::array& out,
                             std::string_view stripe_context) {
  query["limit"] = 100;
  for (;;) {
    StripeResult r = stripe.get(path, query, stripe_context);
    if (!r.ok()) return r;
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    const boost::json::array* data = ec ? nullptr : json_read::array_at(v, "data");
    if (data == nullptr) {
      r.error = StripeError::bad_answer;
      r.message = "Stripe answered a list that is not a list";
      return r;
    }
    for (const auto& item : *data) out.push_back(item);
    bool more = json_read::bool_at(v, "has_more").value_or(false);
    if (!more || data->empty()) return r;
    auto last = json_read::string_at(data->back(), "id");
    if (!last) {
      r.error = StripeError::bad_answer;
      r.message = "Stripe answered a list item without an id";
      return r;
    }
    query["starting_after"] = *last;
  }
}

std::string random_uuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("no randomness for an Idempotency-Key");
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::string h = to_hex(b, sizeof b);
  return h.substr(0, 8) + '-' + h.substr(8, 4) + '-' + h.substr(12, 4) + '-' + h.substr(16, 4) + '-' + h.substr(20);
}



namespace {

struct Target {
  bool tls = true;
  std::string host;
  std::string port;
};

// One keep-alive connection with its own io_context: each blocking call runs async operations
// on it under a deadline (Beast's timeouts only apply to async operations).
struct Connection {
  asio::io_context ioc;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  // Runs `start` (which begins one async operation completing into `ec`) until it completes or
  // the deadline passes; the stream's own timer cancels the operation at the deadline.
  template <class Start>
  beast::error_code run(std::chrono::steady_clock::time_point deadline, Start start) {
    beast::error_code ec = asio::error::would_block;
    lowest().expires_at(deadline);
    start(ec);
    ioc.restart();
    ioc.run();
    return ec;
  }
};

struct Attempt {
  beast::error_code transport;  // set when there was no HTTP answer
  http::response<http::string_body> response;
};

}  // namespace

struct StripeClient::Impl {
  StripeClientConfig config;
  std::optional<StripeCallMetrics> call_metrics;  // when config.metrics is set
  Target target;
  ssl::context tls{ssl::context::tls_client};
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<Connection>> idle;

  explicit Impl(StripeClientConfig c) : config(std::move(c)) {
    auto u = boost::urls::parse_absolute_uri(config.api_base);
    if (!u || (u->scheme() != "https" && u->scheme() != "http") || u->host().empty()) {
      throw ConfigError("STRIPE_API_BASE must be an absolute http(s) URL, got '" + config.api_base + "'");
    }
    target.tls = u->scheme() == "https";
    target.host = u->host();
    target.port = u->has_port() ? std::string(u->port()) : (target.tls ? "443" : "80");
    tls.set_default_verify_paths();
    if (!config.ca_file.empty()) tls.load_verify_file(config.ca_file);
    tls.set_verify_mode(ssl::verify_peer);
    if (config.metrics) call_metrics.emplace(*config.metrics);
  }

  std::unique_ptr<Connection> acquire() {
    std::lock_guard lock(pool_mutex);
    if (idle.empty()) return nullptr;
    auto c = std::move(idle.back());
    idle.pop_back();
    return c;
  }
  void release(std::unique_ptr<Connection> c) {
    std::lock_guard lock(pool_mutex);
    if (idle.size() < config.max_idle_connections) idle.push_back(std::move(c));
  }

  beast::error_code connect(Connection& c, std::chrono::steady_clock::time_point deadline) {
    tcp::resolver resolver(c.ioc);
    tcp::resolver::results_type endpoints;
    beast::error_code ec = asio::error::would_block;
    resolver.async_resolve(target.host, target.port, [&](beast::error_code e, tcp::resolver::results_type r) {
      ec = e;
      endpoints = std::move(r);
    });
    c.ioc.restart();
    if (c.ioc.run_until(deadline) == 0 && ec == asio::error::would_block) {
      resolver.cancel();
      c.ioc.restart();
      c.ioc.run();
      return asio::error::timed_out;
    }
    if (ec) return ec;
    if (target.tls) {
      c.secure.emplace(c.ioc, tls);
      if (!SSL_set_tlsext_host_name(c.secure->native_handle(), target.host.c_str())) {
        return beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
      }
      c.secure->set_verify_callback(ssl::host_name_verification(target.host));
    } else {
      c.plain.emplace(c.ioc);
    }
    ec = c.run(deadline, [&](beast::error_code& out) {
      c.lowest().async_connect(endpoints, [&out](beast::error_code e, const tcp::endpoint&) { out = e; });
    });
    if (ec) return ec;
    c.lowest().socket().set_option(tcp::no_delay(true), ec);
    if (target.tls) {
      ec = c.run(deadline, [&](beast::error_code& out) {
        c.secure->async_handshake(ssl::stream_base::client, [&out](beast::error_code e) { out = e; });
      });
    }
    return ec;
  }

  Attempt attempt(http::verb method, const std::string& target_path, const std::string& body,
                  const std::string& idempotency_key, std::string_view stripe_context) {
    Attempt a;
    auto deadline = std::chrono::steady_clock::now() + config.timeout;
    http::request<http::string_body> req{method, target_path, 11};
    req.set(http::field::host, target.host);
    req.set(http::field::authorization, "Bearer " + config.api_key.reveal());
    req.set("Stripe-Version", kStripeApiVersion);
    req.set(http::field::user_agent, "stripe-sync/0.1");
    req.set(http::field::accept, "application/json");
    if (!stripe_context.empty()) req.set("Stripe-Context", stripe_context);
    req.keep_alive(true);
    if (method == http::verb::post) {
      req.set(http::field::content_type, "application/x-www-form-urlencoded");
      req.set("Idempotency-Key", idempotency_key);
      req.body() = body;
      req.prepare_payload();
    }
    // A pooled connection the server closed meanwhile fails at once: then try one fresh one.
    for (int fresh = 0; fresh < 2; ++fresh) {
      auto c = fresh == 0 ? acquire() : nullptr;
      bool reused = c != nullptr;
      if (!c) {
        c = std::make_unique<Connection>();
        if (auto ec = connect(*c, deadline)) {
          a.transport = ec;
          return a;
        }
      }
      auto ec = c->run(deadline, [&](beast::error_code& out) {
        auto done = [&out](beast::error_code e, std::size_t) { out = e; };
        if (c->secure) http::async_write(*c->secure, req, done);
        else http::async_write(*c->plain, req, done);
      });
      http::response_parser<http::string_body> parser;
      parser.body_limit(config.max_response_bytes);  // larger: a failed attempt, never a huge buffer
      if (!ec) {
        ec = c->run(deadline, [&](beast::error_code& out) {
          auto done = [&out](beast::error_code e, std::size_t) { out = e; };
          if (c->secure) http::async_read(*c->secure, c->buffer, parser, done);
          else http::async_read(*c->plain, c->buffer, parser, done);
        });
      }
      if (ec) {
        if (reused && ec != beast::error::timeout) continue;
        a.transport = ec;
        return a;
      }
      a.response = parser.release();
      if (a.response.keep_alive()) release(std::move(c));
      return a;
    }
    return a;
  }

  std::chrono::milliseconds backoff(int attempt_no, std::string_view retry_after) {
    std::chrono::milliseconds wait = config.backoff_base * (1 << std::min(attempt_no, 16));
    wait = std::min(wait, config.backoff_max);
    thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_int_distribution<long> jitter(wait.count() / 2, std::max<long>(wait.count(), 1));
    wait = std::chrono::milliseconds(jitter(rng));
    if (!retry_after.empty()) {
      try {
        auto seconds = std::chrono::seconds(std::stol(std::string(retry_after)));
        wait = std::max(wait, std::min<std::chrono::milliseconds>(seconds, config.backoff_max));
      } catch (const std::exception&) {
      }
    }
    return wait;
  }

  StripeResult call(http::verb method, std::string_view path, const std::string& query_or_body,
                    const std::string& idempotency_key, std::string_view stripe_context = {}) {
    std::string target_path(path);
    if (method == http::verb::get && !query_or_body.empty()) target_path += "?" + query_or_body;
    const std::string body = method == http::verb::post ? query_or_body : std::string();
    StripeResult r;
    for (int n = 0;; ++n) {
      const auto started = std::chrono::steady_clock::now();
      Attempt a = attempt(method, target_path, body, idempotency_key, stripe_context);
      record(method, a.transport ? 0 : static_cast<int>(a.response.result_int()),
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      r.attempts = n + 1;
      std::string retry_after;
      bool retry = false;
      if (a.transport) {
        r.status = 0;
        // An answer past max_response_bytes is a bad answer, not a missing one.
        r.error = a.transport == http::error::body_limit ? StripeError::bad_answer : StripeError::unreachable;
        r.message = a.transport == http::error::body_limit
                        ? "Stripe's answer is larger than " + std::to_string(config.max_response_bytes) + " bytes"
                        : "Stripe did not answer: " + a.transport.message();
        r.code.clear();
        retry = true;
      } else {
        r.status = static_cast<int>(a.response.result_int());
        r.body = std::move(a.response.body());
        r.date_unix = parse_http_date(a.response[http::field::date]);
        r.request_id = std::string(a.response["Request-Id"]);
        r.message.clear();
        r.code.clear();
        if (r.status >= 200 && r.status < 300) {
          // Stripe answers JSON objects. Anything else (a proxy's HTML page, an empty or cut body)
          // is a failed attempt, retried like a 5xx: callers only ever see a JSON object here.
          boost::system::error_code ec;
          auto parsed = boost::json::parse(r.body, ec);
          if (!ec && parsed.is_object()) {
            r.error = StripeError::none;
            return r;
          }
          r.error = StripeError::bad_answer;
          r.message = "Stripe answered " + std::to_string(r.status) + " with a body that is not a JSON object";
          retry = true;
          if (n >= config.max_retries) return r;
          auto wait = backoff(n, {});
          log::warn("Stripe answered a malformed body; retrying", {{"path", path}, {"status", r.status},
                                                                   {"attempt", n + 1}});
          std::this_thread::sleep_for(wait);
          continue;
        }
        read_error_body(r);
        r.error = r.status == 404   ? StripeError::not_found
                  : r.status == 401 || r.status == 403 ? StripeError::authentication
                  : r.status == 402 ? StripeError::card
                  : r.status == 409 ? StripeError::conflict
                  : r.status == 429 ? StripeError::rate_limited
                  : r.status >= 500 ? StripeError::unreachable
                                    : StripeError::invalid_request;
        std::string_view should = a.response["Stripe-Should-Retry"];
        retry = should == "true" ||
                (should != "false" && (r.status == 409 || r.status == 429 || r.status >= 500));
        retry_after = std::string(a.response[http::field::retry_after]);
      }
      if (!retry || n >= config.max_retries) return r;
      auto wait = backoff(n, retry_after);
      log::info("retrying a Stripe request", {{"path", path}, {"status", r.status},
                                              {"attempt", n + 1}, {"wait_ms", static_cast<std::int64_t>(wait.count())}});
      std::this_thread::sleep_for(wait);
    }
  }

  void record(http::verb method, int status, double seconds) {
    if (call_metrics) call_metrics->record(method == http::verb::post, status, seconds);
  }

  static void read_error_body(StripeResult& r) {
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (ec || !v.is_object()) {
      r.message = "Stripe answered " + std::to_string(r.status);
      return;
    }
    if (auto* err = v.as_object().if_contains("error"); err && err->is_object()) {
      const auto& e = err->as_object();
      if (auto* m = e.if_contains("message"); m && m->is_string()) r.message = std::string(m->as_string());
      if (auto* c = e.if_contains("code"); c && c->is_string()) r.code = std::string(c->as_string());
      else if (auto* t = e.if_contains("type"); t && t->is_string()) r.code = std::string(t->as_string());
    }
    if (r.message.empty()) r.message = "Stripe answered " + std::to_string(r.status);
  }
};

StripeClient::StripeClient(StripeClientConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
StripeClient::~StripeClient() = default;

StripeResult StripeClient::get(std::string_view path, const boost::json::object& query,
                               std::string_view stripe_context) {
  return impl_->call(http::verb::get, path, form_encode(query), {}, stripe_context);
}

StripeResult StripeClient::post(std::string_view path, const boost::json::object& params,
                                std::string idempotency_key) {
  if (idempotency_key.empty()) idempotency_key = random_uuid();
  return impl_->call(http::verb::post, path, form_encode(params), idempotency_key);
}

}  // namespace stripe_sync
