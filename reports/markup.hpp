#pragma once
// Escaping for every text format the reports write. User data (subject names, messages,
// reasons) can hold any bytes: each function here turns it into text its format takes
// literally, with invalid UTF-8 replaced by U+FFFD.

#include <string>
#include <string_view>

namespace rapport::reports {

/// Text for XML and HTML, usable both as element content and as a quoted attribute value:
/// & < > " ' become entities, line breaks and tabs become character references (attribute
/// values keep them that way), and characters XML 1.0 forbids become U+FFFD.
std::string markup_escape(std::string_view text);

/// A JSON document made safe to sit inside an HTML <script> element: <, > and & (which only
/// occur inside JSON strings) and U+2028/U+2029 become \u escapes, so no `</script>` or
/// `<!--` can end or confuse the block.
std::string script_safe_json(std::string_view json);

/// Text for one line of Markdown: line breaks become spaces and the characters that start
/// Markdown or HTML syntax (\ ` * _ [ ] < > & | ~) are backslash-escaped.
std::string markdown_escape(std::string_view text);

/// A relative file path as a URI reference: every byte except unreserved characters and `/`
/// is percent-encoded ("rules/my pack.rules" -> "rules/my%20pack.rules").
std::string uri_path(std::string_view path);

}  // namespace rapport::reports
