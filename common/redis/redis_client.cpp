#include "common/redis/redis_client.hpp"

#include <algorithm>

#include "common/redis/redis_connection.hpp"
#include "common/redis/redis_errors.hpp"
#include "common/redis/redis_script.hpp"

namespace stripe_sync {

namespace {
Error connection_error(std::string message) { return {ErrorClass::transient, "connection", std::move(message)}; }

bool is_evalsha(std::string_view name) {
  return name.size() == 7 && (name == "EVALSHA" || name == "evalsha");
}
}  // namespace

RedisClient::RedisClient(RedisEndpoint endpoint, std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), timeout_(timeout) {}

RedisClient::~RedisClient() = default;

Error RedisClient::fail(Error e) {
  last_error_ = e.message;
  return e;
}

RedisConnection& RedisClient::connection(const RedisNodeAddress& node) {
  auto& c = connections_[node.name()];
  if (!c) c = std::make_unique<RedisConnection>(node, endpoint_, timeout_);
  return *c;
}

// Standalone or cluster, and the slot map. Known masters are asked before the seeds, so a map
// can be reloaded while the seeds are down.
Status RedisClient::discover() {
  std::vector<RedisNodeAddress> ask;
  if (slots_) ask = slots_->masters();
  for (const auto& s : endpoint_.seeds())
    if (std::find(ask.begin(), ask.end(), s) == ask.end()) ask.push_back(s);
  std::optional<Error> last;
  for (const auto& node : ask) {
    RedisConnection& conn = connection(node);
    auto r = conn.pipeline({{"CLUSTER", "SHARDS"}});
    if (!r) {
      last = connection_error(conn.error());
      continue;
    }
    const RedisValue& reply = r->front();
    std::optional<RedisSlotMap> map;
    if (!reply.is_error()) {
      map = RedisSlotMap::from_shards(reply, node.host);
    } else if (reply.str.find("cluster support disabled") != std::string::npos) {
      mode_ = Mode::standalone;
      standalone_ = node;
      return Ok{};
    } else if (Error e = classify_redis_error(reply.str); e.code != "unknown") {
      last = e;  // LOADING, BUSY, ...: another node may answer
      continue;
    }
    if (!map) {  // a server without CLUSTER SHARDS (Redis 6)
      auto s = conn.pipeline({{"CLUSTER", "SLOTS"}});
      if (s && !s->front().is_error()) map = RedisSlotMap::from_slots(s->front(), node.host);
    }
    if (!map || map->masters().empty()) {
      // CLUSTER refused (ACLs, renamed commands): talk to it as one server. A MOVED reply would
      // still switch to cluster mode.
      mode_ = Mode::standalone;
      standalone_ = node;
      return Ok{};
    }
    if (endpoint_.db != 0) {
      return fail({ErrorClass::bad_input, "config", "REDIS_URL names database " + std::to_string(endpoint_.db) +
                                                      ", but Redis Cluster has only database 0"});
    }
    mode_ = Mode::cluster;
    slots_ = std::move(map);
    refresh_ = false;
    return Ok{};
  }
  return fail(last.value_or(connection_error("no Redis node to ask")));
}

// Where a keyless command goes: the one server, or in a cluster the node REDIS_URL names first
// (PING, INFO, ROLE there mean that node).
RedisConnection* RedisClient::default_connection() {
  if (mode_ == Mode::standalone) return &connection(standalone_);
  return &connection(endpoint_.seeds().front());
}

Result<RedisValue> RedisClient::command(const std::vector<std::string_view>& argv) {
  auto r = run({argv});
  if (!r) return r.error();
  return std::move(r->front());
}

Result<std::vector<RedisValue>> RedisClient::pipeline(const std::vector<std::vector<std::string_view>>& commands) {
  return run(commands);
}

Result<std::vector<RedisValue>> RedisClient::run(const std::vector<std::vector<std::string_view>>& commands) {
  if (mode_ == Mode::unknown || (mode_ == Mode::cluster && refresh_)) {
    if (auto s = discover(); !s) return s.error();
  }
  struct Target {
    RedisNodeAddress node;
    bool asking = false;
  };
  const std::size_t n = commands.size();
  std::vector<std::optional<RedisValue>> out(n);
  std::vector<Target> target;        // filled for the commands that need routing or a redo
  std::vector<std::size_t> pending;  // those commands, in order
  std::string redirect_code;

  // One reply of command i from `node`: kept, or queued again (after loading the script there,
  // or towards where a redirect points). False: a failure that ends the call (in *failure).
  auto absorb = [&](std::size_t i, RedisValue& reply, RedisConnection& conn, bool& reloaded,
                    std::vector<std::size_t>& next, std::optional<Error>& failure) {
    if (!reply.is_error()) {
      out[i] = std::move(reply);
      return true;
    }
    if (reply.is_noscript() && is_evalsha(commands[i][0]) && commands[i].size() > 1) {
      if (const RedisScript* script = redis_script_by_sha1(commands[i][1])) {
        if (!reloaded) {
          auto loaded = conn.pipeline({{"SCRIPT", "LOAD", script->source}});
          if (!loaded) {
            failure = connection_error(conn.error());
            return false;
          }
          if (loaded->front().is_error()) {
            failure = classify_redis_error(loaded->front().str);
            return false;
          }
          reloaded = true;
        }
        target[i] = {conn.node(), false};
        next.push_back(i);
        return true;
      }
    }
    if (auto redirect = parse_redis_redirect(reply.str)) {
      RedisNodeAddress to{redirect->host.empty() ? conn.node().host : redirect->host, redirect->port};
      redirect_code = redirect->ask ? "ask" : "moved";
      if (!redirect->ask) {
        if (mode_ != Mode::cluster) {  // a standalone node that is a cluster after all
          mode_ = Mode::cluster;
          slots_.emplace();
        }
        slots_->move(redirect->slot, to);
        refresh_ = true;  // resharding moves more than one slot: reload the map next time
      }
      target[i] = {to, redirect->ask};
      next.push_back(i);
      return true;
    }
    out[i] = std::move(reply);
    return true;
  };

  if (mode_ == Mode::standalone) {
    // The common case, without routing: one pipeline to the one server.
    RedisConnection& conn = connection(standalone_);
    auto replies = conn.pipeline(commands);
    if (!replies) return fail(connection_error(conn.error()));
    written_.insert(standalone_.name());
    target.resize(n);
    bool reloaded = false;
    std::optional<Error> failure;
    for (std::size_t i = 0; i < n; ++i) {
      if (!absorb(i, (*replies)[i], conn, reloaded, pending, failure)) return fail(std::move(*failure));
    }
  } else {
    target.resize(n);
    RedisConnection* fallback = default_connection();
    for (std::size_t i = 0; i < n; ++i) {
      if (auto key = redis_routing_key(commands[i])) {
        const RedisNodeAddress* m = slots_->master_for(redis_key_slot(*key));
        if (m == nullptr) {
          refresh_ = true;
          return fail({ErrorClass::transient, "clusterdown", "no master serves the slot of " + std::string(*key)});
        }
        target[i].node = *m;
      } else {
        target[i].node = fallback->node();
      }
      pending.push_back(i);
    }
  }

  for (int round = 0; round < 5 && !pending.empty(); ++round) {
    // One pipeline per node, each keeping the order of its commands.
    std::map<std::string, std::vector<std::size_t>> groups;
    for (std::size_t i : pending) groups[target[i].node.name()].push_back(i);
    std::vector<std::size_t> next;
    for (auto& [name, idx] : groups) {
      RedisConnection& conn = connection(target[idx.front()].node);
      std::vector<std::vector<std::string_view>> batch;
      for (std::size_t i : idx) {
        if (target[i].asking) batch.push_back({"ASKING"});
        batch.push_back(commands[i]);
      }
      auto replies = conn.pipeline(batch);
      if (!replies) {
        if (mode_ == Mode::cluster) refresh_ = true;  // a failover may have moved its slots
        return fail(connection_error(conn.error()));
      }
      written_.insert(name);
      bool reloaded = false;
      std::optional<Error> failure;
      std::size_t at = 0;
      for (std::size_t i : idx) {
        if (target[i].asking) ++at;  // ASKING's +OK
        target[i].asking = false;
        if (!absorb(i, (*replies)[at++], conn, reloaded, next, failure)) return fail(std::move(*failure));
      }
    }
    std::sort(next.begin(), next.end());
    pending = std::move(next);
  }
  if (!pending.empty()) {
    return fail({ErrorClass::transient, redirect_code.empty() ? "unknown" : redirect_code,
                 "Redis kept redirecting the command (" + redirect_code + "); the cluster is changing"});
  }
  std::vector<RedisValue> values;
  values.reserve(n);
  for (auto& v : out) {
    if (v->is_error()) {
      Error e = classify_redis_error(v->str);
      if (e.transient()) {
        if (mode_ == Mode::cluster && (e.code == "clusterdown" || e.code == "tryagain" || e.code == "readonly")) {
          refresh_ = true;
        }
        return fail(std::move(e));
      }
    }
    values.push_back(std::move(*v));
  }
  return values;
}

Result<std::vector<std::pair<std::string, RedisValue>>> RedisClient::on_every_master(
    const std::vector<std::string_view>& argv) {
  if (mode_ == Mode::unknown || (mode_ == Mode::cluster && refresh_)) {
    if (auto s = discover(); !s) return s.error();
  }
  std::vector<RedisNodeAddress> nodes = mode_ == Mode::cluster ? slots_->masters() : std::vector{standalone_};
  std::vector<std::pair<std::string, RedisValue>> out;
  for (const auto& node : nodes) {
    RedisConnection& conn = connection(node);
    auto r = conn.pipeline({argv});
    if (!r) {
      if (mode_ == Mode::cluster) refresh_ = true;
      return fail(connection_error(conn.error()));
    }
    if (r->front().is_error()) {
      if (Error e = classify_redis_error(r->front().str); e.transient()) return fail(std::move(e));
    }
    out.emplace_back(node.name(), std::move(r->front()));
  }
  return out;
}

Status RedisClient::wait_replicas(int replicas, std::chrono::milliseconds timeout) {
  std::set<std::string> nodes;
  nodes.swap(written_);
  if (replicas <= 0) return Ok{};
  const std::string want = std::to_string(replicas), ms = std::to_string(timeout.count());
  for (const auto& name : nodes) {
    auto it = connections_.find(name);
    if (it == connections_.end()) continue;
    auto r = it->second->pipeline({{"WAIT", want, ms}});
    if (!r) return fail(connection_error(it->second->error()));
    const RedisValue& v = r->front();
    if (v.is_error()) return fail(classify_redis_error(v.str));
    if (v.type != RedisValue::Type::integer || v.integer < replicas) {
      return fail({ErrorClass::transient, "wait_replicas",
                   std::to_string(v.integer) + " of " + want + " replicas of " + name + " acknowledged within " + ms +
                       " ms"});
    }
  }
  return Ok{};
}

Status RedisClient::ping() {
  auto r = on_every_master({"PING"});
  if (!r) return r.error();
  if (mode_ == Mode::cluster && !slots_->covers_every_slot()) {
    refresh_ = true;
    return fail({ErrorClass::transient, "clusterdown", "some hash slots are served by no master"});
  }
  for (const auto& [node, v] : *r) {
    if (v.is_error()) return fail(classify_redis_error(v.str));
  }
  return Ok{};
}

}  // namespace stripe_sync
