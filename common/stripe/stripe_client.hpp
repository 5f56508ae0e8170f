#pragma once
// Stripe's HTTP API. StripeApi is the seam (handlers and the worker depend on it); StripeClient
// is the real one: Beast over OpenSSL (peer verification, SNI) or plain http:// for tests,
// keep-alive connections, a deadline per attempt, Stripe-Version pinned, an Idempotency-Key on
// every POST kept across its retries, jittered exponential backoff on connection errors, 409, 429
// and 5xx, honouring Stripe-Should-Retry and Retry-After.
//
// Calls block the calling thread: make them from a pool of their own, never from an I/O thread.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/core/secret.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace stripe_sync {

namespace metrics {
class Registry;
}

// The API version of the Stripe reference data the project is built against (stripe-node
// 23.1.0), pinned on every request.
inline constexpr std::string_view kStripeApiVersion = "2026-10-28.endive";

enum class StripeError {
  none,
  unreachable,      // no answer after the retries (connection, TLS, timeout) or 5xx every time
  rate_limited,     // 429 after the retries
  invalid_request,  // 400 (and other 4xx not below): our request was wrong
  not_found,        // 404
  authentication,   // 401 / 403: the API key is wrong or lacks permission
  card,             // 402
  conflict,         // 409 after the retries
  bad_answer,       // after the retries, an answer that is not Stripe's API: a 2xx body that is
                    // not a JSON object (a proxy's HTML page, empty, cut), larger than
                    // max_response_bytes, or a list that is not a list
};

std::string_view to_string(StripeError e);

struct StripeResult {
  StripeError error = StripeError::none;
  int status = 0;               // last HTTP status, 0 when no answer
  std::string body;             // the JSON answer (on success the object or list)
  std::string message;          // Stripe's error.message, or what went wrong; never a secret
  std::string code;             // Stripe's error.code / error.type
  std::int64_t date_unix = 0;   // the Date header of the answer: Stripe's clock, for stamps
  std::string request_id;       // Request-Id, for support tickets
  int attempts = 0;
  bool ok() const { return error == StripeError::none; }
};

class StripeApi {
 public:
  virtual ~StripeApi() = default;
  // `path` like "/v1/customers/cus_1"; `query` form-encoded into the URL. `stripe_context`
  // (a thin event's context: "acct_..." for a connected account) goes out as Stripe-Context.
  virtual StripeResult get(std::string_view path, const boost::json::object& query = {},
                           std::string_view stripe_context = {}) = 0;
  // An empty `idempotency_key` gets a fresh random one; either way it is kept across retries.
  virtual StripeResult post(std::string_view path, const boost::json::object& params,
                            std::string idempotency_key = {}) = 0;
};

struct StripeClientConfig {
  std::string api_base = "https://api.stripe.com";  // http://127.0.0.1:port for tests
  Secret api_key;                                     // sk_...
  std::string ca_file;                                // extra trust anchor; system store always
  std::chrono::milliseconds timeout{10000};           // per attempt
  int max_retries = 3;
  std::chrono::milliseconds backoff_base{250};
  std::chrono::milliseconds backoff_max{5000};
  std::size_t max_idle_connections = 4;
  // STRIPE_MAX_RESPONSE_BYTES: a larger answer is a failed attempt.
  std::size_t max_response_bytes = 16 << 20;
  // When set, every attempt is counted in stripe_api_requests_total{method,code} (code "none"
  // when no answer came) and timed in stripe_api_request_seconds{method}.
  metrics::Registry* metrics = nullptr;
};

class StripeClient final : public StripeApi {
 public:
  // Throws ConfigError for a malformed api_base.
  explicit StripeClient(StripeClientConfig config);
  ~StripeClient() override;
  StripeResult get(std::string_view path, const boost::json::object& query = {},
                   std::string_view stripe_context = {}) override;
  StripeResult post(std::string_view path, const boost::json::object& params,
                    std::string idempotency_key = {}) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// GET of a list (limit 100), following has_more and appending every item to `out`. The result
// is the last page's (its Date is the snapshot's time); a body that is not a list is an error.
// `stripe_context`: as for StripeApi::get (a connected account's objects).
StripeResult stripe_list_all(StripeApi& stripe, const std::string& path, boost::json::object query,
                             boost::json::array& out, std::string_view stripe_context = {});

// A random UUID v4 (OpenSSL's CSPRNG), for Idempotency-Key.
std::string random_uuid();

}  // namespace stripe_sync
