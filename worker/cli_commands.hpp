#pragma once
#include <string>
#include <vector>

namespace stripe_sync::cli {

// Each returns the process exit code; ConfigError escapes for a usage error.
int run_broker(const std::vector<std::string>& args);
int run_sign(const std::vector<std::string>& args);
int run_state(const std::vector<std::string>& args);
int run_audit(const std::vector<std::string>& args);
int run_dlq(const std::vector<std::string>& args);

}  // namespace stripe_sync::cli
