#include "common/redis/redis_connection.hpp"

#include <hiredis/hiredis.h>

#include <memory>

namespace stripe_sync {

namespace {
RedisValue convert(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
    case REDIS_REPLY_STATUS: v.type = RedisValue::Type::status; v.str.assign(r->str, r->len); break;
    case REDIS_REPLY_ERROR: v.type = RedisValue::Type::error; v.str.assign(r->str, r->len); break;
    case REDIS_REPLY_INTEGER: v.type = RedisValue::Type::integer; v.integer = r->integer; break;
    case REDIS_REPLY_STRING: v.type = RedisValue::Type::string; v.str.assign(r->str, r->len); break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::array;
      for (size_t i = 0; i < r->elements; ++i) v.elements.push_back(convert(r->element[i]));
      break;
    default: v.type = RedisValue::Type::nil; break;
  }
  return v;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

void append(redisContext* ctx, const std::vector<std::string_view>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (auto a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data());
}

}  // namespace

std::optional<std::vector<RedisValue>> RedisConnection::pipeline(const std::vector<std::vector<std::string_view>>& commands) {
  if (!ensure_connected()) return std::nullopt;
  for (const auto& c : commands) append(ctx_, c);
  std::vector<RedisValue> out;
  out.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      error_ = "Redis I/O error at " + node_.name() + ": " + (ctx_->errstr[0] ? ctx_->errstr : "connection lost");
      drop();
      return std::nullopt;
    }
    ReplyPtr r(static_cast<redisReply*>(raw));
    out.push_back(convert(r.get()));
  }
  return out;
}

bool RedisConnection::ensure_connected() {
  if (ctx_) return true;
  timeval tv = to_timeval(timeout_);
  ctx_ = redisConnectWithTimeout(node_.host.c_str(), node_.port, tv);
  if (ctx_ == nullptr || ctx_->err) {
    error_ = "cannot connect to Redis at " + node_.name() + ": " + (ctx_ ? ctx_->errstr : "no memory");
    drop();
    return false;
  }
  redisSetTimeout(ctx_, tv);
  auto setup = [&](std::vector<std::string_view> argv) -> std::string {
    append(ctx_, argv);
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) return "connection lost";
    ReplyPtr r(static_cast<redisReply*>(raw));
    return r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : std::string();
  };
  if (!endpoint_.password.empty()) {
    std::string e = endpoint_.username.empty() ? setup({"AUTH", endpoint_.password.reveal()})
                                               : setup({"AUTH", endpoint_.username, endpoint_.password.reveal()});
    if (!e.empty()) {
      error_ = "Redis at " + node_.name() + " refused the credentials";  // never the password itself
      drop();
      return false;
    }
  }
  if (endpoint_.db != 0) {
    std::string db = std::to_string(endpoint_.db);
    if (std::string e = setup({"SELECT", db}); !e.empty()) {
      error_ = "Redis at " + node_.name() + " refused SELECT " + db + ": " + e;
      drop();
      return false;
    }
  }
  return true;
}

void RedisConnection::drop() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

}  // namespace stripe_sync
