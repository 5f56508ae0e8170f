#include "common/redis/redis_probe.hpp"

#include <gtest/gtest.h>

#include "common/core/config.hpp"

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

namespace stripe_sync {
namespace {

TEST(RedisUrl, ReadsMoreSeedNodesOfACluster) {
  auto ep = parse_redis_url("redis://:pw@10.0.0.1:7000,10.0.0.2:7001,redis://10.0.0.3:7002");
  EXPECT_EQ(ep.password, "pw");
  auto seeds = ep.seeds();
  ASSERT_EQ(seeds.size(), 3u);
  EXPECT_EQ(seeds[0].name(), "10.0.0.1:7000");
  EXPECT_EQ(seeds[1].name(), "10.0.0.2:7001");
  EXPECT_EQ(seeds[2].name(), "10.0.0.3:7002");
  EXPECT_THROW(parse_redis_url("redis://h:1,http://h:2"), ConfigError);
}

}  // namespace
}  // namespace stripe_sync
