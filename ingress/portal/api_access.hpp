#pragma once
// Who may call the portal API. API_KEYS_FILE holds one key a line as
//   <sha256 hex of the key> <role> <name>
// (the keys themselves are never stored). Role `app` may create sessions, handle returns and push
// customer updates; `admin` may also manage configurations and read analytics. Every key and
// every client address has a token bucket. Pure logic with an injected clock; no I/O but the
// file read at start-up.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stripe_sync::ingress {

enum class Role { app, admin };

struct ApiKey {
  std::string sha256_hex;  // lower-case
  Role role = Role::app;
  std::string name;        // for logs and metrics; never the key
};

// Parses the file's text; throws ConfigError naming the line for a malformed one. Blank lines
// and lines starting with '#' are skipped.
std::vector<ApiKey> parse_api_keys(std::string_view text);
std::vector<ApiKey> load_api_keys(const std::string& path);

std::string sha256_hex(std::string_view data);

enum class AccessResult { allowed, unauthorized, forbidden };

class ApiKeys {
 public:
  explicit ApiKeys(std::vector<ApiKey> keys);
  // `authorization` is the header value ("Bearer <key>"). On success `who` is the key's name.
  // Every configured key is compared (in constant time), so timing says nothing about which
  // or whether one matched.
  AccessResult check(std::string_view authorization, Role needed, std::string* who = nullptr) const;

 private:
  std::vector<ApiKey> keys_;
};

// A token bucket per name: `rate` tokens a second up to `burst`. Thread-safe. Bounded: once
// more than `sweep_above` names are held, buckets that have refilled (the same as no bucket) are
// dropped, so a stream of client addresses cannot grow it without end.
class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  RateLimiter(double rate_per_s, double burst, Clock clock = [] { return std::chrono::steady_clock::now(); },
              std::size_t sweep_above = 10000);
  // Takes a token; when none is left returns the wait until the next one.
  std::optional<std::chrono::milliseconds> take(const std::string& name);
  std::size_t size() const;  // names held now

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  void sweep(std::chrono::steady_clock::time_point now);  // holds mutex_
  double rate_, burst_;
  Clock clock_;
  std::size_t sweep_above_;
  std::size_t next_sweep_;  // size at which the next sweep runs
  mutable std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace stripe_sync::ingress
