#pragma once
// Settings from the environment, each overridable by a command-line flag. Each process declares
// its settings as a table of SettingSpec, loads them once at start-up into its own plain config
// struct, and never calls getenv again.
//
// The flag of a setting is its variable name in lower case with '-' for '_':
// STRIPE_WEBHOOK_SECRET -> --stripe-webhook-secret. `--flag value` and `--flag=value` both work.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stripe_sync {

// Thrown at start-up only; what() is the one line the process prints before it exits.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SettingSpec {
  std::string_view env;            // e.g. "KAFKA_BROKERS"; empty for a flag-only option
  std::string_view default_value;  // used when neither the variable nor the flag is given
  std::string_view help;
  bool required = false;
  bool secret = false;             // its value is never printed
  std::string_view flag = {};      // defaults to the variable name as a flag
  bool is_switch = false;          // a flag that takes no value ("1" when present)
  bool repeatable = false;         // may be given several times; values join with ','
};

using EnvLookup = std::function<const char*(const char*)>;

class Settings {
 public:
  // Throws ConfigError for an unknown flag, a flag without its value, or a required setting
  // that is missing (unless --help was given).
  static Settings load(std::span<const SettingSpec> specs, std::span<const std::string> args,
                       const EnvLookup& env);

  bool help_requested() const { return help_; }
  const std::vector<std::string>& positional() const { return positional_; }

  // The value of a setting by its variable (or flag-only) name; empty when unset.
  const std::string& get(std::string_view name) const;
  bool is_set(std::string_view name) const;

  // Typed readers; each throws ConfigError naming the setting when the value is malformed.
  std::int64_t get_int(std::string_view name, std::int64_t min, std::int64_t max) const;
  std::chrono::milliseconds get_ms(std::string_view name, std::int64_t min, std::int64_t max) const;
  std::vector<std::string> get_list(std::string_view name) const;  // comma-separated
  bool get_bool(std::string_view name) const;

  // The --help text: usage line, then each setting with its flag, variable and default.
  static std::string help_text(std::string_view usage, std::span<const SettingSpec> specs);

 private:
  const SettingSpec& spec(std::string_view name) const;
  std::vector<SettingSpec> specs_;
  std::map<std::string, std::string, std::less<>> values_;
  std::vector<std::string> positional_;
  std::set<std::string> repeated_;  // flags already seen on the command line
  bool help_ = false;
};

std::string flag_name(const SettingSpec& spec);

// "host:port" -> pair; throws ConfigError naming `setting` when malformed.
struct HostPort {
  std::string host;
  std::uint16_t port;
};
HostPort parse_host_port(std::string_view value, std::string_view setting);

}  // namespace stripe_sync
