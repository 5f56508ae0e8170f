#pragma once
// The Lua scripts of schemas/redis/ with their SHA1s, the one place that knows them: callers send
// EVALSHA, and RedisClient loads a script again on the node that answered NOSCRIPT (a restarted,
// flushed or newly promoted node) and redoes the call.
#include <string>
#include <string_view>

namespace stripe_sync {

struct RedisScript {
  std::string_view name;
  std::string_view source;
  std::string sha1;
};

const RedisScript& apply_change_script();
const RedisScript& stripe_rate_script();
const RedisScript& fetch_queue_script();
// nullptr when no embedded script has this SHA1.
const RedisScript* redis_script_by_sha1(std::string_view sha1);

}  // namespace stripe_sync
