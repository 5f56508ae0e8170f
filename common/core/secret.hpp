#pragma once
// A secret setting (webhook secret, Stripe key, Redis password, HMAC key). It converts *to*
// nothing: the only way to its bytes is reveal(), at the one place that signs or authenticates
// with it, and log::Field has a deleted constructor for it, so putting a secret in a log line,
// an error body or a metric label does not compile.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stripe_sync {

class Secret {
 public:
  Secret() = default;
  Secret(std::string value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose (settings)
  Secret(const char* value) : value_(value) {}             // NOLINT
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  bool operator==(const Secret&) const = default;

 private:
  std::string value_;
};

// For the one consumer that needs several at once (the signature verifier's keys).
inline std::vector<std::string> reveal_all(const std::vector<Secret>& secrets) {
  std::vector<std::string> out;
  for (const auto& s : secrets) out.push_back(s.reveal());
  return out;
}

}  // namespace stripe_sync
