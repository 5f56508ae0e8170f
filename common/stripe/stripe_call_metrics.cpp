#include "common/stripe/stripe_call_metrics.hpp"

#include <iterator>
#include <string>
#include <string_view>

namespace stripe_sync {

namespace {
constexpr std::string_view kMethods[] = {"GET", "POST"};
constexpr int kStatuses[] = {0, 200, 400, 401, 402, 403, 404, 409, 424, 429, 500, 502, 503, 504};
constexpr std::size_t kSlots = std::size(kStatuses) + 1;  // the last: "other"
}  // namespace

StripeCallMetrics::StripeCallMetrics(metrics::Registry& r) {
  for (std::string_view m : kMethods) {
    for (std::size_t i = 0; i < kSlots; ++i) {
      const std::string code = i < std::size(kStatuses) ? (kStatuses[i] ? std::to_string(kStatuses[i]) : "none") : "other";
      requests_.push_back(&r.counter("stripe_api_requests_total",
                                     "Requests (each attempt) to Stripe's API by method and HTTP status",
                                     "method=\"" + std::string(m) + "\",code=\"" + code + "\""));
    }
    seconds_.push_back(&r.histogram("stripe_api_request_seconds",
                                    "Duration of one attempt of a request to Stripe's API, seconds",
                                    "method=\"" + std::string(m) + "\""));
  }
}

void StripeCallMetrics::record(bool post, int status, double seconds) {
  const std::size_t m = post ? 1 : 0;
  std::size_t slot = std::size(kStatuses);
  for (std::size_t i = 0; i < std::size(kStatuses); ++i)
    if (kStatuses[i] == status) slot = i;
  requests_[m * kSlots + slot]->inc();
  seconds_[m]->observe(seconds);
}

}  // namespace stripe_sync
