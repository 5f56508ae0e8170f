#include "common/redis/redis_errors.hpp"

#include <charconv>

namespace stripe_sync {

namespace {
struct Rule {
  std::string_view prefix;  // the reply's first word
  std::string_view code;
  ErrorClass cls;
};
constexpr Rule kRules[] = {
    {"OOM", "oom", ErrorClass::transient},
    {"LOADING", "loading", ErrorClass::transient},
    {"READONLY", "readonly", ErrorClass::transient},
    {"BUSY", "busy", ErrorClass::transient},
    {"MASTERDOWN", "masterdown", ErrorClass::transient},
    {"MISCONF", "misconf", ErrorClass::transient},
    {"CLUSTERDOWN", "clusterdown", ErrorClass::transient},
    {"TRYAGAIN", "tryagain", ErrorClass::transient},
    {"NOREPLICAS", "noreplicas", ErrorClass::transient},
    {"NOAUTH", "auth", ErrorClass::transient},
    {"WRONGPASS", "auth", ErrorClass::transient},
    {"NOPERM", "auth", ErrorClass::transient},
    {"MOVED", "moved", ErrorClass::transient},
    {"ASK", "ask", ErrorClass::transient},
    {"NOSCRIPT", "noscript", ErrorClass::transient},
    {"WRONGTYPE", "wrongtype", ErrorClass::permanent},
    {"DATA", "data", ErrorClass::permanent},
};
}  // namespace

Error classify_redis_error(std::string_view reply) {
  std::string_view word = reply.substr(0, reply.find(' '));
  for (const Rule& r : kRules) {
    if (word == r.prefix) return {r.cls, std::string(r.code), std::string(reply)};
  }
  if (word == "ERR" && reply.find("max number of clients reached") != std::string_view::npos) {
    return {ErrorClass::transient, "maxclients", std::string(reply)};
  }
  return {ErrorClass::transient, "unknown", std::string(reply)};
}

std::optional<RedisRedirect> parse_redis_redirect(std::string_view reply) {
  RedisRedirect r;
  std::size_t sp1 = reply.find(' ');
  if (sp1 == std::string_view::npos) return std::nullopt;
  std::string_view word = reply.substr(0, sp1);
  if (word != "MOVED" && word != "ASK") return std::nullopt;
  r.ask = word == "ASK";
  std::size_t sp2 = reply.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return std::nullopt;
  std::string_view slot = reply.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view addr = reply.substr(sp2 + 1);
  if (auto sp = addr.find(' '); sp != std::string_view::npos) addr = addr.substr(0, sp);
  auto [end, ec] = std::from_chars(slot.data(), slot.data() + slot.size(), r.slot);
  if (ec != std::errc{} || end != slot.data() + slot.size() || r.slot < 0 || r.slot >= 16384) return std::nullopt;
  std::size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view port = addr.substr(colon + 1);
  unsigned p = 0;
  auto [pend, pec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (pec != std::errc{} || pend != port.data() + port.size() || p == 0 || p > 65535) return std::nullopt;
  r.port = static_cast<std::uint16_t>(p);
  r.host = std::string(addr.substr(0, colon));
  if (r.host.size() >= 2 && r.host.front() == '[' && r.host.back() == ']') r.host = r.host.substr(1, r.host.size() - 2);
  // An empty host means "the node you asked" (Redis 7 with cluster-preferred-endpoint-type
  // unknown-endpoint); the caller substitutes it.
  return r;
}

}  // namespace stripe_sync
