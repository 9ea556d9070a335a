#include "diag/render.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "diag/bytes.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rapport::diag {

namespace {

constexpr std::size_t kMaxShownColumns = 160;  // long lines are shown as a window around the span

const char* color_of(Severity severity) {
  switch (severity) {
    case Severity::Info: return "\033[1;36m";
    case Severity::Warning: return "\033[1;33m";
    case Severity::Error: return "\033[1;31m";
  }
  return "";
}

/// Length in bytes of the UTF-8 sequence starting at `text[i]`, or 0 when it is invalid.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  auto c = static_cast<unsigned char>(text[i]);
  std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  }
  return length;
}

/// Splits a line into displayable code points: tabs become a space, control and invalid bytes U+FFFD.
std::vector<std::string> display_cells(std::string_view line) {
  std::vector<std::string> cells;
  for (std::size_t i = 0; i < line.size();) {
    std::size_t length = utf8_length(line, i);
    if (length == 0) {
      cells.emplace_back("\xEF\xBF\xBD");
      ++i;
      continue;
    }
    auto c = static_cast<unsigned char>(line[i]);
    if (c == '\t') {
      cells.emplace_back(" ");
    } else if (c < 0x20 || c == 0x7F) {
      cells.emplace_back("\xEF\xBF\xBD");
    } else {
      cells.emplace_back(line.substr(i, length));
    }
    i += length;
  }
  return cells;
}

void append_location(std::string& out, const Diagnostic& d) {
  if (!d.file) {
    if (!d.where.empty()) out += d.where + ": ";
    return;
  }
  Position pos = d.file->position(d.span.begin);
  out += d.file->path() + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": ";
}

void append_snippet(std::string& out, const SourceFile& file, Span span, bool primary) {
  Position start = file.position(span.begin);
  Position stop = file.position(std::max(span.end, span.begin));
  auto cells = display_cells(file.line_text(start.line));
  std::size_t first = start.column - 1;
  std::size_t last = stop.line == start.line ? std::max<std::size_t>(stop.column - 1, first + 1) : cells.size();
  last = std::max(last, first + 1);
  std::size_t window_begin = 0;
  if (cells.size() > kMaxShownColumns && first > kMaxShownColumns / 2) {
    window_begin = first - kMaxShownColumns / 2;
  }
  std::size_t window_end = std::min(cells.size(), window_begin + kMaxShownColumns);
  std::string number = std::to_string(start.line);
  std::string gutter(number.size(), ' ');
  std::string shown;
  if (window_begin > 0) shown += "...";
  for (std::size_t i = window_begin; i < window_end; ++i) shown += cells[i];
  if (window_end < cells.size()) shown += "...";
  out += " " + number + " | " + shown + "\n";
  std::string marks(window_begin > 0 ? 3 : 0, ' ');
  std::size_t mark_end = std::min(last, window_end + 1);
  for (std::size_t i = window_begin; i < mark_end; ++i) {
    if (i < first) marks += ' ';
    else marks += (i == first ? (primary ? '^' : '-') : (primary ? '~' : '-'));
  }
  out += " " + gutter + " | " + marks;
}

}  // namespace

std::string render_text(const Diagnostic& d, const RenderOptions& options) {
  std::string out;
  append_location(out, d);
  std::string head = std::string(severity_name(d.severity)) + "[" + std::string(code_id(d.code)) + "]";
  if (options.color) out += std::string(color_of(d.severity)) + head + "\033[0m";
  else out += head;
  out += ": " + d.message + "\n";
  if (d.file) {
    append_snippet(out, *d.file, d.span, true);
    out += "\n";
  }
  for (const auto& label : d.labels) {
    if (!label.file) continue;
    Position pos = label.file->position(label.span.begin);
    out += "   = note: " + label.text + " at " + label.file->path() + ":" + std::to_string(pos.line) + ":" +
           std::to_string(pos.column) + "\n";
    append_snippet(out, *label.file, label.span, false);
    out += "\n";
  }
  for (const auto& help : d.helps) out += "   = help: " + help + "\n";
  for (const auto& note : d.notes) out += "   = note: " + note + "\n";
  return out;
}

std::string render_text(const std::vector<Diagnostic>& diagnostics, const RenderOptions& options) {
  std::string out;
  std::size_t errors = 0;
  std::size_t warnings = 0;
  std::size_t infos = 0;
  for (const auto& d : diagnostics) {
    out += render_text(d, options);
    if (d.severity == Severity::Error) ++errors;
    if (d.severity == Severity::Warning) ++warnings;
    if (d.severity == Severity::Info) ++infos;
  }
  if (errors + warnings + infos > 0) {
    out += std::to_string(errors) + (errors == 1 ? " error, " : " errors, ") + std::to_string(warnings) +
           (warnings == 1 ? " warning" : " warnings");
    if (infos) out += ", " + std::to_string(infos) + (infos == 1 ? " info" : " infos");
    out += "\n";
  }
  return out;
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  json_escape_to(out, text);
  return out;
}

namespace {

/// True when one of the 8 bytes of `word` needs a look: a control character, '"', '\\' or a
/// non-ASCII byte (the exact bit tricks of "Bit Twiddling Hacks": no false negatives).
inline bool word_needs_look(std::uint64_t word) {
  const std::uint64_t below_space = (word - kByteOnes * 0x20) & ~word & kByteHighs;
  return ((word & kByteHighs) | below_space | word_has_byte(word, '"') | word_has_byte(word, '\\')) != 0;
}

/// How many of the bytes from `i` on need nothing (plain ASCII other than '"' and '\\'): 16 at a
/// time with SSE2 (every x86-64 has it), else 8 at a time. Stops at or before the first byte that
/// needs a look, and before the last 16 (or 8) bytes are short of a whole block.
inline std::size_t plain_run(std::string_view text, std::size_t i) {
  const std::size_t start = i;
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  while (i + 16 <= text.size()) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
    // A signed compare: bytes of 0x80 and above are negative, so "below a space" also finds them.
    const __m128i look = _mm_or_si128(_mm_cmplt_epi8(bytes, space),
                                      _mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(look));
    if (mask) return i + static_cast<std::size_t>(__builtin_ctz(mask)) - start;
    i += 16;
  }
#endif
  while (i + 8 <= text.size()) {
    std::uint64_t word;
    std::memcpy(&word, text.data() + i, 8);
    if (word_needs_look(word)) break;
    i += 8;
  }
  return i - start;
}

}  // namespace

void json_escape_to(std::string& out, std::string_view text) {
  // Bytes that need nothing are copied in runs, found 16 bytes at a time: reports escape millions
  // of strings.
  std::size_t run = 0;
  std::size_t i = 0;
  auto flush = [&] { out.append(text.data() + run, i - run); };
  while (i < text.size()) {
    i += plain_run(text, i);
    if (i == text.size()) break;
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      if (c < 0x80) {
        ++i;
        continue;
      }
      if (std::size_t length = utf8_length(text, i)) {
        i += length;
        continue;
      }
      flush();
      out += "\\ufffd";
      run = ++i;
      continue;
    }
    flush();
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        char buffer[8];
        std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
        out += buffer;
      }
    }
    run = ++i;
  }
  flush();
}

std::string diagnostic_json(const Diagnostic& d) {
  auto list = [](const std::vector<std::string>& items) {
    std::string s = "[";
    for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ",\"" : "\"") + json_escape(items[i]) + "\"";
    return s + "]";
  };
  std::string out = "{";
  if (d.file) {
    Position start = d.file->position(d.span.begin);
    Position stop = d.file->position(d.span.end);
    out += "\"file\":\"" + json_escape(d.file->path()) + "\",\"line\":" + std::to_string(start.line) +
           ",\"column\":" + std::to_string(start.column) + ",\"end_line\":" + std::to_string(stop.line) +
           ",\"end_column\":" + std::to_string(stop.column) + ",";
  } else if (!d.where.empty()) {
    out += "\"where\":\"" + json_escape(d.where) + "\",";
  }
  out += "\"severity\":\"" + std::string(severity_name(d.severity)) + "\",\"code\":\"" + std::string(code_id(d.code)) +
         "\",\"message\":\"" + json_escape(d.message) + "\",\"helps\":" + list(d.helps) + ",\"notes\":" + list(d.notes) + "}";
  return out;
}

std::string render_json(const std::vector<Diagnostic>& diagnostics) {
  std::string out = "[";
  for (std::size_t i = 0; i < diagnostics.size(); ++i) out += (i ? ",\n  " : "\n  ") + diagnostic_json(diagnostics[i]);
  out += diagnostics.empty() ? "]\n" : "\n]\n";
  return out;
}

}  // namespace rapport::diag
