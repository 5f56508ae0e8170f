#include "common/core/hex.hpp"

#include <gtest/gtest.h>

namespace stripe_sync {
namespace {

TEST(Hex, LowerCaseTwoDigitsPerByte) {
  const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(to_hex(bytes, sizeof bytes), "000fa5ff");
  EXPECT_EQ(to_hex(std::string_view("\x01\xAB", 2)), "01ab");
  EXPECT_EQ(to_hex(std::string_view()), "");
}

TEST(Hex, WritesInPlaceWithoutATerminator) {
  const unsigned char bytes[] = {0xde, 0xad};
  char out[6] = {'x', 'x', 'x', 'x', 'x', 'x'};
  write_hex(bytes, sizeof bytes, out);
  EXPECT_EQ(std::string_view(out, 6), "deadxx");
}

}  // namespace
}  // namespace stripe_sync
