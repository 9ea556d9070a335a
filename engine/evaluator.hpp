#pragma once
// Evaluates compiled rules over a loaded dataset, column-at-a-time.

#include <memory>
#include <optional>
#include <vector>

#include "dsl/program.hpp"
#include "engine/findings.hpp"
#include "engine/vector.hpp"
#include "model/table.hpp"

namespace rapport::engine {

struct EvalOptions {
  double as_of = 0;  // `now`, seconds since the epoch (UTC)
  /// Rule ids to evaluate; empty = every enabled rule.
  std::vector<std::string> only_rules;
  /// Shortcuts for filters over a set shared by every subject (a `let` such as `rated_cases`):
  /// `where field = <outer value>` is answered from an index of the set, and a `where` that reads
  /// nothing of the subject is computed once for all subjects. Off, every row of the set is
  /// tested for every subject: the same findings, quadratically; tests compare the two.
  bool shared_set_shortcuts = true;
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

/// One rule evaluated for one subject at a time, with every intermediate value at hand: what
/// `rapport explain` shows. It runs the evaluator evaluate() runs, so its values, finding and
/// texts are the ones `check` reports. Nodes it evaluates must outlive it (results of run-level
/// nodes are cached by address).
class SubjectProbe {
 public:
  SubjectProbe(const dsl::CompiledPack& pack, const dsl::ParamValues& params, model::Dataset& data,
               const dsl::CompiledRule& rule, double as_of);
  ~SubjectProbe();
  SubjectProbe(const SubjectProbe&) = delete;
  SubjectProbe& operator=(const SubjectProbe&) = delete;

  /// The rule's subjects as `check` sees them, one lane: a Set of rows or a List of values.
  const Vec& subjects();
  /// Makes `subject` the subject (one lane: a Row for row subjects, else a value of the subject
  /// list's element kind) and computes its lets, `when`, escalations and texts.
  void focus(const Vec& subject);
  /// The value of `node` (level 0 or 1) for the focused subject, one lane.
  Vec eval(const dsl::Node& node);
  /// The value of `node` for each of `rows`, bound as the row variable of frame `level`: 1 for a
  /// subject-level row (the subject's `where`), 2 for a row of a filter or `of` inside a let, with
  /// the focused subject around it. One lane per row; level 2 needs a focused subject.
  Vec eval_rows(const dsl::Node& node, int level, const std::vector<std::int32_t>& rows);
  /// The focused subject's value of the rule's let `slot`.
  [[nodiscard]] const Vec& let(std::size_t slot) const;
  /// The focused subject's `when`: 1, 0 or NaN (unknown).
  [[nodiscard]] double when() const;
  /// The finding `check` reports for the focused subject, when `when` is true.
  [[nodiscard]] const std::optional<Finding>& finding() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rapport::engine
