#pragma once
// The Redis Lua scripts of schemas/redis/, embedded at build time (see common/CMakeLists.txt),
// so the binary and the files never disagree.
namespace stripe_sync::lua {
extern const char* const kApplyChange;
extern const char* const kStripeRate;
extern const char* const kFetchQueue;
}
