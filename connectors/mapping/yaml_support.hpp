#pragma once
// The YAML-with-positions helpers connectors use (shared with every layer: yamlio/).

#include <string>
#include <string_view>

#include "yamlio/yaml_diag.hpp"

namespace rapport::connectors {

using yamlio::check_keys;
using yamlio::load_yaml;
using yamlio::place_of;
using yamlio::scalar_text;
using yamlio::span_of;

/// "`name`".
inline std::string quote(std::string_view name) { return "`" + std::string(name) + "`"; }

}  // namespace rapport::connectors
