#pragma once
// Pack folders: `pack.yaml` manifests (docs/packs.md), validated with positions like rule files.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diag/diagnostic.hpp"
#include "packs/params.hpp"

namespace rapport::packs {

/// A validated `pack.yaml`. Paths are resolved against the pack folder.
struct Manifest {
  std::string dir;
  diag::SourceFilePtr file;
  diag::Span name_span;
  std::string name;
  std::string version;
  std::string title;
  std::string description;
  std::string license;
  std::string requires_range;
  std::vector<std::string> authors;
  std::vector<std::string> rule_files;
  std::vector<std::string> test_paths;
  std::vector<std::string> extends;  // other pack folders
  ParamBlockPtr params;              // null when the manifest sets none
};

/// True when `path` is a folder with a pack.yaml.
bool is_pack_folder(const std::string& path);

/// Reads and validates `<dir>/pack.yaml` against this Rapport version. Every mistake goes to
/// `sink` at its YAML position; returns nullopt when the manifest can't be used.
std::optional<Manifest> load_manifest(const std::string& dir, std::string_view rapport_version, diag::DiagnosticSink& sink);

/// Whether `version` (MAJOR.MINOR.PATCH) satisfies `range` (space-separated comparators such as
/// ">=0.1.0 <1.0.0", "=1.2.3", "1.2.3", "^1.2", "~1.2.0"). Sets `error` when the range is malformed.
bool version_satisfies(std::string_view version, std::string_view range, std::string& error);

/// Parses MAJOR.MINOR.PATCH (a missing MINOR or PATCH counts as 0 when `partial`).
std::optional<std::array<int, 3>> parse_semver(std::string_view text, bool partial = false);

}  // namespace rapport::packs
