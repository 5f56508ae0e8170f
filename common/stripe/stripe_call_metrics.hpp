#pragma once
// The series of calls to Stripe's API (stripe_api_requests_total{method,code},
// stripe_api_request_seconds{method}), resolved once when a client is made: a call indexes them,
// with no registry lookup. Methods are GET and POST (what StripeApi offers); statuses are those
// Stripe documents, "none" for no HTTP answer, and "other" for anything else a proxy may send.
#include <vector>

#include "common/core/metrics.hpp"

namespace stripe_sync {

class StripeCallMetrics {
 public:
  explicit StripeCallMetrics(metrics::Registry& registry);
  // `status` 0: no HTTP answer.
  void record(bool post, int status, double seconds);

 private:
  std::vector<metrics::Counter*> requests_;  // by method, then status slot
  std::vector<metrics::Histogram*> seconds_;  // by method
};

}  // namespace stripe_sync
