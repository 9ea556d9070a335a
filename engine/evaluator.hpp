#pragma once
// Evaluates compiled rules over a loaded dataset, column-at-a-time.

#include <vector>

#include "dsl/program.hpp"
#include "engine/findings.hpp"
#include "model/table.hpp"

namespace rapport::engine {

struct EvalOptions {
  double as_of = 0;  // `now`, seconds since the epoch (UTC)
  /// Rule ids to evaluate; empty = every enabled rule.
  std::vector<std::string> only_rules;
};

struct EvalResult {
  std::vector<Finding> findings;  // sorted (see sort_findings)
  std::vector<RuleSummary> rules;
};

/// Evaluates every enabled rule of `pack` with `params` over `data`. The dataset's string pool
/// gains the rule's literal strings. The pack must have compiled without errors against the
/// dataset's schema, and every field it needs must be loaded.
EvalResult evaluate(const dsl::CompiledPack& pack, const dsl::ParamValues& params, model::Dataset& data,
                    const EvalOptions& options);

}  // namespace rapport::engine
