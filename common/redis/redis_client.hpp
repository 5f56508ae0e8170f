#pragma once
// A blocking Redis client, owned by one thread at a time (the pools lease one to each caller).
// It talks to one server or to a Redis Cluster, which it detects by itself (CLUSTER SHARDS) from
// any seed node of REDIS_URL:
//   - each command goes to the master of its key's slot (redis_cluster.hpp), a pipeline per node;
//   - MOVED updates the slot map and redoes the command there; ASK sends ASKING and retries once
//     on the named node; a failed node connection makes the next call reload the map;
//   - NOSCRIPT loads the script (redis_script.hpp) on that node and redoes the call.
// Replies are copied into plain values. Error replies are classified once (redis_errors.hpp):
// a transient one anywhere in a pipeline (OOM, LOADING, READONLY, TRYAGAIN, ...) or a lost
// connection fails the whole call with a transient Error, since nothing is known of it and the
// caller retries it all; a permanent one (WRONGTYPE, a script's DATA error) stays in its reply
// for the caller to handle for that command alone.
// hiredis writes with write(2): the process must ignore SIGPIPE (process_main.cpp does), or a
// connection Redis closed ends it.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis/redis_cluster.hpp"
#include "common/redis/redis_probe.hpp"
#include "common/core/result.hpp"

namespace stripe_sync {

struct RedisValue {
  enum class Type { nil, status, error, integer, string, array } type = Type::nil;
  std::string str;  // status, error or string
  long long integer = 0;
  std::vector<RedisValue> elements;
  bool is_error() const { return type == Type::error; }
  bool is_noscript() const { return type == Type::error && str.rfind("NOSCRIPT", 0) == 0; }
};

class RedisConnection;

class RedisClient {
 public:
  RedisClient(RedisEndpoint endpoint, std::chrono::milliseconds timeout);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  Result<RedisValue> command(const std::vector<std::string_view>& argv);
  // Several commands, their replies in order; in a cluster, one round trip per node.
  Result<std::vector<RedisValue>> pipeline(const std::vector<std::vector<std::string_view>>& commands);
  // A keyless command on every master (the one server when not a cluster), by node name.
  Result<std::vector<std::pair<std::string, RedisValue>>> on_every_master(const std::vector<std::string_view>& argv);
  // WAIT `replicas` `timeout` on every node written to since the last call; fails (transient,
  // code "wait_replicas") when any of them saw fewer replicas acknowledge.
  Status wait_replicas(int replicas, std::chrono::milliseconds timeout);
  // PING the server, or every master of the cluster.
  Status ping();

  bool is_cluster() const { return mode_ == Mode::cluster; }
  // The message of the last failure (never a password).
  const std::string& last_error() const { return last_error_; }

 private:
  enum class Mode { unknown, standalone, cluster };
  struct Pending;
  Status discover();
  RedisConnection& connection(const RedisNodeAddress& node);
  RedisConnection* default_connection();
  Error fail(Error e);
  Result<std::vector<RedisValue>> run(const std::vector<std::vector<std::string_view>>& commands);
  RedisEndpoint endpoint_;
  std::chrono::milliseconds timeout_;
  Mode mode_ = Mode::unknown;
  RedisNodeAddress standalone_;
  std::optional<RedisSlotMap> slots_;
  bool refresh_ = false;  // reload the slot map before the next call
  std::map<std::string, std::unique_ptr<RedisConnection>> connections_;
  std::set<std::string> written_;  // node names since the last wait_replicas
  std::string last_error_;
};

}  // namespace stripe_sync
