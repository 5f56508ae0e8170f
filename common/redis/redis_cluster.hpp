#pragma once
// Redis Cluster routing, the pure part (no I/O): the slot of a key (Redis's CRC16 with hash
// tags), which argument of a command is its key, and the slot map read from CLUSTER SHARDS (or
// CLUSTER SLOTS on servers that lack SHARDS). RedisClient (redis_client.cpp) does the I/O.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stripe_sync {

struct RedisValue;

inline constexpr int kRedisSlots = 16384;

// CLUSTER KEYSLOT: CRC16-XMODEM of the key, or of its first non-empty {hash tag}, mod 16384.
int redis_key_slot(std::string_view key);

// The key a command is routed by, or nullopt for a command that any node answers (PING, INFO,
// SCRIPT, WAIT, ...). EVAL/EVALSHA: the first of their KEYS; other commands: their first argument.
std::optional<std::string_view> redis_routing_key(const std::vector<std::string_view>& argv);

struct RedisNodeAddress {
  std::string host;
  std::uint16_t port = 0;
  std::string name() const { return host + ":" + std::to_string(port); }
  bool operator==(const RedisNodeAddress&) const = default;
};

// Which master serves each slot.
class RedisSlotMap {
 public:
  // From CLUSTER SHARDS (Redis 7) or CLUSTER SLOTS. `asked` replaces an endpoint the node does
  // not know ("?" or empty). nullopt when the reply is not of that shape.
  static std::optional<RedisSlotMap> from_shards(const RedisValue& reply, const std::string& asked);
  static std::optional<RedisSlotMap> from_slots(const RedisValue& reply, const std::string& asked);

  // nullptr for a slot no master serves.
  const RedisNodeAddress* master_for(int slot) const;
  const std::vector<RedisNodeAddress>& masters() const { return masters_; }
  bool covers_every_slot() const;
  // A MOVED reply: the slot is served by `node` from now on.
  void move(int slot, const RedisNodeAddress& node);

 private:
  std::size_t index_of(const RedisNodeAddress& node);
  static constexpr std::uint16_t kNone = 0xffff;
  std::vector<RedisNodeAddress> masters_;
  std::vector<std::uint16_t> slots_ = std::vector<std::uint16_t>(kRedisSlots, kNone);
};

}  // namespace stripe_sync
