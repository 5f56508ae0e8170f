#include "common/core/json_writer.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace stripe_sync {
namespace {

std::string json_quoted(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json_quoted("line\nnext\ttab\r"), R"("line\nnext\ttab\r")");
  EXPECT_EQ(json_quoted(std::string("\x01\x1f\x7f", 3)), R"("\u0001\u001f\u007f")");
}

TEST(JsonWriter, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(json_quoted("caf\xc3\xa9 \xe2\x86\x92"), "\"caf\xc3\xa9 \xe2\x86\x92\"");
  EXPECT_EQ(json_quoted("bad\xff\xc3"), R"("bad\ufffd\ufffd")");
  EXPECT_EQ(json_quoted("\xc0\xaf"), R"("\ufffd\ufffd")");  // overlong '/'
  EXPECT_EQ(json_quoted("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // surrogate
}

TEST(JsonWriter, WritesAnObjectThatParsesBack) {
  std::string out;
  JsonObjectWriter w(out);
  w.field("s", "x\"y").field("n", std::int64_t{-42}).field("b", true).raw_field("o", R"({"k":1})");
  w.close();
  auto v = boost::json::parse(out);
  EXPECT_EQ(v.at("s").as_string(), "x\"y");
  EXPECT_EQ(v.at("n").as_int64(), -42);
  EXPECT_EQ(v.at("b").as_bool(), true);
  EXPECT_EQ(v.at("o").at("k").as_int64(), 1);
}

}  // namespace
}  // namespace stripe_sync
