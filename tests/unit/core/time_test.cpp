#include "common/core/time.hpp"

#include <gtest/gtest.h>

namespace stripe_sync {
namespace {

TEST(Time, ParsesStripesHttpDate) {
  EXPECT_EQ(parse_http_date("Tue, 24 Nov 2026 06:00:00 GMT"), 1795500000);
  EXPECT_EQ(parse_http_date("yesterday"), 0);
  EXPECT_EQ(parse_http_date("Tue, 24 Nov 2026 06:00:00 GMT trailing"), 0);
  EXPECT_EQ(parse_http_date(""), 0);
}

TEST(Time, ParsesADayAsItsMidnightUtc) {
  EXPECT_EQ(parse_utc_day("2026-11-24"), 1795478400);
  EXPECT_FALSE(parse_utc_day("2026-11-24T00:00:00Z"));
  EXPECT_FALSE(parse_utc_day("24/11/2026"));
  EXPECT_FALSE(parse_utc_day(""));
}

TEST(Time, ParsesATimeWithOrWithoutItsZ) {
  EXPECT_EQ(parse_utc_time("2026-11-24T06:00:00Z"), 1795500000);
  EXPECT_EQ(parse_utc_time("2026-11-24T06:00:00"), 1795500000);
  EXPECT_EQ(parse_utc_time("2026-11-24"), 1795478400);
  EXPECT_FALSE(parse_utc_time("2026-11-24T06:00:00+01:00"));
  EXPECT_FALSE(parse_utc_time("2026-11-24T06:00:00ZZ"));
  EXPECT_FALSE(parse_utc_time("soon"));
}

TEST(Time, PrintsRfc3339WithMillisecondsAndTheDay) {
  EXPECT_EQ(rfc3339_utc_ms(1795500000123), "2026-11-24T06:00:00.123Z");
  EXPECT_EQ(rfc3339_utc_ms(1795500000007), "2026-11-24T06:00:00.007Z");
  EXPECT_EQ(utc_day(1795500000), "2026-11-24");
}

}  // namespace
}  // namespace stripe_sync
