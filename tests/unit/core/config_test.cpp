#include "common/core/config.hpp"

#include <gtest/gtest.h>

#include <map>

namespace stripe_sync {
namespace {

const SettingSpec kSpecs[] = {
    {"SECRET_LIST", "", "secrets", true, true},
    {"BROKERS", "", "brokers", true},
    {"THREADS", "2", "threads"},
    {"TIMEOUT_MS", "5000", "timeout"},
    {"", "3", "count", false, false, "count"},
    {"", "", "a switch", false, false, "dry-run", true},
    {"", "", "repeatable", false, false, "event-id", false, true},
};

struct FakeEnv {
  std::map<std::string, std::string> vars;
  EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

Settings load(const FakeEnv& env, std::vector<std::string> args) {
  return Settings::load(kSpecs, args, env.lookup());
}

TEST(Config, ReadsTheEnvironmentAndAppliesDefaults) {
  FakeEnv env{{{"SECRET_LIST", "a,b"}, {"BROKERS", "h:1"}}};
  auto s = load(env, {});
  EXPECT_EQ(s.get("BROKERS"), "h:1");
  EXPECT_EQ(s.get_int("THREADS", 1, 8), 2);
  EXPECT_EQ(s.get_list("SECRET_LIST"), (std::vector<std::string>{"a", "b"}));
}

TEST(Config, FlagsOverrideTheEnvironment) {
  FakeEnv env{{{"SECRET_LIST", "a"}, {"BROKERS", "h:1"}, {"THREADS", "4"}}};
  auto s = load(env, {"--threads", "6", "--brokers=x:2", "--count", "9", "--dry-run"});
  EXPECT_EQ(s.get_int("THREADS", 1, 8), 6);
  EXPECT_EQ(s.get("BROKERS"), "x:2");
  EXPECT_EQ(s.get_int("count", 0, 10), 9);
  EXPECT_TRUE(s.get_bool("dry-run"));
}

TEST(Config, RepeatableFlagsCollectEveryValue) {
  FakeEnv env{{{"SECRET_LIST", "a"}, {"BROKERS", "h:1"}}};
  auto s = load(env, {"--event-id", "evt_1", "--event-id=evt_2", "--threads", "3", "--threads", "4"});
  EXPECT_EQ(s.get_list("event-id"), (std::vector<std::string>{"evt_1", "evt_2"}));
  EXPECT_EQ(s.get_int("THREADS", 1, 8), 4);  // not repeatable: the last one wins
}

TEST(Config, MissingRequiredSettingIsOneClearLine) {
  FakeEnv env{{{"SECRET_LIST", "a"}}};
  try {
    load(env, {});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("BROKERS"), std::string::npos);
    EXPECT_NE(msg.find("--brokers"), std::string::npos);
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(Config, HelpSkipsRequiredChecks) {
  auto s = load(FakeEnv{}, {"--help"});
  EXPECT_TRUE(s.help_requested());
}

TEST(Config, RejectsUnknownFlagsAndMissingValues) {
  FakeEnv env{{{"SECRET_LIST", "a"}, {"BROKERS", "h:1"}}};
  EXPECT_THROW(load(env, {"--nope", "1"}), ConfigError);
  EXPECT_THROW(load(env, {"--threads"}), ConfigError);
}

TEST(Config, RejectsOutOfRangeAndNonNumericValues) {
  FakeEnv env{{{"SECRET_LIST", "a"}, {"BROKERS", "h:1"}, {"THREADS", "many"}}};
  auto s = load(env, {});
  EXPECT_THROW(s.get_int("THREADS", 1, 8), ConfigError);
  auto s2 = load(env, {"--threads", "99"});
  EXPECT_THROW(s2.get_int("THREADS", 1, 8), ConfigError);
}

TEST(Config, MalformedSecretValueIsNotEchoed) {
  FakeEnv env{{{"SECRET_LIST", "whsec_topsecret"}, {"BROKERS", "h:1"}}};
  auto s = load(env, {});
  try {
    s.get_int("SECRET_LIST", 0, 1);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("topsecret"), std::string::npos);
  }
}

TEST(Config, HelpListsEverySettingWithVariableAndDefault) {
  std::string help = Settings::help_text("prog", kSpecs);
  for (const auto* flag : {"--secret-list", "--brokers", "--threads", "--timeout-ms", "--count", "--dry-run"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(help.find("env THREADS; default: 2"), std::string::npos);
  EXPECT_NE(help.find("env BROKERS; required"), std::string::npos);
}

TEST(Config, ParsesHostPort) {
  auto hp = parse_host_port("127.0.0.1:8080", "X");
  EXPECT_EQ(hp.host, "127.0.0.1");
  EXPECT_EQ(hp.port, 8080);
  auto v6 = parse_host_port("[::1]:0", "X");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 0);
  EXPECT_THROW(parse_host_port("nohost", "X"), ConfigError);
  EXPECT_THROW(parse_host_port("h:99999", "X"), ConfigError);
}

}  // namespace
}  // namespace stripe_sync
