#include "common/redis/redis_probe.hpp"

#include <boost/url/parse.hpp>
#include <charconv>

#include "common/core/config.hpp"

namespace stripe_sync {

namespace {
RedisEndpoint parse_one(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed || parsed->scheme() != "redis") {
    throw ConfigError("REDIS_URL must look like redis://[:password@]host:port[/db][,host:port...]");
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
}  // namespace

std::vector<RedisNodeAddress> RedisEndpoint::seeds() const {
  std::vector<RedisNodeAddress> out{{host, port}};
  out.insert(out.end(), extra_seeds.begin(), extra_seeds.end());
  return out;
}

RedisEndpoint parse_redis_url(std::string_view text) {
  std::size_t comma = text.find(',');
  RedisEndpoint ep = parse_one(text.substr(0, comma));
  while (comma != std::string_view::npos) {
    std::size_t next = text.find(',', comma + 1);
    std::string_view item = text.substr(comma + 1, next == std::string_view::npos ? next : next - comma - 1);
    comma = next;
    if (item.empty()) continue;
    // A bare host:port is read as a URL of the first one's form.
    RedisEndpoint seed = parse_one(item.find("://") == std::string_view::npos ? "redis://" + std::string(item) : item);
    ep.extra_seeds.push_back({seed.host, seed.port});
  }
  return ep;
}

}  // namespace stripe_sync
