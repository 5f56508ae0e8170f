#pragma once
// Portal usage over a period, from the visits this service recorded and the portal sessions
// Stripe reported (billing_portal.session.created) that were opened elsewhere. Pure arithmetic.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stripe_sync::ingress {

struct VisitRecord {
  std::string customer;
  std::vector<std::string> features;    // the workflow's feature, then what the return showed changed
  std::optional<double> duration_min;   // set when the customer came back
};

struct AnalyticsReport {
  int total_sessions = 0;
  int unique_customers = 0;
  std::vector<std::pair<std::string, int>> most_used_features;  // by count, then name
  double average_duration_minutes = 0;
  double median_duration_minutes = 0;
  double return_rate = 0;  // returned visits / visits created here (0 when none)
};

// `ours`: visits created through this API; `elsewhere`: sessions known only from Stripe's events
// (they count as sessions and customers, and by their flow as a feature, never as returns).
AnalyticsReport portal_analytics(const std::vector<VisitRecord>& ours, const std::vector<VisitRecord>& elsewhere);

// The feature a workflow uses, by the portal's own names ("payment_method_update", ...;
// billing_review is "invoice_history").
std::string workflow_feature(std::string_view workflow_type);

}  // namespace stripe_sync::ingress
