#pragma once
// What every long-running process does first: block the stop signals (so one thread can wait
// for them with sigwait), ignore SIGPIPE, and load its settings, printing --help or the one-line
// error and exiting as a user expects.
#include <signal.h>

#include <optional>
#include <span>
#include <string_view>

#include "common/core/config.hpp"
#include "common/core/log.hpp"

namespace stripe_sync {

// Blocks SIGTERM and SIGINT in this thread and every thread started after it; ignores SIGPIPE.
sigset_t block_stop_signals();

// The settings, or nullopt after printing --help (exit status 0, in `exit_code`) or the one-line
// error (exit status 2).
std::optional<Settings> load_settings(std::string_view process, std::string_view usage,
                                      std::span<const SettingSpec> specs, int argc, char** argv, int& exit_code);

// LOG_LEVEL and LOG_FORMAT of `settings`; throws ConfigError naming them when malformed.
void read_log_settings(const Settings& settings, log::Level& level, log::Format& format);

}  // namespace stripe_sync
