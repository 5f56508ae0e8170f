// libFuzzer: Stripe's form encoding. Decoding arbitrary bytes must not crash; any JSON object
// encodes, and its encoding decodes (the two are each other's inverse on what we send).
#include <boost/json/parse.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#include "common/stripe/form_encoding.hpp"

using namespace stripe_sync;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::pair<std::string, std::string>> pairs;
  form_decode(input, pairs);

  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(input, ec);
  if (!ec && v.is_object()) {
    std::string encoded = form_encode(v.as_object());
    std::vector<std::pair<std::string, std::string>> back;
    if (!form_decode(encoded, back)) std::abort();  // our own output always decodes
  }
  std::string once = percent_encode(input);
  for (char c : once) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%')) {
      std::abort();
    }
  }
  return 0;
}
