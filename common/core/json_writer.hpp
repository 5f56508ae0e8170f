#pragma once
// A small, allocation-light JSON object writer for log lines and error bodies: the one place
// where we produce JSON text by hand, so escaping lives (and is tested) once.
#include <cstdint>
#include <string>
#include <string_view>

namespace stripe_sync {

// Appends `s` to `out` as a JSON string literal (with quotes). Control characters and invalid
// UTF-8 bytes are escaped (\u00XX / U+FFFD) so a log line is always one valid JSON line.
void append_json_string(std::string& out, std::string_view s);

class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  JsonObjectWriter& field(std::string_view key, std::string_view value);
  JsonObjectWriter& field(std::string_view key, const char* value) {
    return field(key, std::string_view(value));
  }
  JsonObjectWriter& field(std::string_view key, std::int64_t value);
  JsonObjectWriter& field(std::string_view key, bool value);
  // `json` must already be valid JSON text (a nested object, a number).
  JsonObjectWriter& raw_field(std::string_view key, std::string_view json);
  void close() { out_.push_back('}'); }

 private:
  void key(std::string_view k);
  std::string& out_;
  bool first_ = true;
};

}  // namespace stripe_sync
