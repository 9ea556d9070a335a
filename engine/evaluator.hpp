#pragma once
// Evaluates compiled rules over a loaded dataset, column-at-a-time.

#include <memory>
#include <optional>
#include <span>
#include <string>
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
  /// Threads for evaluate(packs, ...): rules run in parallel, one rule per thread at a time
  /// (0 = hardware concurrency). The result doesn't depend on it.
  unsigned threads = 1;
  /// Findings' messages, remedies and evidence are rendered when read instead of when found
  /// (FindingText, EvidenceList): they then read the dataset and the compiled packs, which must
  /// stay where they are, unchanged, for as long as the findings are read. For a caller that writes
  /// its report and exits (`check`): a million findings hold their values instead of their texts.
  bool defer_texts = false;
  /// Subjects per batch: a rule judges its subjects a batch at a time (the findings don't depend
  /// on the size; tests use small ones). A batch's vectors stay in the processor's caches.
  std::size_t subject_batch = std::size_t{1} << 16;
  /// Rows per batch when a `where` tests its condition (the findings don't depend on it): a set of
  /// ten million activities is tested a slice at a time, not in ten-million-lane vectors.
  std::size_t filter_batch = std::size_t{1} << 20;
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

/// A pack and its parameters, for evaluating several packs at once.
struct PackToEvaluate {
  const dsl::CompiledPack* pack = nullptr;
  const dsl::ParamValues* params = nullptr;
};

/// Every enabled rule of every pack over `data`, on `options.threads` threads: the findings (sorted)
/// and rule summaries (in pack, then rule order) of evaluating each pack in turn and merging.
EvalResult evaluate(const std::vector<PackToEvaluate>& packs, model::Dataset& data, const EvalOptions& options);

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

/// Rules evaluated for some of their subjects at a time, over data that may be changed in place
/// between calls (engine/live.cpp's what-if copies): the same evaluator, lets, texts and Finding
/// objects evaluate() gives, with run-level work kept between calls (the indexes filters look rows
/// up in, each rule's run-level values, sorted ranking lists). Run-level values are only valid while
/// the data they read is unchanged: a caller changing such data evaluates the rule with evaluate()
/// instead. Not thread-safe: one per thread and dataset.
class SubjectEvaluator {
 public:
  SubjectEvaluator(const dsl::CompiledPack& pack, const dsl::ParamValues& params, model::Dataset& data,
                   double as_of);
  ~SubjectEvaluator();
  SubjectEvaluator(const SubjectEvaluator&) = delete;
  SubjectEvaluator& operator=(const SubjectEvaluator&) = delete;

  /// Builds the indexes the rule's filters use, so that changes can patch them.
  void prepare(const dsl::CompiledRule& rule);
  /// Judges `rule` (enabled, of the evaluator's pack) for those of `rows` (ascending rows of its
  /// subject entity, none deleted) that are its subjects: appends their findings and adds their
  /// counts to `summary` (subjects, findings, unknown).
  void evaluate_rows(const dsl::CompiledRule& rule, std::span<const std::int32_t> rows, std::vector<Finding>& findings,
                     RuleSummary& summary);

  /// Rows of `entity` whose link `field` points at row `target`, ascending (the data as changed).
  std::span<const std::int32_t> rows_linking_to(const std::string& entity, const std::string& field,
                                                std::int32_t target);
  /// Rows of `entity` whose text `field` (or `id`) is `key`, ascending (the data as changed).
  std::span<const std::int32_t> rows_with_key(const std::string& entity, const std::string& field, model::StrId key);

  /// The data was changed in place: `row` of `entity` has `field` (text key and link target)
  /// `key_after`/`target_after` instead of `key_before`/`target_before` (kMissingStr/kNoRow when
  /// missing or not a text or link field). Indexes built before the change follow it.
  void row_changed(const std::string& entity, const std::string& field, std::int32_t row, model::StrId key_before,
                   model::StrId key_after, std::int32_t target_before, std::int32_t target_after);
  /// `row` was appended to `entity` (every field missing; call row_changed as fields are set).
  void row_added(const std::string& entity, std::int32_t row);
  /// `row` of `entity` is about to be marked deleted (model::Table::deleted).
  void row_deleted(const std::string& entity, std::int32_t row);
  /// The data is back as it was before the first change: drops what the changes left behind.
  void changes_reverted();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rapport::engine
