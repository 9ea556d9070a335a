#pragma once
// A configuration file read node by node: each accessor checks one value (text, a path relative to
// the file, a choice with did-you-mean, a boolean, a number in a range, a duration) and reports its
// own mistake at the node's place under the file's diagnostic code. Shared by nightly.yaml and
// serve.yaml, so the same mistake reads the same in both.

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diag/diagnostic.hpp"
#include "yamlio/yaml_diag.hpp"

namespace rapport::yamlio {

class Reader {
 public:
  /// `base` is the file's folder (relative paths are resolved against it); `code` is the
  /// diagnostic code of the file's mistakes (RUN7001 for nightly.yaml, SRV9001 for serve.yaml).
  Reader(diag::SourceFilePtr file, diag::DiagnosticSink& sink, std::filesystem::path base, diag::Code code);

  /// Reports a mistake at `node`; add a hint with .help().
  diag::Diagnostic& error(const YAML::Node& node, const std::string& message);

  /// `map` is a map whose keys are all in `allowed`; reports the others with did-you-mean.
  bool keys(const YAML::Node& map, const std::vector<std::string>& allowed, std::string_view where);
  /// Non-empty text.
  std::optional<std::string> text(const YAML::Node& node, std::string_view what);
  /// A path relative to the file's folder (absolute paths stay as they are), normalised.
  std::optional<std::string> path(const YAML::Node& node, std::string_view what);
  /// One path or a list of paths; `example` completes the hint ("for example: [rules/]").
  std::vector<std::string> paths(const YAML::Node& node, std::string_view what, std::string_view example);
  /// `set:`, a map of parameter values, as `name=value` assignments (packs/params.hpp apply_set).
  /// `map_example` completes the hint for a node that is not a map, `list_hint` the one for a
  /// value that is not one scalar.
  std::vector<std::string> parameter_sets(const YAML::Node& node, std::string_view map_example,
                                          std::string_view list_hint);
  /// One of `choices`; reports the others with did-you-mean.
  std::optional<std::string> choice(const YAML::Node& node, std::string_view what, const std::vector<std::string>& choices);
  /// true/yes/on or false/no/off.
  std::optional<bool> boolean(const YAML::Node& node, std::string_view what);
  /// A number from `min` to `max`.
  std::optional<double> number(const YAML::Node& node, std::string_view what, double min, double max);
  /// A duration in seconds: a number, or a number with s, m or h (`90s`, `15m`, `1h`), up to `max_seconds`.
  std::optional<double> duration(const YAML::Node& node, std::string_view what, double max_seconds);

  [[nodiscard]] const diag::SourceFilePtr& file() const { return file_; }
  [[nodiscard]] const std::filesystem::path& base() const { return base_; }

 private:
  diag::SourceFilePtr file_;
  diag::DiagnosticSink& sink_;
  std::filesystem::path base_;
  diag::Code code_;
};

}  // namespace rapport::yamlio
