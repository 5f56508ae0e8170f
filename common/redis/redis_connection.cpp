#include "common/redis/redis_connection.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <memory>
#include <string>

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

// One command in RESP ("*<n>\r\n" then "$<len>\r\n<bytes>\r\n" an argument), appended to
// `out`. hiredis's own formatter (redisAppendCommandArgv) costs an sdscatfmt per argument; the
// worker's batches of wide records spent a tenth of their CPU there.
void append_resp(std::string& out, const std::vector<std::string_view>& argv) {
  char digits[24];
  auto header = [&](char kind, std::size_t n) {
    out.push_back(kind);
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, end);
    out.append("\r\n", 2);
  };
  header('*', argv.size());
  for (std::string_view a : argv) {
    header('$', a.size());
    out.append(a.data(), a.size());
    out.append("\r\n", 2);
  }
}

// One command, as the connection's setup sends them (AUTH, SELECT).
void append(redisContext* ctx, const std::vector<std::string_view>& argv) {
  std::string command;
  append_resp(command, argv);
  redisAppendFormattedCommand(ctx, command.data(), command.size());
}

}  // namespace

std::optional<std::vector<RedisValue>> RedisConnection::pipeline(const std::vector<std::vector<std::string_view>>& commands) {
  if (!ensure_connected()) return std::nullopt;
  {
    // The whole pipeline in one buffer, handed to hiredis once.
    thread_local std::string buffer;
    buffer.clear();
    for (const auto& c : commands) append_resp(buffer, c);
    if (redisAppendFormattedCommand(ctx_, buffer.data(), buffer.size()) != REDIS_OK) {
      error_ = "Redis: out of memory formatting a pipeline";
      drop();
      return std::nullopt;
    }
    if (buffer.capacity() > (1u << 20)) std::string().swap(buffer);  // do not keep a huge one
  }
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
