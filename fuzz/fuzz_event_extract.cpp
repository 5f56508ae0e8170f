// libFuzzer: from an event's raw JSON to a change record (what the worker applies), and the same
// bytes read as an API object snapshot. Properties: no crash; a record always names its event,
// key and object, and its stamp is created * 10 + rank with rank 1..3.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/billing/event_extract.hpp"

using namespace stripe_sync;

namespace {
void check(const ChangeRecord& r) {
  if (r.key.empty() || r.object_id.empty() || r.event_id.empty()) std::abort();
  if (r.rank < 1 || r.rank > 3 || r.stamp() != r.created * 10 + r.rank) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  ChangeRecord r;
  if (extract_change(json, r).status == ExtractStatus::record) check(r);
  ChangeRecord s;
  if (extract_snapshot(json, 1795500000, "sync_fuzz", "fuzz", s).status == ExtractStatus::record) check(s);
  return 0;
}
