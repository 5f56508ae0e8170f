#pragma once
// The status routes every process serves: /healthz (the process is up), /readyz (it can do its
// work; 503 in the error format saying why not) and /metrics (Prometheus text). One definition,
// for stripe-ingress (beside its other routes) and stripe-worker (on WORKER_METRICS_LISTEN).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/http/http_types.hpp"

namespace stripe_sync {

class StatusSource {
 public:
  virtual ~StatusSource() = default;
  // True when ready; otherwise `reason` says what is missing (safe to show: no secret).
  virtual bool ready(std::string& reason) const = 0;
  virtual std::string metrics_text() const = 0;
};

// The answer when `path` is a status route (405 for a method other than GET or HEAD), else
// nullopt.
std::optional<Response> status_route(const Request& request, std::string_view path, const StatusSource& source,
                                     std::int64_t now_ms);

}  // namespace stripe_sync
