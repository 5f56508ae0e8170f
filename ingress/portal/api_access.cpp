#include "ingress/portal/api_access.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "common/core/config.hpp"
#include "common/core/hex.hpp"

namespace stripe_sync::ingress {

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return to_hex(digest, sizeof digest);
}

std::vector<ApiKey> parse_api_keys(std::string_view text) {
  std::vector<ApiKey> out;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::istringstream fields(line);
    std::string hash, role, name;
    fields >> hash;
    if (hash.empty() || hash[0] == '#') continue;
    fields >> role >> name;
    bool hex = hash.size() == 64 && hash.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (!hex || (role != "app" && role != "admin") || name.empty()) {
      throw ConfigError("API_KEYS_FILE line " + std::to_string(number) +
                        ": expected '<sha256 hex, lower case> <app|admin> <name>'");
    }
    out.push_back({hash, role == "admin" ? Role::admin : Role::app, name});
  }
  return out;
}

std::vector<ApiKey> load_api_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("API_KEYS_FILE cannot be read: " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_api_keys(ss.str());
}

ApiKeys::ApiKeys(std::vector<ApiKey> keys) : keys_(std::move(keys)) {}

AccessResult ApiKeys::check(std::string_view authorization, Role needed, std::string* who) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() || authorization.substr(0, kBearer.size()) != kBearer) {
    return AccessResult::unauthorized;
  }
  const std::string presented = sha256_hex(authorization.substr(kBearer.size()));
  const ApiKey* match = nullptr;
  for (const auto& k : keys_) {
    // No early exit: every entry is compared whatever matched before.
    if (CRYPTO_memcmp(k.sha256_hex.data(), presented.data(), presented.size()) == 0) match = &k;
  }
  if (match == nullptr) return AccessResult::unauthorized;
  if (who) *who = match->name;
  if (needed == Role::admin && match->role != Role::admin) return AccessResult::forbidden;
  return AccessResult::allowed;
}

RateLimiter::RateLimiter(double rate_per_s, double burst, Clock clock, std::size_t sweep_above)
    : rate_(rate_per_s), burst_(burst), clock_(std::move(clock)), sweep_above_(sweep_above), next_sweep_(sweep_above) {}

std::size_t RateLimiter::size() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

void RateLimiter::sweep(std::chrono::steady_clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& kv) {
    double elapsed = std::chrono::duration<double>(now - kv.second.at).count();
    return kv.second.tokens + elapsed * rate_ >= burst_;  // refilled: as if never seen
  });
  // Sweep again only once as many names as survived have been added on top of the bound, so a
  // crowd of active names costs a sweep per sweep_above new names, not one per request.
  next_sweep_ = buckets_.size() + sweep_above_;
}

std::optional<std::chrono::milliseconds> RateLimiter::take(const std::string& name) {
  auto now = clock_();
  std::lock_guard lock(mutex_);
  if (buckets_.size() >= next_sweep_) sweep(now);
  auto [it, fresh] = buckets_.try_emplace(name, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.at = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  double wait_s = (1.0 - b.tokens) / rate_;
  return std::chrono::milliseconds(static_cast<long>(std::ceil(wait_s * 1000)));
}

}  // namespace stripe_sync::ingress
