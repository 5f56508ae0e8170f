#pragma once
// Stripe's webhook signature scheme, as stripe-node / stripe-python / stripe-go implement it:
//   Stripe-Signature: t=<unix seconds>,v1=<hex hmac>[,v1=<hex hmac>...][,v0=...]
//   v1 = lower-case hex HMAC-SHA256(key = whole secret incl. "whsec_", msg = t + "." + raw body)
// The event is authentic when ANY v1 matches ANY configured secret (Stripe signs with old and new
// secrets during a roll). Other schemes (v0) are ignored. Pure logic: no I/O, the clock is passed in.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stripe_sync {

enum class SignatureStatus {
  ok,
  missing_header,     // no header or an empty one
  malformed_header,   // no t, non-numeric t, two different t, a pair without '=', too long
  no_v1_signature,    // parsed, but carries no v1 value
  no_match,           // no v1 matches any secret
  timestamp_too_old,  // now - t > tolerance
  timestamp_in_future // t - now > tolerance (stricter than Stripe's libraries: see README)
};

std::string_view to_string(SignatureStatus s);

// Headers longer than this, or with more v1 values than kMaxSignatures, are malformed: a real
// header is ~80 bytes a signature and carries at most a handful during a secret roll.
inline constexpr std::size_t kMaxSignatureHeaderBytes = 4096;
inline constexpr std::size_t kMaxSignatures = 16;

struct SignatureHeader {
  std::int64_t timestamp = -1;
  std::string_view timestamp_text;         // exactly as sent: it is what was signed
  std::vector<std::string_view> v1;        // views into the header
};

// Returns the parsed header, or the reason it is unusable.
SignatureStatus parse_signature_header(std::string_view header, SignatureHeader& out);

// Lower-case hex HMAC-SHA256 of `timestamp_text + "." + body` keyed with `secret`.
std::string compute_signature(std::string_view secret, std::string_view timestamp_text,
                              std::string_view body);

// A Stripe-Signature header value ("t=...,v1=...") for `body`, signed with each secret given.
std::string sign_payload(std::string_view body, std::span<const std::string> secrets,
                         std::int64_t timestamp);

// Verifies with a fixed set of secrets. Keys are prepared once (OpenSSL MAC contexts), so a
// verification costs one context copy and one HMAC pass over the body per secret. Thread-safe:
// verify() only reads the prepared state.
class SignatureVerifier {
 public:
  // tolerance_s == 0 disables the timestamp check, as in Stripe's libraries.
  SignatureVerifier(std::vector<std::string> secrets, std::int64_t tolerance_s);
  ~SignatureVerifier();
  SignatureVerifier(const SignatureVerifier&) = delete;
  SignatureVerifier& operator=(const SignatureVerifier&) = delete;

  SignatureStatus verify(std::string_view header, std::string_view body, std::int64_t now_s) const;

 private:
  struct Keyed;
  std::vector<std::unique_ptr<Keyed>> keys_;
  std::int64_t tolerance_s_;
};

}  // namespace stripe_sync
