#pragma once
// A live snapshot for `rapport serve`: loaded data, configured packs and the findings they give,
// with what-if evaluation of proposed record changes and incremental application of CRM change
// notifications (only the subjects a change can affect are evaluated again).
//
// Concurrency: a LiveSnapshot is immutable once built. what_if() may be called from any number of
// threads at once. with_changes() returns a new snapshot and leaves this one untouched, so a
// server swaps a shared_ptr and never blocks readers.

#include <boost/json.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "diag/diagnostic.hpp"
#include "engine/findings.hpp"
#include "model/table.hpp"
#include "packs/params.hpp"

namespace rapport::engine {

/// One canonical record, created or changed (only the fields named change; a new id adds a
/// row) or deleted.
struct RecordChange {
  enum class Kind { Upsert, Delete };
  Kind kind = Kind::Upsert;
  std::string entity;           // canonical entity: "accounts", "activities", ...
  std::string id;
  boost::json::object fields;   // canonical field -> value in the canonical JSON form; null clears
};

/// What a set of changes does to the findings.
struct ChangeEffect {
  std::vector<Finding> created;    // findings present after the change and not before
  std::vector<Finding> resolved;   // findings present before and not after
  std::vector<Finding> changed;    // same rule and subject, different severity or message (after)
  std::size_t subjects_evaluated = 0;  // subjects evaluated again, over all rules
  /// Problems with the changes themselves (unknown entity or field, wrong-typed value, a delete
  /// of an unknown id), each naming the change index and field. Any error: nothing was applied.
  std::vector<diag::Diagnostic> problems;
  [[nodiscard]] bool ok() const;
};

class LiveSnapshot {
 public:
  /// Evaluates every pack over `data` at `as_of` (seconds since the epoch, UTC). The packs must
  /// have compiled cleanly against `data.schema`, and `data` must hold the fields they need.
  static std::shared_ptr<const LiveSnapshot> build(std::vector<packs::ConfiguredPack> packs,
                                                   model::Dataset data, double as_of);
  ~LiveSnapshot();
  LiveSnapshot(const LiveSnapshot&) = delete;
  LiveSnapshot& operator=(const LiveSnapshot&) = delete;

  /// Current findings, in sort_findings order.
  [[nodiscard]] const std::vector<Finding>& findings() const;
  [[nodiscard]] const std::vector<RuleSummary>& rules() const;
  [[nodiscard]] const model::Dataset& data() const;
  [[nodiscard]] const std::vector<packs::ConfiguredPack>& packs() const;
  [[nodiscard]] double as_of() const;

  /// The effect `changes` would have, without changing anything. Thread-safe.
  [[nodiscard]] ChangeEffect what_if(const std::vector<RecordChange>& changes) const;
  /// A new snapshot with `changes` applied (this one is unchanged); `effect` says what changed.
  /// Returns nullptr, with effect.problems set, when the changes are invalid.
  [[nodiscard]] std::shared_ptr<const LiveSnapshot> with_changes(const std::vector<RecordChange>& changes,
                                                                 ChangeEffect& effect) const;
  /// Prepares what what_if() needs for `callers` concurrent callers (at most one per hardware
  /// thread): each caller's private copy of the data and its indexes. Without it, the first calls
  /// pay for that (hundreds of milliseconds at 100k accounts); a server calls it before it swaps
  /// a snapshot in.
  void warm_up(std::size_t callers) const;
  /// The same packs over the same data, evaluated at another time (a scheduled refresh).
  [[nodiscard]] std::shared_ptr<const LiveSnapshot> at(double as_of) const;

 private:
  LiveSnapshot();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rapport::engine
