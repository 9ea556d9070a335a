#include "reports/markup.hpp"

#include <cstdint>

namespace rapport::reports {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

/// The code point of the well-formed UTF-8 sequence at `at` and its length in bytes;
/// length 0 when the bytes there are not well-formed (overlong, surrogate, truncated).
struct CodePoint {
  std::uint32_t value = 0;
  std::size_t length = 0;
};

CodePoint decode(std::string_view text, std::size_t at) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(at);
  if (lead < 0x80) return {lead, 1};
  std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
  if (length == 0 || lead > 0xF4 || at + length > text.size()) return {};
  std::uint32_t value = lead & (0x7F >> length);
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) return {};
    value = (value << 6) | (byte(at + i) & 0x3F);
  }
  static constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  bool surrogate = value >= 0xD800 && value <= 0xDFFF;
  if (value < kSmallest[length] || value > 0x10FFFF || surrogate) return {};
  return {value, length};
}

/// Walks `text` code point by code point; `each(value, bytes)` appends to the result, and
/// malformed bytes become U+FFFD.
template <typename Each>
std::string transcode(std::string_view text, Each each) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (std::size_t i = 0; i < text.size();) {
    CodePoint c = decode(text, i);
    if (c.length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    each(out, c.value, text.substr(i, c.length));
    i += c.length;
  }
  return out;
}

}  // namespace

std::string markup_escape(std::string_view text) {
  return transcode(text, [](std::string& out, std::uint32_t c, std::string_view bytes) {
    switch (c) {
      case '&': out += "&amp;"; return;
      case '<': out += "&lt;"; return;
      case '>': out += "&gt;"; return;
      case '"': out += "&quot;"; return;
      case '\'': out += "&#39;"; return;
      case '\n': out += "&#10;"; return;
      case '\r': out += "&#13;"; return;
      case '\t': out += "&#9;"; return;
      default: break;
    }
    bool forbidden = c < 0x20 || c == 0xFFFE || c == 0xFFFF;
    out += forbidden ? kReplacement : bytes;
  });
}

std::string script_safe_json(std::string_view json) {
  return transcode(json, [](std::string& out, std::uint32_t c, std::string_view bytes) {
    switch (c) {
      case '<': out += "\\u003c"; return;
      case '>': out += "\\u003e"; return;
      case '&': out += "\\u0026"; return;
      case 0x2028: out += "\\u2028"; return;
      case 0x2029: out += "\\u2029"; return;
      default: out += bytes;
    }
  });
}

std::string markdown_escape(std::string_view text) {
  static constexpr std::string_view kSyntax = "\\`*_[]<>&|~";
  return transcode(text, [](std::string& out, std::uint32_t c, std::string_view bytes) {
    if (c == '\n' || c == '\r' || c == '\t') {
      out += ' ';
      return;
    }
    if (c < 0x80 && kSyntax.find(static_cast<char>(c)) != std::string_view::npos) out += '\\';
    out += c < 0x20 ? kReplacement : bytes;
  });
}

std::string uri_path(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : path) {
    auto c = static_cast<unsigned char>(ch);
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                c == '_' || c == '~' || c == '/';
    if (keep) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

}  // namespace rapport::reports
