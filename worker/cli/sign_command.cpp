// stripe-sync sign: a Stripe-Signature header for the payload on stdin, as Stripe computes it.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>

#include "common/core/config.hpp"
#include "common/stripe/signature.hpp"
#include "common/core/time.hpp"
#include "worker/cli/cli_commands.hpp"

namespace stripe_sync::cli {

namespace {
const SettingSpec kSignSettings[] = {
    {"", "", "signing secret (whsec_...); several, comma-separated, give several v1 values", true, true, "secret"},
    {"", "", "unix timestamp to sign with (default: now)", false, false, "timestamp"},
};
constexpr const char* kSignUsage =
    "stripe-sync sign --secret whsec_... [--timestamp T] < payload.json\n\n"
    "Prints a Stripe-Signature header value (t=...,v1=...) for the exact bytes on stdin.";
}  // namespace

int run_sign(const std::vector<std::string>& args) {
  auto s = Settings::load(kSignSettings, args, [](const char*) -> const char* { return nullptr; });
  if (s.help_requested()) {
    std::fputs(Settings::help_text(kSignUsage, kSignSettings).c_str(), stdout);
    return 0;
  }
  std::int64_t t = s.is_set("timestamp")
                       ? s.get_int("timestamp", 0, 99999999999)
                       : unix_ms_now() / 1000;
  std::string payload((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  std::cout << sign_payload(payload, s.get_list("secret"), t) << "\n";
  return 0;
}

}  // namespace stripe_sync::cli
