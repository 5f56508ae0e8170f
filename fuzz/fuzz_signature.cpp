// libFuzzer: the Stripe-Signature header parser and the verifier. The input's first line is the
// header, the rest the body. Properties: nothing crashes; a header that parses has a timestamp
// and at most kMaxSignatures v1 values; a body signed by us with the same secret verifies.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/stripe/signature.hpp"

using namespace stripe_sync;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto nl = input.find('\n');
  std::string_view header = input.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  SignatureHeader parsed;
  if (parse_signature_header(header, parsed) == SignatureStatus::ok) {
    if (parsed.timestamp < 0 || parsed.v1.size() > kMaxSignatures) std::abort();
  }
  static const SignatureVerifier verifier({"whsec_fuzz", "whsec_fuzz_old"}, 300);
  SignatureStatus s = verifier.verify(header, body, 1795500000);
  if (s == SignatureStatus::ok && header.find("v1=") == std::string_view::npos) std::abort();

  const std::string secrets[] = {"whsec_fuzz"};
  std::string good = sign_payload(body, secrets, 1795500000);
  if (verifier.verify(good, body, 1795500000) != SignatureStatus::ok) std::abort();
  return 0;
}
