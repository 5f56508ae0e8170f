// What every positional-free CLI command does first: settings, --help, logs.
#include <cstdio>
#include <cstdlib>

#include "common/core/log.hpp"
#include "worker/cli/cli_commands.hpp"

namespace stripe_sync::cli {

std::optional<Settings> command_settings(std::span<const SettingSpec> specs, std::string_view usage,
                                         const std::vector<std::string>& args) {
  auto s = Settings::load(specs, args, ::getenv);
  if (s.help_requested()) {
    std::fputs(Settings::help_text(usage, specs).c_str(), stdout);
    return std::nullopt;
  }
  log::configure(log::parse_level(s.get("LOG_LEVEL")), log::Format::json, "stripe-sync");
  if (!s.positional().empty()) throw ConfigError("unexpected argument '" + s.positional()[0] + "' (see --help)");
  return s;
}

}  // namespace stripe_sync::cli
