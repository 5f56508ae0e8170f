#include "common/redis/redis_cluster.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/redis/redis_client.hpp"

namespace stripe_sync {

namespace {

// CRC16-CCITT (XMODEM), polynomial 0x1021, as in Redis's crc16.c.
constexpr std::array<std::uint16_t, 256> make_table() {
  std::array<std::uint16_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b) crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    t[static_cast<std::size_t>(i)] = crc;
  }
  return t;
}
constexpr auto kCrcTable = make_table();

std::uint16_t crc16(std::string_view s) {
  std::uint16_t crc = 0;
  for (unsigned char c : s) crc = static_cast<std::uint16_t>((crc << 8) ^ kCrcTable[((crc >> 8) ^ c) & 0xff]);
  return crc;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<long long> integer_of(const RedisValue& v) {
  if (v.type == RedisValue::Type::integer) return v.integer;
  if (v.type != RedisValue::Type::string) return std::nullopt;
  long long n = 0;
  auto [end, ec] = std::from_chars(v.str.data(), v.str.data() + v.str.size(), n);
  if (ec != std::errc{} || end != v.str.data() + v.str.size()) return std::nullopt;
  return n;
}

// A RESP2 map is a flat array of name, value pairs.
const RedisValue* field(const RedisValue& map, std::string_view name) {
  if (map.type != RedisValue::Type::array) return nullptr;
  for (std::size_t i = 0; i + 1 < map.elements.size(); i += 2) {
    if (map.elements[i].str == name) return &map.elements[i + 1];
  }
  return nullptr;
}

std::optional<RedisNodeAddress> address(std::string host, const RedisValue* port, const std::string& asked) {
  if (!port) return std::nullopt;
  auto p = integer_of(*port);
  if (!p || *p <= 0 || *p > 65535) return std::nullopt;
  if (host.empty() || host == "?") host = asked;
  return RedisNodeAddress{std::move(host), static_cast<std::uint16_t>(*p)};
}

}  // namespace

int redis_key_slot(std::string_view key) {
  if (auto open = key.find('{'); open != std::string_view::npos) {
    if (auto close = key.find('}', open + 1); close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return crc16(key) & (kRedisSlots - 1);
}

std::optional<std::string_view> redis_routing_key(const std::vector<std::string_view>& argv) {
  if (argv.size() < 2) return std::nullopt;
  std::string_view name = argv[0];
  for (std::string_view keyless : {"PING", "INFO", "SCRIPT", "WAIT", "CLUSTER", "CONFIG", "DBSIZE", "TIME",
                                   "ASKING", "AUTH", "SELECT", "HELLO", "ROLE", "CLIENT", "FLUSHALL",
                                   "FLUSHDB", "SCAN", "KEYS", "COMMAND", "DEBUG", "REPLICAOF", "SHUTDOWN"}) {
    if (iequals(name, keyless)) return std::nullopt;
  }
  for (std::string_view eval : {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"}) {
    if (iequals(name, eval)) {
      if (argv.size() < 4 || argv[2] == "0") return std::nullopt;
      return argv[3];
    }
  }
  return argv[1];
}

std::size_t RedisSlotMap::index_of(const RedisNodeAddress& node) {
  auto it = std::find(masters_.begin(), masters_.end(), node);
  if (it != masters_.end()) return static_cast<std::size_t>(it - masters_.begin());
  masters_.push_back(node);
  return masters_.size() - 1;
}

void RedisSlotMap::move(int slot, const RedisNodeAddress& node) {
  if (slot < 0 || slot >= kRedisSlots) return;
  slots_[static_cast<std::size_t>(slot)] = static_cast<std::uint16_t>(index_of(node));
}

const RedisNodeAddress* RedisSlotMap::master_for(int slot) const {
  if (slot < 0 || slot >= kRedisSlots) return nullptr;
  std::uint16_t i = slots_[static_cast<std::size_t>(slot)];
  return i == kNone ? nullptr : &masters_[i];
}

bool RedisSlotMap::covers_every_slot() const {
  return std::none_of(slots_.begin(), slots_.end(), [](std::uint16_t i) { return i == kNone; });
}

std::optional<RedisSlotMap> RedisSlotMap::from_shards(const RedisValue& reply, const std::string& asked) {
  if (reply.type != RedisValue::Type::array) return std::nullopt;
  RedisSlotMap map;
  for (const RedisValue& shard : reply.elements) {
    const RedisValue* slots = field(shard, "slots");
    const RedisValue* nodes = field(shard, "nodes");
    if (!slots || !nodes || slots->type != RedisValue::Type::array || nodes->type != RedisValue::Type::array) {
      return std::nullopt;
    }
    std::optional<RedisNodeAddress> master;
    for (const RedisValue& node : nodes->elements) {
      const RedisValue* role = field(node, "role");
      const RedisValue* health = field(node, "health");
      if (!role || role->str != "master" || (health && health->str != "online")) continue;
      const RedisValue* endpoint = field(node, "endpoint");
      const RedisValue* ip = field(node, "ip");
      std::string host = endpoint && endpoint->str != "?" && !endpoint->str.empty() ? endpoint->str
                         : ip                                                       ? ip->str
                                                                                    : std::string();
      master = address(std::move(host), field(node, "port"), asked);
    }
    if (!master || slots->elements.size() % 2 != 0) continue;  // a shard without a live master
    for (std::size_t i = 0; i + 1 < slots->elements.size(); i += 2) {
      auto from = integer_of(slots->elements[i]), to = integer_of(slots->elements[i + 1]);
      if (!from || !to || *from < 0 || *to >= kRedisSlots || *from > *to) return std::nullopt;
      for (long long s = *from; s <= *to; ++s) map.move(static_cast<int>(s), *master);
    }
  }
  return map;
}

std::optional<RedisSlotMap> RedisSlotMap::from_slots(const RedisValue& reply, const std::string& asked) {
  if (reply.type != RedisValue::Type::array) return std::nullopt;
  RedisSlotMap map;
  for (const RedisValue& range : reply.elements) {
    if (range.type != RedisValue::Type::array || range.elements.size() < 3) return std::nullopt;
    auto from = integer_of(range.elements[0]), to = integer_of(range.elements[1]);
    const RedisValue& master = range.elements[2];
    if (!from || !to || *from < 0 || *to >= kRedisSlots || *from > *to || master.type != RedisValue::Type::array ||
        master.elements.size() < 2) {
      return std::nullopt;
    }
    auto node = address(master.elements[0].str, &master.elements[1], asked);
    if (!node) return std::nullopt;
    for (long long s = *from; s <= *to; ++s) map.move(static_cast<int>(s), *node);
  }
  return map;
}

}  // namespace stripe_sync
