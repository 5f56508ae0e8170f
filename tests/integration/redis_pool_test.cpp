// The Redis pool against a real redis-server: it reuses connections and keeps only `max_idle`.
#include "common/redis/redis_pool.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/redis_server.hpp"

namespace stripe_sync {
namespace {

using namespace std::chrono_literals;

long long connected_clients(RedisClient& admin) {
  auto info = admin.command({"INFO", "clients"});
  if (!info) return -1;
  const std::string key = "connected_clients:";
  auto at = info->str.find(key);
  return at == std::string::npos ? -1 : std::stoll(info->str.substr(at + key.size()));
}

TEST(RedisPool, ReusesAConnectionAndKeepsAtMostMaxIdleAfterABurst) {
  test::RedisServer redis;
  auto admin = redis.client();
  RedisPool pool(redis.endpoint(), 2s, /*max_idle=*/3);
  {
    std::vector<std::optional<RedisPool::Lease>> burst;
    for (int i = 0; i < 10; ++i) {
      burst.emplace_back(pool.acquire());
      ASSERT_TRUE((*burst.back())->command({"PING"}));
    }
    EXPECT_EQ(connected_clients(*admin), 11);  // ten leases and the admin
  }
  EXPECT_EQ(pool.idle_count(), 3u);
  EXPECT_TRUE(test::eventually([&] { return connected_clients(*admin) == 4; }, 5s)) << connected_clients(*admin);
  {
    auto again = pool.acquire();  // one of the kept ones: no new connection
    ASSERT_TRUE(again->command({"PING"}));
    EXPECT_EQ(pool.idle_count(), 2u);
    EXPECT_EQ(connected_clients(*admin), 4);
  }
  EXPECT_EQ(pool.idle_count(), 3u);
}

}  // namespace
}  // namespace stripe_sync
