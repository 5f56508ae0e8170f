// The hostile input matrix: for every HTTP route, requests an attacker or a broken client sends,
// each with the status and error code it must get, and after each one the server must still
// answer /healthz. stripe-ingress runs in this process (portal on, against the stand-in Stripe,
// a real redis-server and librdkafka's mock cluster); requests go over real sockets as raw bytes,
// so malformed HTTP reaches the server exactly as written.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

#include "common/kafka/mock_cluster.hpp"
#include "common/stripe/signature.hpp"
#include "ingress/portal/api_access.hpp"
#include "common/http/client_address.hpp"
#include "ingress/ingress_app.hpp"
#include "tests/support/fake_stripe.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"

namespace stripe_sync {
namespace {

using namespace std::chrono_literals;
constexpr const char* kSecret = "whsec_hostile_matrix";
constexpr const char* kAppKey = "hostile_app_key";
constexpr const char* kAdminKey = "hostile_admin_key";
constexpr std::size_t kMaxBody = 64 * 1024;

// Reads until the peer closes or `deadline`; returns what arrived.
std::string read_all(int fd, std::chrono::milliseconds deadline) {
  std::string out;
  auto until = std::chrono::steady_clock::now() + deadline;
  char buf[65536];
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count());
    if (::poll(&p, 1, std::max(left, 1)) <= 0) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

struct Answer {
  int status = 0;  // 0: the server closed without an answer
  std::string error_code, raw;
};

Answer parse(const std::string& raw) {
  Answer a;
  a.raw = raw;
  // "HTTP/1.x NNN" at the very start (no <regex>: GCC 12 warns inside it at -O1, under -Werror).
  if (raw.size() >= 12 && (raw.starts_with("HTTP/1.0 ") || raw.starts_with("HTTP/1.1 ")) &&
      std::isdigit(static_cast<unsigned char>(raw[9])) && std::isdigit(static_cast<unsigned char>(raw[10])) &&
      std::isdigit(static_cast<unsigned char>(raw[11]))) {
    a.status = std::stoi(raw.substr(9, 3));
  }
  const std::string key = "\"error_code\":\"";
  if (std::size_t at = raw.find(key); at != std::string::npos) {
    std::size_t from = at + key.size(), to = from;
    while (to < raw.size() && (std::isupper(static_cast<unsigned char>(raw[to])) || raw[to] == '_')) ++to;
    if (to > from && to < raw.size() && raw[to] == '"') a.error_code = raw.substr(from, to - from);
  }
  return a;
}

// Sends `bytes` (all at once) on a fresh connection and reads the answer until the server closes.
Answer roundtrip(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds deadline = 10s) {
  int fd = test::connect_loopback(port);
  if (fd < 0) return {};
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early (413); what it answered is still readable
    sent += static_cast<std::size_t>(n);
  }
  Answer a = parse(read_all(fd, deadline));
  ::close(fd);
  return a;
}

std::string request(const std::string& method, const std::string& target, const std::string& body,
                    const std::vector<std::string>& headers) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: ingress\r\nConnection: close\r\n";
  for (const auto& h : headers) r += h + "\r\n";
  if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

std::string webhook(const std::string& body, const std::string& signature,
                    const std::string& content_type = "application/json", std::vector<std::string> extra = {}) {
  extra.push_back("Content-Type: " + content_type);
  extra.push_back("Stripe-Signature: " + signature);
  return request("POST", "/webhooks/stripe", body, extra);
}

std::string sign_at(const std::string& body, std::int64_t t) {
  std::vector<std::string> s{kSecret};
  return sign_payload(body, s, t);
}

std::string event(const std::string& id = "evt_hostile") {
  return test::with_event_id(test::read_fixture("events/customer.updated.json"), id);
}

struct Row {
  std::string name;
  std::function<Answer()> send;
  int status;
  std::string error_code;  // empty: no error body expected (a 200)
};

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<MockKafkaCluster>(1);
    cluster_->create_topic("stripe.events", 2);
    redis_ = std::make_unique<test::RedisServer>();
    stripe_ = std::make_unique<test::FakeStripe>([](const test::FakeRequest&) {
      return test::FakeResponse{404, test::stripe_error_body("invalid_request_error", "No such resource")};
    });
    keys_file_ = ::testing::TempDir() + "hostile_api_keys";
    std::ofstream(keys_file_) << ingress::sha256_hex(kAppKey) << " app web\n"
                              << ingress::sha256_hex(kAdminKey) << " admin ops\n";
  }

  void start(std::function<void(ingress::IngressConfig&)> tweak = {}) {
    ingress::IngressConfig c;
    c.webhook_secrets = {kSecret};
    c.kafka_brokers = cluster_->bootstrap_servers();
    c.listen_host = "127.0.0.1";
    c.listen_port = 0;
    c.threads = 1;  // one I/O thread: sessions on the io_context itself, not on strands (HttpServerConfig::one_thread)
    c.max_body_bytes = kMaxBody;
    c.header_timeout = 2s;
    c.body_timeout = 2s;
    c.max_connections = 12000;
    c.produce_timeout = 5s;
    c.redis_url = redis_->url();
    c.portal.stripe_api_key = "sk_test_hostile";
    c.portal.stripe_api_base = stripe_->base_url();
    c.portal.api_keys_file = keys_file_;
    c.portal.return_secret = "hostile_return_secret";
    c.portal.rate_per_s = 1000;
    if (tweak) tweak(c);
    app_ = std::make_unique<ingress::IngressApp>(c);
    app_->start();
    port_ = app_->endpoint().port();
    ASSERT_TRUE(test::eventually([&] { return roundtrip(port_, request("GET", "/readyz", "", {})).status == 200; }, 30s));
  }

  // Runs every row; each must get its status and error code, and /healthz must answer after it.
  void run(const std::vector<Row>& rows) {
    for (const auto& row : rows) {
      SCOPED_TRACE(row.name);
      Answer a = row.send();
      EXPECT_EQ(a.status, row.status) << row.name << "\n" << a.raw.substr(0, 600);
      EXPECT_EQ(a.error_code, row.error_code) << row.name << "\n" << a.raw.substr(0, 600);
      EXPECT_EQ(roundtrip(port_, request("GET", "/healthz", "", {})).status, 200) << "after " << row.name;
      ++rows_run_;
    }
  }

  std::unique_ptr<MockKafkaCluster> cluster_;
  std::unique_ptr<test::RedisServer> redis_;
  std::unique_ptr<test::FakeStripe> stripe_;
  std::unique_ptr<ingress::IngressApp> app_;
  std::string keys_file_;
  std::uint16_t port_ = 0;
  int rows_run_ = 0;
};

TEST_F(HostileInput, EveryRouteAnswersHostileRequestsAndKeepsServing) {
  start();
  const std::int64_t now = test::unix_now();
  const std::string body = event();
  std::string deep(10000, '[');
  deep += std::string(10000, ']');
  std::string deep_event = R"({"id":"evt_deep","object":"event","type":"customer.updated","created":1795500000,"data":{"object":)" +
                           deep + "}}";
  std::string padded_to_limit = body;
  padded_to_limit.append(kMaxBody - body.size(), ' ');
  std::string over_limit = padded_to_limit + " ";
  const std::string bad_utf8 = R"({"id":"evt_utf8","object":"event","type":"customer.updated","created":1795500000,"data":{"object":{"id":"cus_1","object":"customer","email":")" +
                               std::string("\xC3\x28\xFF") + R"("}}})";
  const std::string huge_number = R"({"id":"evt_num","object":"event","type":"customer.updated","created":1e400,"data":{"object":{"id":"cus_1","object":"customer"}}})";
  const std::string duplicate_keys = R"({"id":"evt_first","id":"evt_second","object":"event","type":"customer.updated","created":1795500000,"data":{"object":{"id":"cus_1","object":"customer"}}})";
  auto bearer = [](const char* key) { return std::string("Authorization: Bearer ") + key; };
  auto chunked = [&](const std::string& b, std::size_t piece) {
    std::string r = "POST /webhooks/stripe HTTP/1.1\r\nHost: ingress\r\nConnection: close\r\nContent-Type: application/json\r\n"
                    "Stripe-Signature: " + sign_at(b, now) + "\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (std::size_t i = 0; i < b.size(); i += piece) {
      std::string part = b.substr(i, piece);
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", part.size());
      r += size + part + "\r\n";
    }
    return r + "0\r\n\r\n";
  };

  std::vector<Row> rows = {
      // Signatures
      {"signed with another secret", [&] { std::vector<std::string> s{"whsec_other"}; return roundtrip(port_, webhook(body, sign_payload(body, s, now))); }, 400, "INVALID_SIGNATURE"},
      {"valid signature, body changed by one byte", [&] { std::string b = body; b[10] ^= 1; return roundtrip(port_, webhook(b, sign_at(body, now))); }, 400, "INVALID_SIGNATURE"},
      // The clock is read when the row is sent, and the accepted one keeps a second from the
      // edge, so a second boundary between signing and checking cannot flip them. The exact
      // edge (300 s in, 301 s out) is pinned with a fixed clock in signature_test.cpp.
      {"replayed: timestamp 302 s old", [&] { return roundtrip(port_, webhook(body, sign_at(body, test::unix_now() - 302))); }, 400, "INVALID_SIGNATURE"},
      {"timestamp 299 s old, inside the tolerance", [&] { return roundtrip(port_, webhook(body, sign_at(body, test::unix_now() - 299))); }, 200, ""},
      {"timestamp 302 s in the future", [&] { return roundtrip(port_, webhook(body, sign_at(body, test::unix_now() + 302))); }, 400, "INVALID_SIGNATURE"},
      {"no Stripe-Signature", [&] { return roundtrip(port_, request("POST", "/webhooks/stripe", body, {"Content-Type: application/json"})); }, 400, "INVALID_SIGNATURE"},
      {"signature header of 5,000 bytes", [&] { return roundtrip(port_, webhook(body, sign_at(body, now) + ",v0=" + std::string(5000, 'a'))); }, 400, "INVALID_SIGNATURE"},
      {"upper-case hex v1", [&] { std::string s = sign_at(body, now); for (auto& ch : s) ch = static_cast<char>(std::toupper(ch)); return roundtrip(port_, webhook(body, "t" + s.substr(1))); }, 400, "INVALID_SIGNATURE"},
      // Header injection and malformed HTTP
      {"CR inside a header value (injection)", [&] { return roundtrip(port_, webhook(body, sign_at(body, now) + "\rX-Injected: 1")); }, 400, "BAD_REQUEST"},
      {"LF-only line ends with a folded header", [&] { return roundtrip(port_, "POST /webhooks/stripe HTTP/1.1\nHost: x\n X-Folded: 1\n\n"); }, 400, "BAD_REQUEST"},
      {"two Content-Length values", [&] { return roundtrip(port_, "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"); }, 400, "BAD_REQUEST"},
      {"Content-Length and chunked together", [&] { return roundtrip(port_, "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"); }, 400, "BAD_REQUEST"},
      {"header block over 16 KiB", [&] { return roundtrip(port_, request("GET", "/healthz", "", {"X-Big: " + std::string(17000, 'a')})); }, 400, "BAD_REQUEST"},
      {"not HTTP at all", [&] { return roundtrip(port_, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n"); }, 400, "BAD_REQUEST"},
      // Bodies
      {"body exactly at the limit", [&] { return roundtrip(port_, webhook(padded_to_limit, sign_at(padded_to_limit, now))); }, 200, ""},
      {"body one byte over the limit", [&] { return roundtrip(port_, webhook(over_limit, sign_at(over_limit, now))); }, 413, "PAYLOAD_TOO_LARGE"},
      {"Content-Length of 10 GB", [&] { return roundtrip(port_, "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{"); }, 413, "PAYLOAD_TOO_LARGE"},
      {"chunked body, signed", [&] { return roundtrip(port_, chunked(body, 100)); }, 200, ""},
      {"chunked body over the limit", [&] { return roundtrip(port_, chunked(over_limit, 4096)); }, 413, "PAYLOAD_TOO_LARGE"},
      {"bad UTF-8 in a string, signed", [&] { return roundtrip(port_, webhook(bad_utf8, sign_at(bad_utf8, now))); }, 400, "INVALID_EVENT"},
      {"JSON nested 10,000 deep, signed", [&] { return roundtrip(port_, webhook(deep_event, sign_at(deep_event, now))); }, 400, "INVALID_EVENT"},
      {"created = 1e400, signed", [&] { return roundtrip(port_, webhook(huge_number, sign_at(huge_number, now))); }, 400, "INVALID_EVENT"},
      {"duplicate keys (parsers differ on which counts), signed", [&] { return roundtrip(port_, webhook(duplicate_keys, sign_at(duplicate_keys, now))); }, 400, "INVALID_EVENT"},
      {"empty body, signed", [&] { return roundtrip(port_, webhook("", sign_at("", now))); }, 400, "INVALID_EVENT"},
      {"a JSON array, signed", [&] { return roundtrip(port_, webhook("[1,2]", sign_at("[1,2]", now))); }, 400, "INVALID_EVENT"},
      // Content types and methods
      {"Content-Type text/plain", [&] { return roundtrip(port_, webhook(body, sign_at(body, now), "text/plain")); }, 400, "BAD_REQUEST"},
      {"Content-Type application/x-www-form-urlencoded", [&] { return roundtrip(port_, webhook(body, sign_at(body, now), "application/x-www-form-urlencoded")); }, 400, "BAD_REQUEST"},
      {"GET on the webhook", [&] { return roundtrip(port_, request("GET", "/webhooks/stripe", "", {})); }, 405, "METHOD_NOT_ALLOWED"},
      {"PUT on the webhook alias", [&] { return roundtrip(port_, request("PUT", "/api/payment/portal/webhook", "{}", {})); }, 405, "METHOD_NOT_ALLOWED"},
      {"POST on /healthz", [&] { return roundtrip(port_, request("POST", "/healthz", "", {})); }, 405, "METHOD_NOT_ALLOWED"},
      {"DELETE on /metrics", [&] { return roundtrip(port_, request("DELETE", "/metrics", "", {})); }, 405, "METHOD_NOT_ALLOWED"},
      {"GET on the session route", [&] { return roundtrip(port_, request("GET", "/api/payment/portal/session", "", {bearer(kAppKey)})); }, 405, "METHOD_NOT_ALLOWED"},
      {"unknown route", [&] { return roundtrip(port_, request("GET", "/admin", "", {})); }, 404, "NOT_FOUND"},
      // Portal routes: keys, query strings, identifiers
      {"session without a key", [&] { return roundtrip(port_, request("POST", "/api/payment/portal/session", "{}", {"Content-Type: application/json"})); }, 401, "UNAUTHORIZED"},
      {"session with the key's hash as the key", [&] { return roundtrip(port_, request("POST", "/api/payment/portal/session", "{}", {"Authorization: Bearer " + ingress::sha256_hex(kAppKey)})); }, 401, "UNAUTHORIZED"},
      {"session with a body that is not JSON", [&] { return roundtrip(port_, request("POST", "/api/payment/portal/session", "{\"customer_id\":", {bearer(kAppKey)})); }, 400, "BAD_REQUEST"},
      {"session for a customer neither here nor at Stripe", [&] { return roundtrip(port_, request("POST", "/api/payment/portal/session", R"({"customer_id":"cus_nobody","workflow_type":"billing_review"})", {bearer(kAppKey)})); }, 404, "CUSTOMER_NOT_FOUND"},
      {"session with an open-redirect return_url", [&] { return roundtrip(port_, request("POST", "/api/payment/portal/session", R"({"customer_id":"cus_1","workflow_type":"billing_review","return_url":"https://evil.example/x"})", {bearer(kAppKey)})); }, 400, "BAD_REQUEST"},
      {"analytics with an app key", [&] { return roundtrip(port_, request("GET", "/api/payment/portal/analytics?start_date=2026-01-01&end_date=2026-01-31", "", {bearer(kAppKey)})); }, 403, "FORBIDDEN"},
      {"analytics: encoded & and = inside one value", [&] { return roundtrip(port_, request("GET", "/api/payment/portal/analytics?start_date=2026-01-01%26end_date%3D2026-01-31", "", {bearer(kAdminKey)})); }, 400, "BAD_REQUEST"},
      {"analytics: a broken percent escape", [&] { return roundtrip(port_, request("GET", "/api/payment/portal/analytics?start_date=%ZZ", "", {bearer(kAdminKey)})); }, 400, "BAD_REQUEST"},
      {"return: encoded separators smuggle a customer", [&] { return roundtrip(port_, request("GET", "/api/payment/portal/return?session_id=ps_1%26customer_id%3Dcus_2&customer_id=cus_1&action=x&sig=00", "", {bearer(kAppKey)})); }, 400, "INVALID_SESSION"},
      {"configuration id with encoded traversal", [&] { return roundtrip(port_, request("POST", "/api/payment/portal/configuration/..%2F..%2Fetc%2Fpasswd", "{}", {bearer(kAdminKey)})); }, 400, "BAD_REQUEST"},
      {"configuration id with raw traversal (names no route)", [&] { return roundtrip(port_, request("POST", "/api/payment/portal/configuration/../../etc/passwd", "{}", {bearer(kAdminKey)})); }, 404, "NOT_FOUND"},
      {"configuration id that is not bpc_", [&] { return roundtrip(port_, request("POST", "/api/payment/portal/configuration/cus_1", "{}", {bearer(kAdminKey)})); }, 400, "BAD_REQUEST"},
      {"customer update with path traversal in the id", [&] { return roundtrip(port_, request("POST", "/api/payment/customers/..%2Fcus_1", "{}", {bearer(kAppKey)})); }, 400, "BAD_REQUEST"},
  };
  run(rows);
  EXPECT_EQ(rows_run_, static_cast<int>(rows.size()));
}

TEST_F(HostileInput, SourceAllowlistIgnoresForgedForwardedFor) {
  start([](ingress::IngressConfig& c) { c.allowed_cidrs = {*parse_cidr("3.18.12.63")}; });
  const std::string body = event();
  const std::string sig = sign_at(body, test::unix_now());
  run({
      {"source outside WEBHOOK_ALLOWED_CIDRS", [&] { return roundtrip(port_, webhook(body, sig)); }, 403, "FORBIDDEN"},
      {"forged X-Forwarded-For from an untrusted peer",
       [&] { return roundtrip(port_, webhook(body, sig, "application/json", {"X-Forwarded-For: 3.18.12.63"})); }, 403, "FORBIDDEN"},
      {"forged X-Real-IP / Forwarded from an untrusted peer",
       [&] { return roundtrip(port_, webhook(body, sig, "application/json", {"X-Real-IP: 3.18.12.63", "Forwarded: for=3.18.12.63"})); }, 403, "FORBIDDEN"},
  });
}

TEST_F(HostileInput, ASlowClientLosesItsConnectionAndOthersAreServed) {
  start();
  int fd = test::connect_loopback(port_);
  ASSERT_GE(fd, 0);
  const std::string head = "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\n";
  auto started = std::chrono::steady_clock::now();
  bool closed = false;
  // One byte a second: the header deadline (2 s here) ends it, whatever the bytes.
  for (std::size_t i = 0; i < head.size() && !closed; ++i) {
    if (::send(fd, &head[i], 1, MSG_NOSIGNAL) != 1) closed = true;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) > 0) {
      char c;
      closed = ::read(fd, &c, 1) <= 0;
    }
    EXPECT_EQ(roundtrip(port_, request("GET", "/healthz", "", {})).status, 200) << "while a client trickles";
  }
  ::close(fd);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(closed) << "the server kept a trickling client";
  EXPECT_LT(took, 6s);
}

TEST_F(HostileInput, TenThousandIdleConnectionsDoNotStopTheServer) {
  start([](ingress::IngressConfig& c) { c.header_timeout = 30s; });
  // Another process holds the connections (this one's descriptors are the server's).
  const std::string script =
      "import socket,sys\n"
      "socks=[]\n"
      "for i in range(10000):\n"
      "  s=socket.socket(); s.connect(('127.0.0.1'," + std::to_string(port_) + ")); socks.append(s)\n"
      "print('open',len(socks),flush=True)\n"
      "sys.stdin.read()\n";
  test::ChildProcess holder({"/usr/bin/python3", "-c", script});
  auto line = holder.read_line(120s);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(*line, "open 10000");
  ASSERT_TRUE(test::eventually([&] {
    return app_->metrics_text().find("stripe_ingress_open_connections 10000") != std::string::npos;
  }, 30s)) << app_->metrics_text();
  // Still serving: health, and a webhook end to end.
  EXPECT_EQ(roundtrip(port_, request("GET", "/healthz", "", {})).status, 200);
  const std::string body = event("evt_during_idle");
  EXPECT_EQ(roundtrip(port_, webhook(body, sign_at(body, test::unix_now()))).status, 200);
  holder.close_stdin();
  holder.wait(30s);
  EXPECT_TRUE(test::eventually([&] {
    return app_->metrics_text().find("stripe_ingress_open_connections 0") != std::string::npos;
  }, 30s));
}

}  // namespace
}  // namespace stripe_sync
