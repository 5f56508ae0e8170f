#pragma once
// Stripe's API answers, shaped into the objects extract_snapshot reads where the API has no
// endpoint for the object itself.
#include <string>
#include <string_view>

#include <boost/json/array.hpp>

namespace stripe_sync {

// The customer's active entitlement summary, from the list GET /v1/entitlements/active_entitlements
// answers: shaped as the summary object the webhook carries, so the one mapping reads it.
std::string entitlement_summary_json(std::string_view customer, const boost::json::array& active_entitlements,
                                     bool livemode);

}  // namespace stripe_sync
