#include "common/redis_probe.hpp"

#include <gtest/gtest.h>

#include "common/config.hpp"

namespace stripe_sync {
namespace {

TEST(RedisUrl, ParsesHostPortPasswordAndDb) {
  auto ep = parse_redis_url("redis://:s3cret@10.1.2.3:6380/4");
  EXPECT_EQ(ep.host, "10.1.2.3");
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(ep.password, "s3cret");
  EXPECT_EQ(ep.username, "");
  EXPECT_EQ(ep.db, 4);
}

TEST(RedisUrl, DefaultsPortAndDb) {
  auto ep = parse_redis_url("redis://cache.internal");
  EXPECT_EQ(ep.host, "cache.internal");
  EXPECT_EQ(ep.port, 6379);
  EXPECT_EQ(ep.db, 0);
}

TEST(RedisUrl, ReadsAclUser) {
  auto ep = parse_redis_url("redis://app:pw@h:1/0");
  EXPECT_EQ(ep.username, "app");
  EXPECT_EQ(ep.password, "pw");
}

TEST(RedisUrl, RejectsOtherSchemesAndBadDbWithoutEchoingThePassword) {
  EXPECT_THROW(parse_redis_url("http://h:1"), ConfigError);
  try {
    parse_redis_url("redis://:hunter2@h:1/notanumber");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
  }
}

}  // namespace
}  // namespace stripe_sync
