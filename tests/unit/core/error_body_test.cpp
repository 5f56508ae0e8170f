#include "common/core/error_body.hpp"

#include <gtest/gtest.h>

#include <type_traits>

#include <boost/json/parse.hpp>

#include "common/core/log.hpp"

namespace stripe_sync {
namespace {

TEST(ErrorBody, HasTheDesignedShape) {
  auto v = boost::json::parse(error_body(ErrorCode::invalid_signature, "bad \"sig\"", 1795500000123));
  EXPECT_EQ(v.at("success").as_bool(), false);
  EXPECT_EQ(v.at("error").as_string(), "bad \"sig\"");
  EXPECT_EQ(v.at("error_code").as_string(), "INVALID_SIGNATURE");
  EXPECT_EQ(v.at("timestamp").as_string(), "2026-11-24T06:00:00.123Z");
}

TEST(ErrorBody, MapsCodesToStatuses) {
  EXPECT_EQ(http_status(ErrorCode::invalid_signature), 400u);
  EXPECT_EQ(http_status(ErrorCode::invalid_event), 400u);
  EXPECT_EQ(http_status(ErrorCode::payload_too_large), 413u);
  EXPECT_EQ(http_status(ErrorCode::method_not_allowed), 405u);
  EXPECT_EQ(http_status(ErrorCode::upstream_unavailable), 503u);
  EXPECT_EQ(http_status(ErrorCode::sync_failed), 502u);
  EXPECT_EQ(to_string(ErrorCode::upstream_unavailable), "UPSTREAM_UNAVAILABLE");
  EXPECT_EQ(to_string(ErrorCode::configuration_invalid), "CONFIGURATION_INVALID");
}

TEST(Log, JsonRecordIsOneLineWithItsFields) {
  std::string line = log::format_record(log::Format::json, log::Level::warn, 1795500000000,
                                        "stripe-ingress", "broker\ndown",
                                        {{"event_id", "evt_1"}, {"partition", 3}});
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto v = boost::json::parse(line);
  EXPECT_EQ(v.at("level").as_string(), "warn");
  EXPECT_EQ(v.at("msg").as_string(), "broker\ndown");
  EXPECT_EQ(v.at("event_id").as_string(), "evt_1");
  EXPECT_EQ(v.at("partition").as_int64(), 3);
  EXPECT_EQ(v.at("time").as_string(), "2026-11-24T06:00:00.000Z");
}

// Secrets are redacted by construction: a log field cannot be made from one, and nothing turns
// one into a string implicitly (so neither an error body nor a metric label can take it).
static_assert(!std::is_constructible_v<log::Field, std::string_view, const Secret&>);
static_assert(!std::is_convertible_v<Secret, std::string_view>);
static_assert(!std::is_convertible_v<Secret, std::string>);

TEST(Log, SecretSettingsOnlyYieldTheirValueWhenAskedByName) {
  Secret s = std::string("whsec_abc");
  EXPECT_EQ(s.reveal(), "whsec_abc");
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(reveal_all({Secret("a"), Secret("b")}), (std::vector<std::string>{"a", "b"}));
}

TEST(Log, TextRecordQuotesValues) {
  std::string line = log::format_record(log::Format::text, log::Level::info, 0, "p", "m",
                                        {{"customer", "cus 1\n"}});
  EXPECT_EQ(line, "1970-01-01T00:00:00.000Z info p: m customer=\"cus 1\\n\"\n");
}

}  // namespace
}  // namespace stripe_sync
