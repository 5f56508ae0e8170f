#pragma once
// Lower-case hex: digests, signatures, script SHAs, random ids, JSON escapes. The one definition.
#include <cstddef>
#include <string>
#include <string_view>

namespace stripe_sync {

inline constexpr char kHexDigits[] = "0123456789abcdef";

// Writes 2 * size characters to `out` (no terminator, no allocation: the signature hot path).
inline void write_hex(const unsigned char* data, std::size_t size, char* out) {
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kHexDigits[data[i] >> 4];
    out[2 * i + 1] = kHexDigits[data[i] & 15];
  }
}

inline std::string to_hex(const unsigned char* data, std::size_t size) {
  std::string out(size * 2, '\0');
  write_hex(data, size, out.data());
  return out;
}

inline std::string to_hex(std::string_view bytes) {
  return to_hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

}  // namespace stripe_sync
