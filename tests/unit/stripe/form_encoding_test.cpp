#include "common/stripe/form_encoding.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace stripe_sync {
namespace {

std::string encode(std::string_view json_text) {
  return form_encode(boost::json::parse(json_text).as_object());
}

TEST(FormEncoding, NestsObjectsWithBrackets) {
  EXPECT_EQ(encode(R"({"customer":"cus_1","flow_data":{"type":"payment_method_update"}})"),
            "customer=cus_1&flow_data[type]=payment_method_update");
}

TEST(FormEncoding, ArraysOfScalarsUseEmptyBrackets) {
  EXPECT_EQ(encode(R"({"features":{"customer_update":{"allowed_updates":["email","address"]}}})"),
            "features[customer_update][allowed_updates][]=email&features[customer_update][allowed_updates][]=address");
}

TEST(FormEncoding, ArraysOfObjectsUseIndices) {
  EXPECT_EQ(encode(R"({"items":[{"price":"p_1","quantity":2},{"price":"p_2"}]})"),
            "items[0][price]=p_1&items[0][quantity]=2&items[1][price]=p_2");
}

TEST(FormEncoding, ScalarsBooleansAndNull) {
  EXPECT_EQ(encode(R"({"a":true,"b":false,"c":12,"d":null,"e":-3})"), "a=true&b=false&c=12&d=&e=-3");
}

TEST(FormEncoding, PercentEncodesValues) {
  EXPECT_EQ(encode(R"({"return_url":"https://app.example.com/r?x=1&y=a b","name":"Zoë"})"),
            "return_url=https%3A%2F%2Fapp.example.com%2Fr%3Fx%3D1%26y%3Da%20b&name=Zo%C3%AB");
}

TEST(FormEncoding, DecodeIsTheInverse) {
  std::string body = encode(R"({"flow_data":{"after_completion":{"redirect":{"return_url":"https://a.b/c?d=e&f"}}},"expand":["x","y"]})");
  std::vector<std::pair<std::string, std::string>> pairs;
  ASSERT_TRUE(form_decode(body, pairs));
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].first, "flow_data[after_completion][redirect][return_url]");
  EXPECT_EQ(pairs[0].second, "https://a.b/c?d=e&f");
  EXPECT_EQ(pairs[1], (std::pair<std::string, std::string>{"expand[]", "x"}));
  EXPECT_EQ(pairs[2], (std::pair<std::string, std::string>{"expand[]", "y"}));
}

TEST(FormEncoding, DecodeRejectsBrokenEscapes) {
  std::vector<std::pair<std::string, std::string>> pairs;
  EXPECT_FALSE(form_decode("a=%4", pairs));
  EXPECT_FALSE(form_decode("a=%zz", pairs));
  EXPECT_TRUE(form_decode("a=%41+b", pairs));
  EXPECT_EQ(pairs[0].second, "A b");
}

}  // namespace
}  // namespace stripe_sync
