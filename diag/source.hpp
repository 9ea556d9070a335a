#pragma once
// Source text with a line index: maps byte offsets to line and column for diagnostics.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::diag {

/// A half-open byte range [begin, end) in one source file.
struct Span {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;

  [[nodiscard]] bool empty() const { return begin >= end; }
  /// The smallest span covering both.
  [[nodiscard]] Span merge(Span other) const {
    return {begin < other.begin ? begin : other.begin, end > other.end ? end : other.end};
  }
};

/// 1-based line and column; the column counts UTF-8 code points so carets line up.
struct Position {
  std::uint32_t line = 1;
  std::uint32_t column = 1;
};

/// One file of text (a rule file, a YAML file, a data file excerpt) that diagnostics point into.
class SourceFile {
 public:
  SourceFile(std::string path, std::string text);

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::string& text() const { return text_; }
  /// Line and column of a byte offset (clamped to the text).
  [[nodiscard]] Position position(std::uint32_t offset) const;
  /// Byte offset of the start of a 1-based line and code-point column (clamped).
  [[nodiscard]] std::uint32_t offset_of(Position pos) const;
  /// The text of a 1-based line without its line break.
  [[nodiscard]] std::string_view line_text(std::uint32_t line) const;
  [[nodiscard]] std::uint32_t line_count() const { return static_cast<std::uint32_t>(line_starts_.size()); }

 private:
  std::string path_;
  std::string text_;
  std::vector<std::uint32_t> line_starts_;
};

using SourceFilePtr = std::shared_ptr<const SourceFile>;

/// Reads a file into a SourceFile; returns nullptr and sets `error` when it can't.
SourceFilePtr read_source_file(const std::string& path, std::string& error);

/// Counts UTF-8 code points in a byte range, treating each invalid byte as one.
std::uint32_t count_code_points(std::string_view text);

}  // namespace rapport::diag
