#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace stripe_sync::cli {

// Each returns the process exit code; ConfigError escapes for a usage error.
int run_broker(const std::vector<std::string>& args);
int run_sign(const std::vector<std::string>& args);
int run_state(const std::vector<std::string>& args);
int run_audit(const std::vector<std::string>& args);
int run_dlq(const std::vector<std::string>& args);
int run_backfill(const std::vector<std::string>& args);

// "2026-11-24T10:00:00Z" or "2026-11-24" (UTC) as unix ms; throws ConfigError otherwise.
std::int64_t parse_utc_ms(const std::string& text);

}  // namespace stripe_sync::cli
