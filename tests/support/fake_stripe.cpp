#include "tests/support/fake_stripe.hpp"

#include <ctime>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <stdexcept>

#include "common/stripe/form_encoding.hpp"
#include "common/stripe/stripe_client.hpp"
#include "tests/support/fixtures.hpp"

namespace stripe_sync::test {

namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

const json::object& params_spec() {
  static const json::object spec = json::parse(read_fixture("stripe-params.json")).as_object();
  return spec;
}

// "POST /v1/customers/{customer}" matches "POST /v1/customers/cus_1".
const json::object* endpoint_for(const std::string& method, const std::string& path) {
  auto split = [](std::string_view s) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
      auto slash = s.find('/');
      if (slash != 0) out.push_back(s.substr(0, slash));
      if (slash == std::string_view::npos) break;
      s.remove_prefix(slash + 1);
    }
    return out;
  };
  auto segments = split(path);
  for (const auto& kv : params_spec()) {
    std::string_view key = kv.key();
    auto space = key.find(' ');
    if (key.substr(0, space) != method) continue;
    auto tmpl = split(key.substr(space + 1));
    if (tmpl.size() != segments.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < tmpl.size() && match; ++i) {
      match = (tmpl[i].front() == '{' && !segments[i].empty()) || tmpl[i] == segments[i];
    }
    if (match) return &kv.value().as_object();
  }
  return nullptr;
}

bool is_free_form(const json::object& spec) {
  auto* t = spec.if_contains("type");
  if (!t || !t->is_string()) return false;
  std::string_view type = t->as_string();
  return type.find("MetadataParam") != std::string_view::npos || type.find("AddressParam") != std::string_view::npos ||
         type.find("RangeQueryParam") != std::string_view::npos;
}

// Checks one decoded key=value against the spec; returns an empty string when it conforms.
std::string check_param(const json::object& params, const std::string& key, const std::string& value) {
  auto bracket = key.find('[');
  std::string name = key.substr(0, bracket);
  auto* entry = params.if_contains(name);
  if (!entry) return "unknown parameter '" + name + "'";
  const json::object* spec = &entry->as_object();
  std::string_view rest = bracket == std::string::npos ? std::string_view() : std::string_view(key).substr(bracket);
  bool indexed = false;
  while (!rest.empty()) {
    auto close = rest.find(']');
    if (rest.front() != '[' || close == std::string_view::npos) return "malformed key '" + key + "'";
    std::string_view seg = rest.substr(1, close - 1);
    rest.remove_prefix(close + 1);
    if (is_free_form(*spec)) return {};
    bool numeric = !seg.empty() && std::all_of(seg.begin(), seg.end(), ::isdigit);
    if (seg.empty() || numeric) {
      if (!spec->contains("array") || indexed) return "'" + key + "': not an array";
      indexed = true;
      if (seg.empty() && spec->contains("fields")) return "'" + key + "': an array of objects needs indices";
      continue;
    }
    auto* fields = spec->if_contains("fields");
    if (!fields) return "'" + key + "': '" + std::string(seg) + "' is not a field here";
    auto* sub = fields->as_object().if_contains(seg);
    if (!sub) return "'" + key + "': unknown field '" + std::string(seg) + "'";
    spec = &sub->as_object();
    indexed = false;
  }
  if (spec->contains("array") && !indexed && !(value.empty() && spec->contains("emptyable"))) {
    return "'" + key + "' is an array: send it as " + key + "[]";
  }
  if (value.empty() && spec->contains("emptyable")) return {};
  if (spec->contains("fields") && !spec->contains("array")) return "'" + key + "' is an object, got a value";
  if (auto* e = spec->if_contains("enum")) {
    for (const auto& allowed : e->as_array())
      if (allowed.as_string() == value) return {};
    return "'" + key + "': '" + value + "' is not one of its enum values";
  }
  std::string_view type = spec->contains("type") ? std::string_view(spec->at("type").as_string()) : "";
  if (type == "boolean" && value != "true" && value != "false") return "'" + key + "' must be true or false";
  if (type == "number" && (value.empty() || value.find_first_not_of("-0123456789.") != std::string::npos)) {
    return "'" + key + "' must be a number";
  }
  return {};
}

}  // namespace

std::string FakeRequest::param(const std::string& name) const {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return {};
}

std::string stripe_error_body(const std::string& type, const std::string& message, const std::string& code) {
  json::object err{{"type", type}, {"message", message}};
  if (!code.empty()) err["code"] = code;
  return json::serialize(json::object{{"error", err}});
}

FakeStripe::FakeStripe(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("fake Stripe cannot listen");
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] {
    while (!stopping_) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) break;
      int id = ++connections_;
      std::lock_guard lock(mutex_);
      open_fds_.push_back(fd);
      workers_.emplace_back([this, fd, id] { serve(fd, id); });
    }
  });
}

FakeStripe::~FakeStripe() { stop(); }

void FakeStripe::stop() {
  if (stopping_.exchange(true)) return;
  // Shut the listener down, wait for the accept loop, and only then close it: a closed fd
  // number can be reused at once by another socket of this process.
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
}

void FakeStripe::serve(int fd, int connection) {
  boost::beast::flat_buffer buffer;
  auto read_some = [&](char* p, std::size_t n) { return ::recv(fd, p, n, 0); };
  while (!stopping_) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(16 << 20);
    parser.eager(true);
    boost::beast::error_code ec;
    while (!parser.is_done()) {
      if (buffer.size() > 0) {
        auto used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == http::error::need_more) ec = {};
        if (ec) break;
        if (parser.is_done()) break;
        if (used > 0) continue;  // parse what is buffered before reading more
      }
      auto space = buffer.prepare(64 * 1024);
      auto n = read_some(static_cast<char*>(space.data()), space.size());
      if (n <= 0) {
        close_connection(fd);
        return;
      }
      buffer.commit(static_cast<std::size_t>(n));
    }
    if (ec) break;
    auto& req = parser.get();
    FakeRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.path = r.target.substr(0, r.target.find('?'));
    for (const auto& f : req) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      r.headers[name] = std::string(f.value());
    }
    r.body = req.body();
    r.connection = connection;
    std::string encoded = r.method == "GET" ? (r.target.find('?') == std::string::npos ? "" : r.target.substr(r.target.find('?') + 1)) : r.body;
    bool decoded = form_decode(encoded, r.params);
    std::vector<std::string> problems = check(r);
    if (!decoded) problems.push_back(r.method + " " + r.path + ": malformed form encoding");
    FakeResponse out = handler_(r);
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(r);
      violations_.insert(violations_.end(), problems.begin(), problems.end());
    }
    if (out.hang) {
      while (!stopping_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      break;
    }
    http::response<http::string_body> res{static_cast<http::status>(out.status), 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::date, "Tue, 24 Nov 2026 06:00:00 GMT");
    res.set("Request-Id", "req_fake" + std::to_string(connection));
    for (const auto& [k, v] : out.headers) res.set(k, v);
    res.body() = out.body;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    http::serializer<false, http::string_body> sr{res};
    std::string wire;
    do {
      sr.next(ec, [&](boost::beast::error_code&, const auto& buffers) {
        for (auto b : boost::beast::buffers_range_ref(buffers)) wire.append(static_cast<const char*>(b.data()), b.size());
        sr.consume(boost::beast::buffer_bytes(buffers));
      });
    } while (!ec && !sr.is_done());
    ::send(fd, wire.data(), wire.size(), MSG_NOSIGNAL);
    if (!req.keep_alive()) break;
  }
  close_connection(fd);
}

void FakeStripe::close_connection(int fd) {
  // Forget the fd before closing it, so stop() never shuts down a number someone else now owns.
  std::lock_guard lock(mutex_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  ::close(fd);
}

std::vector<FakeRequest> FakeStripe::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<std::string> FakeStripe::violations() const {
  std::lock_guard lock(mutex_);
  return violations_;
}

std::vector<std::string> FakeStripe::check(const FakeRequest& r) const {
  std::vector<std::string> out;
  const std::string where = r.method + " " + r.path + ": ";
  const json::object* endpoint = endpoint_for(r.method, r.path);
  if (!endpoint) return {where + "not an endpoint of Stripe's API as this project uses it"};
  auto header = [&](const char* name) {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string() : it->second;
  };
  if (header("stripe-version") != kStripeApiVersion) out.push_back(where + "Stripe-Version is not " + std::string(kStripeApiVersion));
  if (header("authorization").rfind("Bearer sk_", 0) != 0) out.push_back(where + "no Bearer sk_ API key");
  if (r.method == "POST") {
    if (header("idempotency-key").empty()) out.push_back(where + "POST without Idempotency-Key");
    if (header("content-type") != "application/x-www-form-urlencoded") out.push_back(where + "body is not form-encoded");
  }
  const json::object& params = endpoint->at("params").as_object();
  for (const auto& [k, v] : r.params) {
    // Every Stripe list endpoint pages with these; stripe-node's per-endpoint types omit them.
    if (r.method == "GET" && (k == "limit" || k == "starting_after" || k == "ending_before")) continue;
    if (auto problem = check_param(params, k, v); !problem.empty()) out.push_back(where + problem);
  }
  for (const auto& kv : params) {
    if (!kv.value().as_object().contains("required") || !kv.value().at("required").as_bool()) continue;
    std::string name(kv.key());
    bool present = std::any_of(r.params.begin(), r.params.end(), [&](const auto& p) {
      return p.first == name || p.first.rfind(name + "[", 0) == 0;
    });
    if (!present) out.push_back(where + "required parameter '" + name + "' missing");
  }
  return out;
}

std::string http_date(std::int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

}  // namespace stripe_sync::test
