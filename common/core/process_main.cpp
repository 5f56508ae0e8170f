#include "common/core/process_main.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace stripe_sync {

sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return set;
}

std::optional<Settings> load_settings(std::string_view process, std::string_view usage,
                                      std::span<const SettingSpec> specs, int argc, char** argv, int& exit_code) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    auto settings = Settings::load(specs, args, ::getenv);
    if (settings.help_requested()) {
      std::fputs(Settings::help_text(usage, specs).c_str(), stdout);
      exit_code = 0;
      return std::nullopt;
    }
    return settings;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(process.size()), process.data(), e.what());
    exit_code = 2;
    return std::nullopt;
  }
}

void read_log_settings(const Settings& s, log::Level& level, log::Format& format) {
  try {
    level = log::parse_level(s.get("LOG_LEVEL"));
    format = log::parse_format(s.get("LOG_FORMAT"));
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("LOG_LEVEL/LOG_FORMAT ") + e.what());
  }
}

}  // namespace stripe_sync
