#pragma once
// What changed while the customer was in the portal: the state recorded when the session was
// created against the state re-synced from Stripe on return, as the seed API reports it
// ("Payment method updated: 4242", "Email updated: old → new",
// "Subscription sub_… status: active → canceled"). Pure.
#include <string>
#include <vector>

#include "common/billing/state_reader.hpp"

namespace stripe_sync::ingress {

struct SyncReport {
  bool customer_updated = false;
  bool subscription_changed = false;
  bool payment_method_updated = false;
  std::vector<std::string> changes;  // customer lines, then payment methods, then subscriptions
};

SyncReport diff_states(const CustomerState& before, const CustomerState& after);

}  // namespace stripe_sync::ingress
