#include "common/stripe/signature.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <atomic>
#include <charconv>
#include <utility>
#include <vector>
#include <stdexcept>

#include "common/core/hex.hpp"

namespace stripe_sync {
namespace {

constexpr std::size_t kHexSignatureLen = 64;  // SHA-256 as lower-case hex

struct MacDeleter {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

EVP_MAC* hmac_algorithm() {
  // Fetched once per process; EVP_MAC objects are immutable and shareable across threads.
  static std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) throw std::runtime_error("OpenSSL has no HMAC implementation");
  return mac.get();
}

MacCtxPtr keyed_context(std::string_view secret) {
  MacCtxPtr ctx(EVP_MAC_CTX_new(hmac_algorithm()));
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (!ctx || EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                           secret.size(), params) != 1) {
    throw std::runtime_error("cannot initialise HMAC-SHA256");
  }
  return ctx;
}

// HMAC over timestamp "." body with `ctx`, a keyed context that EVP_MAC_init without a key
// restarts from the key it holds; writes 64 hex chars to `hex`.
bool hmac_hex(EVP_MAC_CTX* ctx, std::string_view timestamp_text, std::string_view body,
              char (&hex)[kHexSignatureLen]) {
  if (ctx == nullptr || EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1) return false;
  auto update = [&](std::string_view part) {
    return EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(part.data()), part.size()) == 1;
  };
  unsigned char mac[32];
  std::size_t mac_len = 0;
  if (!update(timestamp_text) || !update(".") || !update(body) ||
      EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) != 1 || mac_len != sizeof mac) {
    return false;
  }
  write_hex(mac, sizeof mac, hex);
  return true;
}

// Every keyed context a SignatureVerifier makes gets a number never used again, so a thread's
// copies below cannot be confused with those of a verifier destroyed at the same address.
std::atomic<std::uint64_t> next_key_id{1};

}  // namespace

std::string_view to_string(SignatureStatus s) {
  switch (s) {
    case SignatureStatus::ok: return "ok";
    case SignatureStatus::missing_header: return "no Stripe-Signature header was provided";
    case SignatureStatus::malformed_header:
      return "unable to extract timestamp and signatures from the Stripe-Signature header";
    case SignatureStatus::no_v1_signature: return "no signatures found with expected scheme v1";
    case SignatureStatus::no_match:
      return "no signatures found matching the expected signature for the payload";
    case SignatureStatus::timestamp_too_old: return "timestamp outside the tolerance zone";
    case SignatureStatus::timestamp_in_future:
      return "timestamp outside the tolerance zone (in the future)";
  }
  return "invalid signature";
}

SignatureStatus parse_signature_header(std::string_view header, SignatureHeader& out) {
  out = SignatureHeader{};
  if (header.empty()) return SignatureStatus::missing_header;
  if (header.size() > kMaxSignatureHeaderBytes) return SignatureStatus::malformed_header;
  while (true) {
    auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    auto eq = item.find('=');
    // Like stripe-go: a pair that does not split in two is a malformed header.
    if (eq == std::string_view::npos) return SignatureStatus::malformed_header;
    std::string_view key = item.substr(0, eq);
    std::string_view value = item.substr(eq + 1);
    if (key == "t") {
      std::int64_t t = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), t);
      if (value.empty() || value.front() == '-' || ec != std::errc{} ||
          end != value.data() + value.size()) {
        return SignatureStatus::malformed_header;
      }
      // Two different timestamps: which one was signed is ambiguous, so refuse.
      if (out.timestamp >= 0 && (t != out.timestamp || value != out.timestamp_text)) {
        return SignatureStatus::malformed_header;
      }
      out.timestamp = t;
      out.timestamp_text = value;
    } else if (key == "v1") {
      if (out.v1.size() == kMaxSignatures) return SignatureStatus::malformed_header;
      out.v1.push_back(value);
    }
    // Any other scheme (v0, future ones) is ignored, as Stripe's libraries do.
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  if (out.timestamp < 0) return SignatureStatus::malformed_header;
  if (out.v1.empty()) return SignatureStatus::no_v1_signature;
  return SignatureStatus::ok;
}

std::string compute_signature(std::string_view secret, std::string_view timestamp_text,
                              std::string_view body) {
  MacCtxPtr ctx = keyed_context(secret);
  char hex[kHexSignatureLen];
  if (!hmac_hex(ctx.get(), timestamp_text, body, hex)) throw std::runtime_error("HMAC failed");
  return std::string(hex, kHexSignatureLen);
}

std::string sign_payload(std::string_view body, std::span<const std::string> secrets,
                         std::int64_t timestamp) {
  std::string t = std::to_string(timestamp);
  std::string header = "t=" + t;
  for (const auto& secret : secrets) header += ",v1=" + compute_signature(secret, t, body);
  return header;
}

struct SignatureVerifier::Keyed {
  MacCtxPtr ctx;  // never used to sign: the template each thread copies once
  std::uint64_t id = next_key_id.fetch_add(1, std::memory_order_relaxed);
};

namespace {
// This thread's copy of a keyed context, made on first use. A context is not safe to share
// between threads, and copying one per message (EVP_MAC_CTX_dup) cost 11 allocations a webhook;
// a copy restarted with EVP_MAC_init costs none of that. A few verifiers at most live in a
// process (tests make more), so the cache keeps the last 16.
EVP_MAC_CTX* thread_context(std::uint64_t id, EVP_MAC_CTX* keyed) {
  thread_local std::vector<std::pair<std::uint64_t, MacCtxPtr>> copies;
  for (auto& [copy_id, ctx] : copies) {
    if (copy_id == id) return ctx.get();
  }
  MacCtxPtr copy(EVP_MAC_CTX_dup(keyed));
  if (!copy) return nullptr;
  if (copies.size() >= 16) copies.erase(copies.begin());
  copies.emplace_back(id, std::move(copy));
  return copies.back().second.get();
}
}  // namespace

SignatureVerifier::SignatureVerifier(std::vector<std::string> secrets, std::int64_t tolerance_s)
    : tolerance_s_(tolerance_s) {
  for (const auto& s : secrets) keys_.push_back(std::make_unique<Keyed>(Keyed{keyed_context(s)}));
}

SignatureVerifier::~SignatureVerifier() = default;

SignatureStatus SignatureVerifier::verify(std::string_view header, std::string_view body,
                                          std::int64_t now_s) const {
  SignatureHeader parsed;
  if (auto st = parse_signature_header(header, parsed); st != SignatureStatus::ok) return st;
  // The timestamp first (as stripe-go does): a replayed request costs no HMAC.
  if (tolerance_s_ > 0) {
    if (now_s - parsed.timestamp > tolerance_s_) return SignatureStatus::timestamp_too_old;
    if (parsed.timestamp - now_s > tolerance_s_) return SignatureStatus::timestamp_in_future;
  }
  char expected[kHexSignatureLen];
  for (const auto& key : keys_) {
    if (!hmac_hex(thread_context(key->id, key->ctx.get()), parsed.timestamp_text, body, expected)) continue;
    for (std::string_view candidate : parsed.v1) {
      // Lengths are public (always 64 for a real signature); the bytes are compared in
      // constant time so a forger learns nothing from timing.
      if (candidate.size() == kHexSignatureLen &&
          CRYPTO_memcmp(candidate.data(), expected, kHexSignatureLen) == 0) {
        return SignatureStatus::ok;
      }
    }
  }
  return SignatureStatus::no_match;
}

}  // namespace stripe_sync
