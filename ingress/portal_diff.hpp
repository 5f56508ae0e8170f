#pragma once
// What changed while the customer was in the portal: the state recorded when the session was
// created against the state re-synced from Stripe on return, as the seed API reports it
// ("Payment method updated: 4242", "Email updated: old → new",
// "Subscription sub_… status: active → canceled"). Pure.
#include <map>
#include <string>
#include <vector>

namespace stripe_sync::ingress {

using ObjectFields = std::map<std::string, std::string>;  // a stored hash: field -> value

struct CustomerState {
  ObjectFields customer;
  std::map<std::string, ObjectFields> subscriptions;    // by id (live ones)
  std::map<std::string, ObjectFields> payment_methods;  // by id (attached ones)
};

struct SyncReport {
  bool customer_updated = false;
  bool subscription_changed = false;
  bool payment_method_updated = false;
  std::vector<std::string> changes;  // customer lines, then payment methods, then subscriptions
};

SyncReport diff_states(const CustomerState& before, const CustomerState& after);

}  // namespace stripe_sync::ingress
