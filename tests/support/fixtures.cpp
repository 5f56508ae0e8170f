#include "tests/support/fixtures.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace stripe_sync::test {

std::string fixture_path(const std::string& relative) {
  return std::string(STRIPE_SYNC_FIXTURES_DIR) + "/" + relative;
}

std::string read_fixture(const std::string& relative) {
  std::ifstream in(fixture_path(relative), std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + relative);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> event_fixture_names() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(fixture_path("events"))) {
    if (e.path().extension() == ".json") out.push_back("events/" + e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string with_event_id(const std::string& body, const std::string& id) {
  // The fixtures are pretty-printed with the event id as the first field: "id": "evt_...".
  auto pos = body.find("\"id\": \"evt_");
  if (pos == std::string::npos) throw std::runtime_error("fixture has no event id");
  auto start = pos + 7;
  auto end = body.find('"', start);
  return body.substr(0, start) + id + body.substr(end);
}

}  // namespace stripe_sync::test
