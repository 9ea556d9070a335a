#include "diag/source.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace rapport::diag {

SourceFile::SourceFile(std::string path, std::string text) : path_(std::move(path)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (std::uint32_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }
}

std::uint32_t count_code_points(std::string_view text) {
  std::uint32_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;  // continuation bytes don't start a code point
  }
  return count;
}

Position SourceFile::position(std::uint32_t offset) const {
  offset = std::min<std::uint32_t>(offset, static_cast<std::uint32_t>(text_.size()));
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  auto line_index = static_cast<std::uint32_t>(it - line_starts_.begin()) - 1;
  std::uint32_t start = line_starts_[line_index];
  std::string_view before(text_.data() + start, offset - start);
  return {line_index + 1, count_code_points(before) + 1};
}

std::uint32_t SourceFile::offset_of(Position pos) const {
  if (pos.line == 0) return 0;
  if (pos.line > line_starts_.size()) return static_cast<std::uint32_t>(text_.size());
  std::uint32_t offset = line_starts_[pos.line - 1];
  std::uint32_t column = 1;
  while (offset < text_.size() && text_[offset] != '\n' && column < pos.column) {
    ++offset;
    while (offset < text_.size() && (static_cast<unsigned char>(text_[offset]) & 0xC0) == 0x80) ++offset;
    ++column;
  }
  return offset;
}

std::string_view SourceFile::line_text(std::uint32_t line) const {
  if (line == 0 || line > line_starts_.size()) return {};
  std::uint32_t start = line_starts_[line - 1];
  std::uint32_t end = line < line_starts_.size() ? line_starts_[line] - 1 : static_cast<std::uint32_t>(text_.size());
  if (end > start && text_[end - 1] == '\r') --end;
  return std::string_view(text_).substr(start, end - start);
}

SourceFilePtr read_source_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path;
    return nullptr;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    error = "cannot read " + path;
    return nullptr;
  }
  return std::make_shared<SourceFile>(path, buffer.str());
}

}  // namespace rapport::diag
