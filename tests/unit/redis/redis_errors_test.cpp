#include "common/redis/redis_errors.hpp"

#include <gtest/gtest.h>

namespace stripe_sync {
namespace {

struct Case {
  const char* reply;
  const char* code;
  ErrorClass cls;
};

// The replies as Redis 7 words them (server.c, cluster.c, script.c).
const Case kCases[] = {
    {"OOM command not allowed when used memory > 'maxmemory'.", "oom", ErrorClass::transient},
    {"LOADING Redis is loading the dataset in memory", "loading", ErrorClass::transient},
    {"READONLY You can't write against a read only replica.", "readonly", ErrorClass::transient},
    {"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", "busy", ErrorClass::transient},
    {"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", "masterdown", ErrorClass::transient},
    {"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.", "misconf",
     ErrorClass::transient},
    {"CLUSTERDOWN The cluster is down", "clusterdown", ErrorClass::transient},
    {"TRYAGAIN Multiple keys request during rehashing of slot", "tryagain", ErrorClass::transient},
    {"NOREPLICAS Not enough good replicas to write.", "noreplicas", ErrorClass::transient},
    {"ERR max number of clients reached", "maxclients", ErrorClass::transient},
    {"NOAUTH Authentication required.", "auth", ErrorClass::transient},
    {"WRONGPASS invalid username-password pair or user is disabled.", "auth", ErrorClass::transient},
    {"MOVED 3999 127.0.0.1:6381", "moved", ErrorClass::transient},
    {"ASK 3999 127.0.0.1:6381", "ask", ErrorClass::transient},
    {"NOSCRIPT No matching script. Please use EVAL.", "noscript", ErrorClass::transient},
    {"WRONGTYPE Operation against a key holding the wrong kind of value script: 1a2b, on @user_script:40.",
     "wrongtype", ErrorClass::permanent},
    {"DATA stamp is not a number", "data", ErrorClass::permanent},
    // Unrecognised: retried and alerted on, never dead-lettered.
    {"ERR user_script:12: Script attempted to access nonexistent global variable 'x'", "unknown", ErrorClass::transient},
    {"BUSYKEY Target key name already exists.", "unknown", ErrorClass::transient},
    {"", "unknown", ErrorClass::transient},
};

TEST(RedisErrors, EachReplyHasOneClassAndCode) {
  for (const Case& c : kCases) {
    Error e = classify_redis_error(c.reply);
    EXPECT_EQ(e.code, c.code) << c.reply;
    EXPECT_EQ(e.cls, c.cls) << c.reply;
    EXPECT_EQ(e.message, c.reply);
  }
}

TEST(RedisErrors, EveryCodeIsALabelOfTheRetryMetric) {
  for (const Case& c : kCases) {
    bool listed = false;
    for (auto code : kRedisErrorCodes) listed = listed || code == c.code;
    EXPECT_TRUE(listed) << c.code;
  }
}

TEST(RedisErrors, ParsesMovedAndAsk) {
  auto m = parse_redis_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->ask);
  EXPECT_EQ(m->slot, 3999);
  EXPECT_EQ(m->host, "127.0.0.1");
  EXPECT_EQ(m->port, 6381);
  auto a = parse_redis_redirect("ASK 16383 [::1]:7000");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->ask);
  EXPECT_EQ(a->slot, 16383);
  EXPECT_EQ(a->host, "::1");
  auto unknown_endpoint = parse_redis_redirect("MOVED 1 :7001");
  ASSERT_TRUE(unknown_endpoint);
  EXPECT_EQ(unknown_endpoint->host, "");
  EXPECT_EQ(unknown_endpoint->port, 7001);
}

TEST(RedisErrors, RefusesMalformedRedirects) {
  for (const char* bad : {"MOVED", "MOVED 3999", "MOVED x 127.0.0.1:1", "MOVED 16384 h:1", "MOVED 1 host", "MOVED 1 h:0",
                          "MOVED 1 h:70000", "OOM 1 h:1"}) {
    EXPECT_FALSE(parse_redis_redirect(bad)) << bad;
  }
}

}  // namespace
}  // namespace stripe_sync
