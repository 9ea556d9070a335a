#pragma once
// Private to the packs layer: yaml-cpp nodes with their source file, so every YAML mistake is
// reported at file:line:col with a caret, like rule-file mistakes.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "diag/diagnostic.hpp"
#include "packs/params.hpp"
#include "yamlio/yaml_diag.hpp"

namespace rapport::packs {

/// A `params:` map read from some YAML file, kept with that file for diagnostics.
struct ParamBlock {
  diag::SourceFilePtr file;
  YAML::Node node;
  std::string origin;  // "pack.yaml", "tests/dunbar.yaml:12"
};

using yamlio::check_keys;
using yamlio::load_yaml;
using yamlio::scalar_text;
using yamlio::span_of;
using yamlio::text_list;

}  // namespace rapport::packs
