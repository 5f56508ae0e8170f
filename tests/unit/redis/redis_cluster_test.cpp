#include "common/redis/redis_cluster.hpp"

#include <gtest/gtest.h>

#include "common/redis/redis_client.hpp"

namespace stripe_sync {
namespace {

TEST(RedisCluster, KeySlotMatchesRedisDocumentedValues) {
  // Values from the Redis Cluster specification and CLUSTER KEYSLOT's documentation.
  EXPECT_EQ(redis_key_slot("foo"), 12182);
  EXPECT_EQ(redis_key_slot("somekey"), 11058);
  EXPECT_EQ(redis_key_slot("123456789"), 0x31C3 & 16383);  // CRC16-XMODEM check value 0x31C3
  EXPECT_EQ(redis_key_slot(""), 0);
}

TEST(RedisCluster, AHashTagPicksTheSlot) {
  EXPECT_EQ(redis_key_slot("{user1000}.following"), redis_key_slot("{user1000}.followers"));
  EXPECT_EQ(redis_key_slot("stripe:{cus_1}:customer"), redis_key_slot("cus_1"));
  EXPECT_EQ(redis_key_slot("stripe:{cus_1}:events:20789"), redis_key_slot("stripe:{cus_1}:audit"));
  // An empty tag does not count: the whole key is hashed; only the first tag counts.
  EXPECT_EQ(redis_key_slot("foo{}{bar}"), redis_key_slot(std::string_view("foo{}{bar}")));
  EXPECT_NE(redis_key_slot("foo{}{bar}"), redis_key_slot("bar"));
  EXPECT_EQ(redis_key_slot("foo{{bar}}zap"), redis_key_slot("{bar"));
  EXPECT_EQ(redis_key_slot("foo{bar}{zap}"), redis_key_slot("bar"));
}

TEST(RedisCluster, RoutesByTheKeyOfEachCommand) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(redis_routing_key(V{"HGETALL", "stripe:{c}:customer"}), "stripe:{c}:customer");
  EXPECT_EQ(redis_routing_key(V{"EVALSHA", "abc", "5", "k1", "k2"}), "k1");
  EXPECT_EQ(redis_routing_key(V{"evalsha", "abc", "1", "k1", "a"}), "k1");
  EXPECT_FALSE(redis_routing_key(V{"EVALSHA", "abc", "0"}));
  EXPECT_FALSE(redis_routing_key(V{"PING"}));
  EXPECT_FALSE(redis_routing_key(V{"SCRIPT", "LOAD", "return 1"}));
  EXPECT_FALSE(redis_routing_key(V{"INFO", "memory"}));
  EXPECT_FALSE(redis_routing_key(V{"WAIT", "1", "100"}));
}

RedisValue str(std::string s) {
  RedisValue v;
  v.type = RedisValue::Type::string;
  v.str = std::move(s);
  return v;
}
RedisValue num(long long n) {
  RedisValue v;
  v.type = RedisValue::Type::integer;
  v.integer = n;
  return v;
}
RedisValue arr(std::vector<RedisValue> e) {
  RedisValue v;
  v.type = RedisValue::Type::array;
  v.elements = std::move(e);
  return v;
}
RedisValue node(std::string endpoint, long long port, std::string role, std::string health = "online") {
  return arr({str("id"), str("abc"), str("port"), num(port), str("ip"), str("10.0.0.9"), str("endpoint"),
              str(std::move(endpoint)), str("role"), str(std::move(role)), str("replication-offset"), num(1),
              str("health"), str(std::move(health))});
}

TEST(RedisCluster, ReadsTheSlotMapFromClusterShards) {
  RedisValue shards = arr({
      arr({str("slots"), arr({num(0), num(5460)}), str("nodes"),
           arr({node("127.0.0.1", 7000, "master"), node("127.0.0.1", 7003, "replica")})}),
      arr({str("slots"), arr({num(5461), num(10922)}), str("nodes"), arr({node("?", 7001, "master")})}),
      arr({str("slots"), arr({num(10923), num(12000), num(12001), num(16383)}), str("nodes"),
           arr({node("127.0.0.1", 7002, "master", "failed"), node("127.0.0.1", 7005, "master")})}),
  });
  auto map = RedisSlotMap::from_shards(shards, "seed.local");
  ASSERT_TRUE(map);
  EXPECT_TRUE(map->covers_every_slot());
  EXPECT_EQ(map->master_for(0)->name(), "127.0.0.1:7000");
  EXPECT_EQ(map->master_for(5461)->name(), "10.0.0.9:7001");  // endpoint "?": its ip
  EXPECT_EQ(map->master_for(16383)->name(), "127.0.0.1:7005");  // the failed master is passed over
  EXPECT_EQ(map->masters().size(), 3u);
  map->move(0, {"127.0.0.1", 7001});
  EXPECT_EQ(map->master_for(0)->port, 7001);
}

TEST(RedisCluster, ASlotWithoutAMasterIsUncovered) {
  RedisValue shards = arr({arr({str("slots"), arr({num(0), num(100)}), str("nodes"), arr({node("h", 1, "master")})})});
  auto map = RedisSlotMap::from_shards(shards, "h");
  ASSERT_TRUE(map);
  EXPECT_FALSE(map->covers_every_slot());
  EXPECT_EQ(map->master_for(101), nullptr);
  EXPECT_FALSE(RedisSlotMap::from_shards(str("nope"), "h"));
  EXPECT_FALSE(RedisSlotMap::from_shards(arr({arr({str("slots"), arr({num(5), num(2)}), str("nodes"),
                                                   arr({node("h", 1, "master")})})}),
                                        "h"));
}

TEST(RedisCluster, ReadsTheSlotMapFromClusterSlots) {
  RedisValue slots = arr({arr({num(0), num(16383), arr({str("127.0.0.1"), num(7000), str("id")}),
                               arr({str("127.0.0.1"), num(7003), str("id2")})})});
  auto map = RedisSlotMap::from_slots(slots, "h");
  ASSERT_TRUE(map);
  EXPECT_TRUE(map->covers_every_slot());
  EXPECT_EQ(map->master_for(9000)->name(), "127.0.0.1:7000");
}

}  // namespace
}  // namespace stripe_sync
