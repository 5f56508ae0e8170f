#pragma once
// What a Redis error reply means, decided once, here, for every caller (DESIGN.md, "Failures of
// the stores, decided once"). Pure: no I/O.
//
//   reply starts with              code          what the client does
//   OOM                            oom           transient: retry later (the script flags make
//                                                Redis refuse a script before it writes)
//   LOADING                        loading       transient (Redis is loading its AOF/RDB)
//   READONLY                       readonly      transient (a failover demoted the node)
//   BUSY                           busy          transient (a script or function is running)
//   MASTERDOWN                     masterdown    transient (a replica lost its master)
//   MISCONF                        misconf       transient (RDB snapshots fail to save)
//   CLUSTERDOWN                    clusterdown   transient (slots not served)
//   TRYAGAIN                       tryagain      transient (multi-key command during resharding)
//   NOREPLICAS                     noreplicas    transient (min-replicas-to-write not met)
//   ERR max number of clients ...  maxclients    transient
//   NOAUTH, WRONGPASS, NOPERM      auth          transient: an operator must fix it; never DLQ
//   MOVED / ASK                    moved / ask   followed by the cluster routing; transient when
//                                                they cannot be followed
//   NOSCRIPT                       noscript      the script is loaded again and the call redone
//   WRONGTYPE                      wrongtype     permanent: our key holds another type (data)
//   DATA (raised by our scripts)   data          permanent: the record itself cannot be applied
//   anything else                  unknown       transient: retry and alert, never a DLQ entry
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/core/result.hpp"

namespace stripe_sync {

// The class and code of one error reply (the text Redis sent after '-').
Error classify_redis_error(std::string_view reply);

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381".
struct RedisRedirect {
  bool ask = false;
  int slot = -1;
  std::string host;
  std::uint16_t port = 0;
};
std::optional<RedisRedirect> parse_redis_redirect(std::string_view reply);

// Every code classify_redis_error gives, plus "connection" (no answer) and "wait_replicas"
// (WAIT saw too few replicas): the fixed label set of the retry metrics.
inline constexpr std::string_view kRedisErrorCodes[] = {
    "connection", "oom",        "loading", "readonly", "busy",      "masterdown", "misconf",
    "clusterdown", "tryagain",  "noreplicas", "maxclients", "auth", "moved",      "ask",
    "noscript",   "wrongtype",  "data",    "wait_replicas", "unknown"};

}  // namespace stripe_sync
