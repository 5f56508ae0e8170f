#include "common/core/config.hpp"

#include <algorithm>
#include <charconv>

namespace stripe_sync {

std::string flag_name(const SettingSpec& s) {
  if (!s.flag.empty()) return std::string(s.flag);
  std::string f(s.env);
  std::transform(f.begin(), f.end(), f.begin(), [](char c) {
    return c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return f;
}

namespace {
std::string key_of(const SettingSpec& s) {
  return s.env.empty() ? flag_name(s) : std::string(s.env);
}
}  // namespace

Settings Settings::load(std::span<const SettingSpec> specs, std::span<const std::string> args,
                        const EnvLookup& env) {
  Settings out;
  out.specs_.assign(specs.begin(), specs.end());
  for (const auto& s : specs) {
    std::string value(s.default_value);
    if (!s.env.empty()) {
      std::string env_name(s.env);
      if (const char* v = env(env_name.c_str()); v != nullptr && *v != '\0') value = v;
    }
    out.values_[key_of(s)] = value;
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out.help_ = true;
      continue;
    }
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) {
      out.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    auto it = std::find_if(specs.begin(), specs.end(),
                           [&](const SettingSpec& s) { return flag_name(s) == name; });
    if (it == specs.end()) throw ConfigError("unknown option --" + name + " (see --help)");
    std::string value;
    if (it->is_switch) {
      value = inline_value.value_or("1");
    } else if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      throw ConfigError("option --" + name + " needs a value");
    }
    std::string& slot = out.values_[key_of(*it)];
    if (it->repeatable && out.repeated_.count(key_of(*it))) {
      slot += "," + value;
    } else {
      slot = value;
      out.repeated_.insert(key_of(*it));
    }
  }
  if (!out.help_) {
    for (const auto& s : specs) {
      if (s.required && out.values_[key_of(s)].empty()) {
        throw ConfigError(std::string("missing required setting ") +
                          (s.env.empty() ? "--" + flag_name(s)
                                         : std::string(s.env) + " (or --" + flag_name(s) + ")") +
                          ": " + std::string(s.help));
      }
    }
  }
  return out;
}

const SettingSpec& Settings::spec(std::string_view name) const {
  for (const auto& s : specs_)
    if (key_of(s) == name) return s;
  throw std::logic_error("setting not declared: " + std::string(name));
}

const std::string& Settings::get(std::string_view name) const {
  spec(name);
  return values_.find(name)->second;
}

bool Settings::is_set(std::string_view name) const { return !get(name).empty(); }

std::int64_t Settings::get_int(std::string_view name, std::int64_t min, std::int64_t max) const {
  const std::string& v = get(name);
  std::int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size() || out < min || out > max) {
    throw ConfigError(std::string(name) + " must be a whole number from " + std::to_string(min) +
                      " to " + std::to_string(max) +
                      (spec(name).secret ? std::string() : ", got '" + v + "'"));
  }
  return out;
}

std::chrono::milliseconds Settings::get_ms(std::string_view name, std::int64_t min,
                                           std::int64_t max) const {
  return std::chrono::milliseconds(get_int(name, min, max));
}

std::vector<std::string> Settings::get_list(std::string_view name) const {
  std::vector<std::string> out;
  std::string_view v = get(name);
  while (!v.empty()) {
    auto comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

bool Settings::get_bool(std::string_view name) const {
  const std::string& v = get(name);
  if (v.empty() || v == "0" || v == "false" || v == "no") return false;
  if (v == "1" || v == "true" || v == "yes") return true;
  throw ConfigError(std::string(name) + " must be 1/0, true/false or yes/no, got '" + v + "'");
}

std::string Settings::help_text(std::string_view usage, std::span<const SettingSpec> specs) {
  std::string out = "usage: " + std::string(usage) + "\n\nSettings (flag, environment variable, default):\n";
  for (const auto& s : specs) {
    out += "  --" + flag_name(s);
    if (!s.is_switch) out += " VALUE";
    out += "\n      ";
    out += s.help;
    out += "\n      ";
    if (!s.env.empty()) out += "env " + std::string(s.env) + "; ";
    if (s.required) {
      out += "required";
    } else if (s.secret) {
      out += "secret, no default";
    } else if (s.default_value.empty()) {
      out += "default: none";
    } else {
      out += "default: " + std::string(s.default_value);
    }
    out += "\n";
  }
  out += "  --help\n      print this text and exit\n";
  return out;
}

HostPort parse_host_port(std::string_view value, std::string_view setting) {
  auto colon = value.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == value.size()) {
    throw ConfigError(std::string(setting) + " must be host:port, got '" + std::string(value) + "'");
  }
  std::string_view host = value.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  std::string_view p = value.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc{} || end != p.data() + p.size() || port > 65535) {
    throw ConfigError(std::string(setting) + " has a bad port in '" + std::string(value) + "'");
  }
  return {std::string(host), static_cast<std::uint16_t>(port)};
}

}  // namespace stripe_sync
