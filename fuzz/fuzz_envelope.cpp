// libFuzzer: the simdjson on-demand envelope reader, in place (padded buffer) and from a copy.
// Property: both paths agree on the status and on every field.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/billing/envelope.hpp"

using namespace stripe_sync;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string padded(reinterpret_cast<const char*>(data), size);
  padded.reserve(size + kJsonPadding);
  Envelope a, b;
  EnvelopeResult ra = read_envelope(padded, padded.capacity(), a);
  std::string exact(reinterpret_cast<const char*>(data), size);
  exact.shrink_to_fit();
  EnvelopeResult rb = read_envelope(std::string_view(exact.data(), exact.size()), b);
  if (ra.status != rb.status) std::abort();
  if (ra && (a.id != b.id || a.type != b.type || a.created != b.created || a.customer != b.customer ||
             a.object_id != b.object_id || a.partition_key() != b.partition_key())) {
    std::abort();
  }
  return 0;
}
