#include "common/billing/state_reader.hpp"

#include <utility>
#include <vector>

namespace stripe_sync {

ObjectFields fields_of(const RedisValue& hash, SyncFields sync_fields) {
  ObjectFields o;
  for (std::size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
    const std::string& name = hash.elements[i].str;
    if (sync_fields == SyncFields::omit && !name.empty() && name[0] == '_') continue;
    o[name] = hash.elements[i + 1].str;
  }
  return o;
}

ObjectFields fields_of(const ChangeRecord& record) {
  ObjectFields o;
  for (const auto& [k, v] : record.fields) o[k] = v;
  return o;
}

Result<CustomerState> read_customer_state(RedisClient& redis, const Keys& keys, std::string_view customer,
                                          SyncFields sync_fields) {
  auto first = redis.pipeline({{"HGETALL", keys.customer(customer)},
                               {"SMEMBERS", keys.subscriptions(customer)},
                               {"SMEMBERS", keys.payment_methods(customer)}});
  if (!first) return first.error();
  for (const RedisValue& v : *first) {
    if (v.is_error()) return Error{ErrorClass::permanent, "redis_reply", "Redis: " + v.str};
  }
  CustomerState s;
  s.customer = fields_of((*first)[0], sync_fields);
  std::vector<std::string> hash_keys;
  std::vector<std::pair<bool, std::string>> which;  // (subscription?, id)
  for (const auto& id : (*first)[1].elements) {
    hash_keys.push_back(keys.subscription(customer, id.str));
    which.emplace_back(true, id.str);
  }
  for (const auto& id : (*first)[2].elements) {
    hash_keys.push_back(keys.payment_method(customer, id.str));
    which.emplace_back(false, id.str);
  }
  if (hash_keys.empty()) return s;
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(hash_keys.size());
  for (const auto& k : hash_keys) commands.push_back({"HGETALL", k});
  auto hashes = redis.pipeline(commands);
  if (!hashes) return hashes.error();
  for (std::size_t i = 0; i < which.size(); ++i) {
    (which[i].first ? s.subscriptions : s.payment_methods)[which[i].second] = fields_of((*hashes)[i], sync_fields);
  }
  return s;
}

}  // namespace stripe_sync
