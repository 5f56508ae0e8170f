#pragma once
// One hiredis connection to one node: connect, AUTH, SELECT, and raw pipelines. The one place
// that connects and authenticates (RedisClient keeps one per node). A connection with an I/O
// error is dropped (its replies may be half-read) and made again on the next use.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis/redis_client.hpp"

struct redisContext;  // hiredis stays in the .cpp

namespace stripe_sync {

class RedisConnection {
 public:
  RedisConnection(RedisNodeAddress node, const RedisEndpoint& endpoint, std::chrono::milliseconds timeout)
      : node_(std::move(node)), endpoint_(endpoint), timeout_(timeout) {}
  ~RedisConnection() { drop(); }
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Every reply (error replies included, as values); nullopt on an I/O error (see error()).
  std::optional<std::vector<RedisValue>> pipeline(const std::vector<std::vector<std::string_view>>& commands);
  const std::string& error() const { return error_; }
  const RedisNodeAddress& node() const { return node_; }

 private:
  bool ensure_connected();
  void drop();
  RedisNodeAddress node_;
  const RedisEndpoint& endpoint_;
  std::chrono::milliseconds timeout_;
  redisContext* ctx_ = nullptr;
  std::string error_;
};

}  // namespace stripe_sync
