#pragma once
// Test data copied from Stripe's reference (tests/fixtures/), and signing helpers.
#include <cstdint>
#include <string>
#include <vector>

namespace stripe_sync::test {

std::string fixture_path(const std::string& relative);
std::string read_fixture(const std::string& relative);  // exact bytes
std::vector<std::string> event_fixture_names();         // "events/customer.created.json", ...

std::int64_t unix_now();

// A copy of `body` with its top-level "id" replaced (the fixture ids are fixed strings).
std::string with_event_id(const std::string& body, const std::string& id);

}  // namespace stripe_sync::test
