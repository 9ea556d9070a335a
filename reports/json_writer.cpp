#include "reports/json_writer.hpp"

#include <cassert>
#include <charconv>

#include "engine/output.hpp"

namespace rapport::reports {

void JsonWriter::next_item() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (levels_.empty()) return;
  out_ += levels_.back().has_items ? ",\n" : "\n";
  out_.append(2 * levels_.size(), ' ');
  levels_.back().has_items = true;
}

JsonWriter& JsonWriter::open(char open, char close) {
  next_item();
  out_ += open;
  levels_.push_back({close});
  return *this;
}

JsonWriter& JsonWriter::begin_object() { return open('{', '}'); }
JsonWriter& JsonWriter::begin_array() { return open('[', ']'); }

JsonWriter& JsonWriter::end() {
  assert(!levels_.empty() && !after_key_);
  Level level = levels_.back();
  levels_.pop_back();
  if (level.has_items) {
    out_ += '\n';
    out_.append(2 * levels_.size(), ' ');
  }
  out_ += level.close;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  assert(!levels_.empty() && levels_.back().close == '}');
  next_item();
  out_ += engine::json_string(name) + ": ";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view value) { return raw(engine::json_string(value)); }
JsonWriter& JsonWriter::number(std::size_t value) { return raw(std::to_string(value)); }

std::string json_number(double value) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

JsonWriter& JsonWriter::number(double value) { return raw(json_number(value)); }

JsonWriter& JsonWriter::boolean(bool value) { return raw(value ? "true" : "false"); }
JsonWriter& JsonWriter::null() { return raw("null"); }

JsonWriter& JsonWriter::raw(std::string_view json) {
  next_item();
  out_ += json;
  return *this;
}

JsonWriter& JsonWriter::member(std::string_view name, const std::vector<std::string>& values) {
  key(name).begin_array();
  for (const auto& v : values) string(v);
  return end();
}

std::string JsonWriter::str() const {
  assert(levels_.empty());
  return out_ + "\n";
}

}  // namespace rapport::reports
