#pragma once
// One renderer for every diagnostic: rule files, YAML manifests and data files.

#include <string>
#include <vector>

#include "diag/diagnostic.hpp"

namespace rapport::diag {

struct RenderOptions {
  bool color = false;
};

/// `file:line:col: error[CODE]: message`, the source line, a caret under the span, `= help:` lines.
std::string render_text(const Diagnostic& diagnostic, const RenderOptions& options = {});
/// All diagnostics as text, followed by a summary line when there are any errors or warnings.
std::string render_text(const std::vector<Diagnostic>& diagnostics, const RenderOptions& options = {});
/// A JSON array of {file, line, column, end_line, end_column, severity, code, message, helps, notes}.
std::string render_json(const std::vector<Diagnostic>& diagnostics);
/// One diagnostic as a one-line JSON object (the items of render_json's array).
std::string diagnostic_json(const Diagnostic& diagnostic);

/// Escapes a string for a JSON string literal (without the quotes); invalid UTF-8 becomes U+FFFD.
std::string json_escape(std::string_view text);
/// The same, appended to `out`.
void json_escape_to(std::string& out, std::string_view text);

}  // namespace rapport::diag
