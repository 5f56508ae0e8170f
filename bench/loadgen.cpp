// loadgen: signed Stripe webhooks over N keep-alive connections (Beast, asynchronous), either as
// fast as the server answers (closed loop) or at a fixed rate (open loop). In the open loop each
// request i has a scheduled time start + i / rate, and its latency is counted from that time, not
// from when a connection got round to sending it: a server that stalls is not hidden by the
// client waiting for it (no coordinated omission). Prints one JSON line: requests/s, status
// counts, latency percentiles (p50, p90, p99, p99.9, max) and the machine.
//
//   loadgen --port P [--host H] [--path /webhooks/stripe] [--secret whsec_...] [--connections N]
//           [--threads T] [--seconds S] [--rate R] [--size BYTES] [--customers C]
//           [--id-prefix X] [--requests N] [--pool N]
//   loadgen --sample-body FILE [--size BYTES]   writes one event body (for wrk's script) and exits
//
// Each event is Stripe's customer.subscription.updated (tests/fixtures/) with its own id, a
// customer among C, `created` = now, and metadata padding to reach --size bytes. The event is
// serialised once with placeholders; a request only splices id, created and customer into it and
// signs it with a fresh timestamp, so the client's own cost per request stays small (it shares
// the machine with the server it measures). With --pool N, N requests are built and signed before
// the run and sent in turn (ids repeat every N requests; the ingress does the same work for each):
// the client then costs about what wrk does, so a rate measured with it is the server's.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/core/json_writer.hpp"
#include "common/stripe/signature.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string path = "/webhooks/stripe";
  std::string secret = "whsec_bench";
  int connections = 32;
  int threads = 1;
  double seconds = 10;
  double rate = 0;  // 0: closed loop
  std::size_t size = 2048;
  int customers = 1000;
  std::string id_prefix = "evt_load";
  long requests = 0;  // 0: no count limit, only --seconds
  long pool = 0;      // 0: every request built and signed when sent
  std::string sample_body;  // write one body there and exit
};

Options parse(int argc, char** argv) {
  Options o;
  if (argc % 2 == 0) throw std::invalid_argument("every option takes a value");
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host") o.host = v;
    else if (k == "--port") o.port = v;
    else if (k == "--path") o.path = v;
    else if (k == "--secret") o.secret = v;
    else if (k == "--connections") o.connections = std::stoi(v);
    else if (k == "--threads") o.threads = std::stoi(v);
    else if (k == "--seconds") o.seconds = std::stod(v);
    else if (k == "--rate") o.rate = std::stod(v);
    else if (k == "--size") o.size = std::stoul(v);
    else if (k == "--customers") o.customers = std::stoi(v);
    else if (k == "--id-prefix") o.id_prefix = v;
    else if (k == "--requests") o.requests = std::stol(v);
    else if (k == "--pool") o.pool = std::stol(v);
    else if (k == "--sample-body") o.sample_body = v;
    else throw std::invalid_argument("unknown option " + k);
  }
  if (o.port.empty() && o.sample_body.empty()) throw std::invalid_argument("--port is required");
  if (o.connections < 1 || o.threads < 1 || o.customers < 1 || o.seconds <= 0 || o.rate < 0 || o.pool < 0) {
    throw std::invalid_argument("--connections, --threads, --customers and --seconds must be positive, --pool not negative");
  }
  o.threads = std::min(o.threads, o.connections);
  return o;
}

// The event serialised once, split where the id, `created` and the customer go.
class BodyTemplate {
 public:
  explicit BodyTemplate(std::size_t size) {
    std::ifstream in(std::string(STRIPE_SYNC_FIXTURES_DIR) + "/events/customer.subscription.updated.json");
    std::ostringstream ss;
    ss << in.rdbuf();
    boost::json::object ev = boost::json::parse(ss.str()).as_object();
    ev["id"] = "@@ID@@";
    ev["created"] = "@@CREATED@@";
    ev["data"].as_object()["object"].as_object()["customer"] = "@@CUS@@";
    std::size_t base = boost::json::serialize(ev).size();
    if (size > base + 64) {
      // Stripe objects carry the account's own metadata: pad there, in 500-byte values.
      boost::json::object meta;
      std::size_t need = size - base - 16;  // `,"metadata":{}` and the id's growth
      for (int n = 0; need > 40; ++n) {
        std::string key = "note_" + std::to_string(n);
        std::size_t len = std::min<std::size_t>(500, need - key.size() - 6);
        meta[key] = std::string(len, 'x');
        need -= len + key.size() + 6;  // "key":"value",
      }
      ev["data"].as_object()["object"].as_object()["metadata"] = meta;
    }
    std::string text = boost::json::serialize(ev);
    // Split at the placeholders, in the order they appear.
    const std::pair<std::string, Slot> marks[] = {
        {"\"@@ID@@\"", Slot::id}, {"\"@@CREATED@@\"", Slot::created}, {"\"@@CUS@@\"", Slot::customer}};
    std::vector<std::pair<std::size_t, std::pair<std::string, Slot>>> found;
    for (const auto& m : marks) {
      std::size_t at = text.find(m.first);
      if (at == std::string::npos) throw std::runtime_error("template lost a placeholder");
      found.push_back({at, m});
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::size_t from = 0;
    for (const auto& [at, m] : found) {
      parts_.push_back(text.substr(from, at - from));
      slots_.push_back(m.second);
      from = at + m.first.size();
    }
    parts_.push_back(text.substr(from));
  }

  void render(std::string& out, std::string_view id, std::int64_t created, std::string_view customer) const {
    out.clear();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      out += parts_[i];
      switch (slots_[i]) {
        case Slot::id: out.append("\"").append(id).append("\""); break;
        case Slot::created: out += std::to_string(created); break;
        case Slot::customer: out.append("\"").append(customer).append("\""); break;
      }
    }
    out += parts_.back();
  }

  std::size_t approximate_size() const {
    std::size_t n = 0;
    for (const auto& p : parts_) n += p.size();
    return n + 50;  // the three values
  }

 private:
  enum class Slot { id, created, customer };
  std::vector<std::string> parts_;
  std::vector<Slot> slots_;
};

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Shared {
  Shared(Options o, std::size_t size)
      : opt(std::move(o)), body(size), secrets{opt.secret},
        head("POST " + opt.path + " HTTP/1.1\r\nHost: " + opt.host +
             "\r\nContent-Type: application/json\r\nStripe-Signature: ") {}
  // Request `index` as sent: head, signature, length, body. `body_scratch` is reused storage.
  void build(long index, std::int64_t now, std::string& body_scratch, std::string& out) const {
    std::string id = opt.id_prefix + std::to_string(index);
    std::string customer = "cus_load" + std::to_string(index % opt.customers);
    body.render(body_scratch, id, now, customer);
    out = head;
    out += stripe_sync::sign_payload(body_scratch, secrets, now);
    out += "\r\nContent-Length: ";
    out += std::to_string(body_scratch.size());
    out += "\r\n\r\n";
    out += body_scratch;
  }
  Options opt;
  BodyTemplate body;
  std::vector<std::string> secrets;
  std::string head;
  std::vector<std::string> pool;  // --pool: the requests built before the run
  Clock::time_point start, stop;
  std::atomic<long> next{0};
  tcp::resolver::results_type endpoints;
  std::size_t body_bytes = 0;
};

// What one thread saw; merged at the end, so the hot path takes no lock.
struct Tally {
  std::vector<double> latencies_us;
  std::map<int, long> statuses;
  long errors = 0;
};

// Reads a response's status and framing and nothing else: Beast's parser with no field or body
// stored, so a response costs the client no allocation.
class StatusParser : public http::basic_parser<false> {
 public:
  int status = 0;

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int, beast::error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, beast::error_code&) override { status = code; }
  void on_field_impl(http::field, beast::string_view, beast::string_view, beast::error_code&) override {}
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, beast::error_code&) override { return body.size(); }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}
};

// One keep-alive connection. A request is written as one buffer (head and body built in place,
// reused from request to request); the response is framed by StatusParser. No per-operation
// timer: the run's watchdog (main) stops a server that hangs.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& ioc, Shared& s, Tally& t) : socket_(ioc), timer_(ioc), s_(s), t_(t) {
    body_.reserve(s.body.approximate_size() + 64);
    wire_.reserve(s.head.size() + s.body.approximate_size() + 256);
  }

  void start() { do_connect(); }

 private:
  void do_connect() {
    asio::async_connect(socket_, s_.endpoints, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
      if (ec) {
        ++self->t_.errors;
        return self->retry_connect();
      }
      self->socket_.set_option(tcp::no_delay(true));
      self->buffer_.clear();
      self->do_next();
    });
  }

  void retry_connect() {
    if (Clock::now() >= s_.stop) return;
    timer_.expires_after(std::chrono::milliseconds(50));
    timer_.async_wait([self = shared_from_this()](beast::error_code) {
      beast::error_code ignored;
      self->socket_.close(ignored);
      self->do_connect();
    });
  }

  void do_next() {
    long i = s_.next.fetch_add(1, std::memory_order_relaxed);
    if (s_.opt.requests > 0 && i >= s_.opt.requests) return;
    if (s_.opt.rate > 0) {
      scheduled_ = s_.start + std::chrono::nanoseconds(static_cast<long long>(static_cast<double>(i) * 1e9 / s_.opt.rate));
      if (scheduled_ >= s_.stop) return;
      index_ = i;
      if (scheduled_ > Clock::now()) {
        timer_.expires_at(scheduled_);
        return timer_.async_wait([self = shared_from_this()](beast::error_code) { self->do_send(); });
      }
    } else {
      scheduled_ = Clock::now();
      if (scheduled_ >= s_.stop) return;
      index_ = i;
    }
    do_send();
  }

  void do_send() {
    const std::string* wire = &wire_;
    if (!s_.pool.empty()) {
      wire = &s_.pool[static_cast<std::size_t>(index_ % static_cast<long>(s_.pool.size()))];
    } else {
      s_.build(index_, unix_now(), body_, wire_);
    }
    asio::async_write(socket_, asio::buffer(*wire), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->on_error();
      self->parser_.emplace();
      self->parser_->body_limit(1 << 20);
      http::async_read(self->socket_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec2, std::size_t) { self->on_read(ec2); });
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) return on_error();
    t_.latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - scheduled_).count());
    ++t_.statuses[parser_->status];
    if (!parser_->keep_alive()) {
      beast::error_code ignored;
      socket_.close(ignored);
      return do_connect();
    }
    do_next();
  }

  void on_error() {
    ++t_.errors;
    beast::error_code ignored;
    socket_.close(ignored);
    if (Clock::now() < s_.stop) do_connect();
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  Shared& s_;
  Tally& t_;
  std::string body_, wire_;
  beast::flat_buffer buffer_;
  std::optional<StatusParser> parser_;
  Clock::time_point scheduled_;
  long index_ = 0;
};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  try {
    opt = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "loadgen: " << e.what() << "\n";
    return 2;
  }
  Shared s(opt, opt.size);
  if (!opt.sample_body.empty()) {
    std::string body;
    s.body.render(body, opt.id_prefix + "0", unix_now(), "cus_load0");
    std::ofstream(opt.sample_body, std::ios::binary) << body;
    return 0;
  }
  {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    s.endpoints = resolver.resolve(opt.host, opt.port);
    std::string sample;
    s.body.render(sample, opt.id_prefix + "0", unix_now(), "cus_load0");
    s.body_bytes = sample.size();
    std::string scratch;
    const std::int64_t now = unix_now();  // the ingress accepts a signature for 5 minutes
    for (long i = 0; i < opt.pool; ++i) s.build(i, now, scratch, s.pool.emplace_back());
  }
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<Tally> tallies(static_cast<std::size_t>(opt.threads));
  for (int t = 0; t < opt.threads; ++t) contexts.push_back(std::make_unique<asio::io_context>(1));
  s.start = Clock::now();
  s.stop = s.start + std::chrono::microseconds(static_cast<long long>(opt.seconds * 1e6));
  for (int c = 0; c < opt.connections; ++c) {
    auto t = static_cast<std::size_t>(c % opt.threads);
    std::make_shared<Connection>(*contexts[t], s, tallies[t])->start();
  }
  // A server that stops answering cannot hang the run: 30 s after its end each loop returns
  // (what is still in flight then is not counted).
  std::vector<std::thread> threads;
  for (auto& ioc : contexts) threads.emplace_back([&ioc, &s] { ioc->run_until(s.stop + std::chrono::seconds(30)); });
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - s.start).count();

  Tally all;
  for (auto& t : tallies) {
    all.latencies_us.insert(all.latencies_us.end(), t.latencies_us.begin(), t.latencies_us.end());
    for (auto [k, v] : t.statuses) all.statuses[k] += v;
    all.errors += t.errors;
  }
  std::sort(all.latencies_us.begin(), all.latencies_us.end());
  const auto n = static_cast<double>(all.latencies_us.size());
  const long ok = all.statuses.count(200) ? all.statuses[200] : 0;

  // One JSON line, numbers in plain decimals (Boost.JSON would print 2.63 as 2.63E0).
  auto num = [](double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return std::string(buf);
  };
  std::string status;
  {
    stripe_sync::JsonObjectWriter w(status);
    for (auto [k, v] : all.statuses) w.field(std::to_string(k), static_cast<std::int64_t>(v));
    w.close();
  }
  std::string latency;
  {
    stripe_sync::JsonObjectWriter w(latency);
    w.raw_field("p50", num(percentile(all.latencies_us, 50) / 1000))
        .raw_field("p90", num(percentile(all.latencies_us, 90) / 1000))
        .raw_field("p99", num(percentile(all.latencies_us, 99) / 1000))
        .raw_field("p99.9", num(percentile(all.latencies_us, 99.9) / 1000))
        .raw_field("max", num(all.latencies_us.empty() ? 0 : all.latencies_us.back() / 1000));
    w.close();
  }
  std::string machine;
  {
    stripe_sync::JsonObjectWriter w(machine);
    w.field("cores", static_cast<std::int64_t>(std::thread::hardware_concurrency())).field("cpu", cpu_model());
    w.close();
  }
  std::string out;
  stripe_sync::JsonObjectWriter w(out);
  w.field("mode", opt.rate > 0 ? "open" : "closed")
      .raw_field("target_rate", num(opt.rate))
      .field("connections", static_cast<std::int64_t>(opt.connections))
      .field("threads", static_cast<std::int64_t>(opt.threads))
      .field("body_bytes", static_cast<std::int64_t>(s.body_bytes))
      .raw_field("seconds", num(elapsed))
      .field("requests", static_cast<std::int64_t>(all.latencies_us.size()))
      .raw_field("requests_per_s", num(n / elapsed))
      .raw_field("ok_per_s", num(static_cast<double>(ok) / elapsed))
      .raw_field("status", status)
      .field("errors", static_cast<std::int64_t>(all.errors))
      .raw_field("latency_ms", latency)
      .raw_field("machine", machine);
  w.close();
  std::cout << out << std::endl;
  return all.latencies_us.empty() ? 1 : 0;
}
