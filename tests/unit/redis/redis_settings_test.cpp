// The rules read from each master's INFO (redis_settings.hpp), on INFO text as Redis sends it
// (CRLF lines, "# Section" headers). Debian 12 ships only Redis 7, so the version rule's failing
// case is an INFO reply of the Redis 6.2 layout, which has the same lines.
#include "common/redis/redis_settings.hpp"

#include <gtest/gtest.h>

namespace stripe_sync {
namespace {

std::string info(std::string_view version, std::string_view policy, std::string_view aof) {
  return "# Server\r\nredis_version:" + std::string(version) +
         "\r\nredis_git_sha1:00000000\r\nredis_mode:standalone\r\nos:Linux 6.1.0 x86_64\r\n\r\n"
         "# Memory\r\nused_memory:1183400\r\nmaxmemory:0\r\nmaxmemory_policy:" + std::string(policy) +
         "\r\n\r\n# Persistence\r\nloading:0\r\naof_enabled:" + std::string(aof) + "\r\naof_rewrite_in_progress:0\r\n";
}

TEST(RedisSettings, ASafeRedis7ReportsNothing) {
  RedisSettingsReport r;
  add_node_settings("127.0.0.1:6379", info("7.0.15", "noeviction", "1"), r);
  EXPECT_TRUE(r.evicting.empty());
  EXPECT_TRUE(r.aof_off.empty());
  EXPECT_TRUE(r.too_old.empty());
}

TEST(RedisSettings, EachUnsafeSettingIsReportedWithItsNode) {
  RedisSettingsReport r;
  add_node_settings("10.0.0.1:6379", info("6.2.14", "noeviction", "1"), r);
  add_node_settings("10.0.0.2:6379", info("7.2.4", "volatile-lru", "0"), r);
  ASSERT_EQ(r.too_old.size(), 1u);
  EXPECT_EQ(r.too_old[0], "10.0.0.1:6379: 6.2.14");
  ASSERT_EQ(r.evicting.size(), 1u);
  EXPECT_EQ(r.evicting[0], "10.0.0.2:6379: volatile-lru");
  ASSERT_EQ(r.aof_off.size(), 1u);
  EXPECT_EQ(r.aof_off[0], "10.0.0.2:6379");
  // A version this rule cannot read is not called old (INFO of a proxy may leave it out).
  RedisSettingsReport unknown;
  add_node_settings("proxy:6379", "# Server\r\nredis_mode:standalone\r\n", unknown);
  EXPECT_TRUE(unknown.too_old.empty());
}

}  // namespace
}  // namespace stripe_sync
