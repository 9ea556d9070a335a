#pragma once
// A small streaming writer for the pretty-printed JSON reports (run JSON, SARIF, webhooks):
// two-space indentation, members in the order written, so the output is deterministic byte
// for byte. Strings go through engine::json_string (invalid UTF-8 becomes U+FFFD).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::reports {

/// The shortest text that reads back as `value` ("150", "0.25"): how numbers appear in JSON and prose.
std::string json_number(double value);

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& begin_array();
  /// Closes the innermost object or array.
  JsonWriter& end();
  /// The next member's name; the value written next is its value.
  JsonWriter& key(std::string_view name);

  JsonWriter& string(std::string_view value);
  JsonWriter& number(std::size_t value);
  JsonWriter& number(double value);
  JsonWriter& boolean(bool value);
  JsonWriter& null();
  /// A value that is already JSON (one line), e.g. engine::finding_json.
  JsonWriter& raw(std::string_view json);

  /// key(name) then the value.
  JsonWriter& member(std::string_view name, std::string_view value) { return key(name).string(value); }
  JsonWriter& member(std::string_view name, const char* value) { return key(name).string(value); }
  JsonWriter& member(std::string_view name, std::size_t value) { return key(name).number(value); }
  JsonWriter& member(std::string_view name, double value) { return key(name).number(value); }
  JsonWriter& member(std::string_view name, bool value) { return key(name).boolean(value); }
  /// An array of strings.
  JsonWriter& member(std::string_view name, const std::vector<std::string>& values);

  /// The document, ending with a newline. Every container must be closed.
  [[nodiscard]] std::string str() const;

 private:
  struct Level {
    char close;
    bool has_items = false;
  };
  void next_item();
  JsonWriter& open(char open, char close);

  std::string out_;
  std::vector<Level> levels_;
  bool after_key_ = false;
};

}  // namespace rapport::reports
