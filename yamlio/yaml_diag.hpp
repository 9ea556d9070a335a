#pragma once
// yaml-cpp nodes with their source file, so YAML mistakes are reported at file:line:col with a
// caret, like rule-file mistakes. Shared by every layer that reads YAML.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diag/diagnostic.hpp"

namespace rapport::yamlio {

/// `name` in backquotes, as messages show keys and values.
std::string quote(std::string_view name);
/// Items joined with ", ".
std::string join(const std::vector<std::string>& items);

/// The byte span of a node in its file (from its mark).
diag::Span span_of(const YAML::Node& node, const diag::SourceFile& file);

/// `path:line:col` of a node: a place to name without showing the line (for secrets).
std::string place_of(const YAML::Node& node, const diag::SourceFile& file);

/// Reads and parses a YAML file; reports unreadable files and syntax errors (with position).
std::optional<YAML::Node> load_yaml(const std::string& path, diag::SourceFilePtr& file, diag::DiagnosticSink& sink);

/// Reports keys of `map` that are not in `allowed`, with a did-you-mean hint. Returns false if any.
bool check_keys(const YAML::Node& map, const diag::SourceFilePtr& file, const std::vector<std::string>& allowed,
                std::string_view where, diag::DiagnosticSink& sink);

/// The scalar text of a node, or reports that `what` must be text and returns nullopt.
std::optional<std::string> scalar_text(const YAML::Node& node, const diag::SourceFilePtr& file, std::string_view what,
                                       diag::DiagnosticSink& sink);

/// A list of texts (a YAML sequence of scalars, or one scalar); reports other shapes.
std::optional<std::vector<std::string>> text_list(const YAML::Node& node, const diag::SourceFilePtr& file,
                                                  std::string_view what, diag::DiagnosticSink& sink);

}  // namespace rapport::yamlio
