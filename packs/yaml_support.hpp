#pragma once
// Private to the packs layer: yaml-cpp nodes with their source file, so every YAML mistake is
// reported at file:line:col with a caret, like rule-file mistakes.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "diag/diagnostic.hpp"
#include "packs/params.hpp"

namespace rapport::packs {

/// A `params:` map read from some YAML file, kept with that file for diagnostics.
struct ParamBlock {
  diag::SourceFilePtr file;
  YAML::Node node;
  std::string origin;  // "pack.yaml", "tests/dunbar.yaml:12"
};

/// The byte span of a node in its file (from its mark).
diag::Span span_of(const YAML::Node& node, const diag::SourceFile& file);

/// Reads and parses a YAML file; reports unreadable files and syntax errors (with position).
std::optional<YAML::Node> load_yaml(const std::string& path, diag::SourceFilePtr& file, diag::DiagnosticSink& sink);

/// Reports keys of `map` that are not in `allowed`, with a did-you-mean hint. Returns false if any.
bool check_keys(const YAML::Node& map, const diag::SourceFilePtr& file, std::initializer_list<const char*> allowed,
                std::string_view where, diag::DiagnosticSink& sink);

/// The scalar text of a node, or reports that a text was expected and returns nullopt.
std::optional<std::string> scalar_text(const YAML::Node& node, const diag::SourceFilePtr& file, std::string_view what,
                                       diag::DiagnosticSink& sink);

/// A list of texts (a YAML sequence of scalars, or one scalar); reports other shapes.
std::optional<std::vector<std::string>> text_list(const YAML::Node& node, const diag::SourceFilePtr& file,
                                                  std::string_view what, diag::DiagnosticSink& sink);

}  // namespace rapport::packs
