#include "common/redis/redis_script.hpp"

#include <openssl/sha.h>

#include "common/core/hex.hpp"
#include "common/redis/lua_scripts.hpp"

namespace stripe_sync {

namespace {
RedisScript make(std::string_view name, std::string_view source) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source.data()), source.size(), digest);
  return {name, source, to_hex(digest, sizeof digest)};
}
}  // namespace

const RedisScript& apply_change_script() {
  static const RedisScript s = make("apply_change", lua::kApplyChange);
  return s;
}

const RedisScript& stripe_rate_script() {
  static const RedisScript s = make("stripe_rate", lua::kStripeRate);
  return s;
}

const RedisScript& fetch_queue_script() {
  static const RedisScript s = make("fetch_queue", lua::kFetchQueue);
  return s;
}

const RedisScript* redis_script_by_sha1(std::string_view sha1) {
  for (const RedisScript* s : {&apply_change_script(), &stripe_rate_script(), &fetch_queue_script()}) {
    if (s->sha1 == sha1) return s;
  }
  return nullptr;
}

}  // namespace stripe_sync
