#include "common/redis_probe.hpp"

#include <hiredis/hiredis.h>

#include <boost/url/parse.hpp>
#include <charconv>
#include <memory>

#include "common/config.hpp"

namespace stripe_sync {

RedisEndpoint parse_redis_url(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed || parsed->scheme() != "redis") {
    throw ConfigError("REDIS_URL must look like redis://[:password@]host:port[/db]");
  }
  const auto& u = *parsed;
  RedisEndpoint ep;
  if (!u.encoded_host().empty()) ep.host = std::string(u.host_address());
  if (u.has_port()) {
    auto p = u.port_number();
    if (p == 0) throw ConfigError("REDIS_URL has a bad port");
    ep.port = p;
  }
  if (u.has_userinfo()) {
    ep.username = u.user();
    ep.password = u.password();
  }
  std::string_view path = u.encoded_path();
  if (!path.empty() && path != "/") {
    path.remove_prefix(1);
    auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), ep.db);
    if (ec != std::errc{} || end != path.data() + path.size() || ep.db < 0) {
      throw ConfigError("REDIS_URL database must be a number, as in redis://host:6379/0");
    }
  }
  return ep;
}

bool redis_reachable(const std::string& url, std::chrono::milliseconds timeout) {
  RedisEndpoint ep;
  try {
    ep = parse_redis_url(url);
  } catch (const ConfigError&) {
    return false;
  }
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  std::unique_ptr<redisContext, decltype(&redisFree)> ctx(
      redisConnectWithTimeout(ep.host.c_str(), ep.port, tv), &redisFree);
  if (!ctx || ctx->err) return false;
  redisSetTimeout(ctx.get(), tv);
  auto command = [&](auto... args) {
    std::unique_ptr<redisReply, decltype(&freeReplyObject)> r(
        static_cast<redisReply*>(redisCommand(ctx.get(), args...)), &freeReplyObject);
    return r && r->type != REDIS_REPLY_ERROR;
  };
  if (!ep.password.empty()) {
    bool ok = ep.username.empty() ? command("AUTH %s", ep.password.reveal().c_str())
                                  : command("AUTH %s %s", ep.username.c_str(), ep.password.reveal().c_str());
    if (!ok) return false;
  }
  return command("PING");
}

}  // namespace stripe_sync
