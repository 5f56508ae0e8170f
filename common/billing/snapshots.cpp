#include "common/billing/snapshots.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace stripe_sync {

std::string entitlement_summary_json(std::string_view customer, const boost::json::array& active_entitlements,
                                     bool livemode) {
  boost::json::object summary;
  summary["object"] = "entitlements.active_entitlement_summary";
  summary["customer"] = customer;
  summary["entitlements"] =
      boost::json::object{{"object", "list"}, {"data", active_entitlements}, {"has_more", false}};
  summary["livemode"] = livemode;
  return boost::json::serialize(summary);
}

}  // namespace stripe_sync
