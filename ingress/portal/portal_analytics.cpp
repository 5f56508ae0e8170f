#include "ingress/portal/portal_analytics.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "ingress/portal/portal_workflow.hpp"

namespace stripe_sync::ingress {

std::string workflow_feature(std::string_view workflow_type) {
  const Workflow* w = find_workflow(workflow_type);
  if (w == nullptr) return std::string(workflow_type);
  return w->flow.empty() ? "invoice_history" : std::string(w->flow);
}

namespace {
double round2(double v) { return std::round(v * 100.0) / 100.0; }
}  // namespace

AnalyticsReport portal_analytics(const std::vector<VisitRecord>& ours, const std::vector<VisitRecord>& elsewhere) {
  AnalyticsReport r;
  std::set<std::string> customers;
  std::map<std::string, int> features;
  std::vector<double> durations;
  for (const auto* list : {&ours, &elsewhere}) {
    for (const auto& v : *list) {
      ++r.total_sessions;
      customers.insert(v.customer);
      std::set<std::string> seen(v.features.begin(), v.features.end());  // once per session
      for (const auto& f : seen) ++features[f];
      if (list == &ours && v.duration_min) durations.push_back(*v.duration_min);
    }
  }
  r.unique_customers = static_cast<int>(customers.size());
  r.most_used_features.assign(features.begin(), features.end());
  std::stable_sort(r.most_used_features.begin(), r.most_used_features.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (!durations.empty()) {
    double sum = 0;
    for (double d : durations) sum += d;
    r.average_duration_minutes = round2(sum / static_cast<double>(durations.size()));
    std::sort(durations.begin(), durations.end());
    std::size_t n = durations.size();
    r.median_duration_minutes = round2(n % 2 ? durations[n / 2] : (durations[n / 2 - 1] + durations[n / 2]) / 2);
  }
  if (!ours.empty()) r.return_rate = round2(static_cast<double>(durations.size()) / static_cast<double>(ours.size()));
  return r;
}

}  // namespace stripe_sync::ingress
