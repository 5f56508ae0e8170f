#pragma once
// A blocking hiredis connection, owned by one thread at a time (the worker gives each pool thread
// its own). Replies are copied into plain values; errors are classified once, here:
//   io       - refused, closed, timed out: the command may be retried later (transient)
//   reply    - Redis answered with an error (a script error on the data is permanent)
//   noscript - EVALSHA of a script the server does not have: load it and retry
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis_probe.hpp"

struct redisContext;

namespace stripe_sync {

struct RedisValue {
  enum class Type { nil, status, error, integer, string, array } type = Type::nil;
  std::string str;  // status, error or string
  long long integer = 0;
  std::vector<RedisValue> elements;
  bool is_error() const { return type == Type::error; }
  bool is_noscript() const { return type == Type::error && str.rfind("NOSCRIPT", 0) == 0; }
};

class RedisClient {
 public:
  RedisClient(RedisEndpoint endpoint, std::chrono::milliseconds timeout);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // One command. nullopt: an I/O error (see last_error()); the connection is dropped and the
  // next call reconnects.
  std::optional<RedisValue> command(const std::vector<std::string_view>& argv);
  // Several commands in one round trip; all replies or nullopt on an I/O error.
  std::optional<std::vector<RedisValue>> pipeline(const std::vector<std::vector<std::string_view>>& commands);

  const std::string& last_error() const { return last_error_; }

 private:
  bool ensure_connected();
  void drop();
  RedisEndpoint endpoint_;
  std::chrono::milliseconds timeout_;
  redisContext* ctx_ = nullptr;
  std::string last_error_;
};

}  // namespace stripe_sync
