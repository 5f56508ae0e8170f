#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/config.hpp"

namespace stripe_sync::cli {

// Each returns the process exit code; ConfigError escapes for a usage error.
int run_broker(const std::vector<std::string>& args);
int run_sign(const std::vector<std::string>& args);
int run_state(const std::vector<std::string>& args);
int run_audit(const std::vector<std::string>& args);
int run_dlq(const std::vector<std::string>& args);
int run_backfill(const std::vector<std::string>& args);
int run_doctor(const std::vector<std::string>& args);

// The settings of a command that takes no positional argument, from the environment and `args`;
// nullopt when --help was asked (and printed). Logs go to stderr as JSON at LOG_LEVEL.
std::optional<Settings> command_settings(std::span<const SettingSpec> specs, std::string_view usage,
                                         const std::vector<std::string>& args);

// "2026-11-24T10:00:00Z" or "2026-11-24" (UTC) as unix ms; throws ConfigError otherwise.
std::int64_t parse_utc_ms(const std::string& text);

}  // namespace stripe_sync::cli
