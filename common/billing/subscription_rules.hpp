#pragma once
// The billing rules about a subscription's status: the one definition of each, used by the
// event mapping (index and tombstones), the portal's flows and the read side.
#include <string_view>

namespace stripe_sync {

// A terminal status: Stripe never moves a subscription out of it. It leaves the customer's
// `subscriptions` index, and a snapshot in it is a tombstone.
constexpr bool subscription_ended(std::string_view status) {
  return status == "canceled" || status == "incomplete_expired";
}

// Live: what the customer's `subscriptions` index holds (every status that is not ended,
// including trialing, past_due, unpaid, paused and incomplete).
constexpr bool subscription_live(std::string_view status) { return !status.empty() && !subscription_ended(status); }

// What the portal's update and cancel flows may act on: live, and past its first payment
// (Stripe's portal refuses to update or cancel an `incomplete` subscription).
constexpr bool subscription_in_portal(std::string_view status) {
  return subscription_live(status) && status != "incomplete";
}

}  // namespace stripe_sync
