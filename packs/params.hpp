#pragma once
// Parameter overrides for a deployment: YAML files (`--params`) and `--set name=value`,
// applied over a pack's defaults in command-line order.

#include <memory>
#include <string>
#include <vector>

#include "diag/diagnostic.hpp"
#include "dsl/program.hpp"

namespace rapport::packs {

/// A pack with the parameter values and rule settings one run uses.
struct ConfiguredPack {
  dsl::CompiledPack pack;  // rules carry overridden `enabled` and base severity
  dsl::ParamValues params;
};

/// Applies one override file to the packs of a run:
///   pack: b2b_cx            # optional when there is only one pack; must match
///   params: { dunbar_limit: 120, separation_window: 21d, tier_weight: { strategic: 10 } }
///   rules:  { onsite_presence_strategic: { enabled: false }, some_rule: { severity: critical } }
/// The file is read once; with several packs it applies to the one its `pack` names. Every
/// mistake is reported at the YAML position with a hint. Returns false on errors.
bool apply_param_file(std::vector<ConfiguredPack>& packs, const std::string& path, diag::DiagnosticSink& sink);

/// Applies `name=value` or `name[key]=value` to every pack that has the parameter; an
/// assignment no pack knows is an error (with did-you-mean). Returns false on errors.
bool apply_set(std::vector<ConfiguredPack>& packs, const std::string& assignment, diag::DiagnosticSink& sink);

/// A `params:` map from a manifest or a test file (defined in packs/yaml_support.hpp).
struct ParamBlock;
using ParamBlockPtr = std::shared_ptr<const ParamBlock>;

/// Applies a `params:` block to every pack that declares each parameter (keyed parameters merge
/// key by key). A name no pack has is an error at its place, with did-you-mean.
bool apply_param_block(const std::vector<ConfiguredPack*>& targets, const ParamBlock& block, diag::DiagnosticSink& sink);

/// The names of a pack's parameters with their effective values and origins, one per line.
std::string describe_params(const ConfiguredPack& pack);

}  // namespace rapport::packs
