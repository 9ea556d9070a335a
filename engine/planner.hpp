#pragma once
// Runs a compiled plan over a dataset: evaluates its clauses column-at-a-time, solves the
// reassignment (engine/plan_solver.hpp) and describes the result for people and for write-back.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dsl/program.hpp"
#include "engine/findings.hpp"
#include "engine/output.hpp"
#include "model/table.hpp"

namespace rapport::engine {

/// One proposed change of the plan's link field.
struct PlanMove {
  std::string id;  // stable: the same record, from and to give the same id in every run
  std::string record, record_name;
  std::string from, from_name;  // empty when the record had no owner
  std::string to, to_name;
  bool to_overflow = false;
  std::vector<std::uint32_t> reasons;  // why it moves, in order: indexes into PlanResult::reason_texts
  std::string message, remedy;
};

/// A target's loads before and after the plan, one value per limit.
struct PlanTargetLoad {
  std::string id, name;
  bool overflow = false;
  std::size_t count_before = 0, count_after = 0;
  std::size_t moved_in = 0, moved_out = 0;
  std::vector<double> before, after, capacity;
  bool over_before = false, over_after = false;
};

/// A record that had to move but found no room (there is no overflow).
struct PlanUnplaced {
  std::string record, record_name, from;
  std::string reason;
};

/// How much capacity is missing, per value of the first preference.
struct PlanShortfall {
  std::string key;  // the first preference's value ("EMEA"), or "" without preferences
  std::size_t records = 0;
  std::size_t targets_needed = 0;
  std::string text;
};

struct PlanResult {
  std::string pack, pack_version, plan, title;
  std::string entity, target_entity, field;  // accounts, users, owner_id
  std::vector<std::string> limits;           // as written
  std::vector<std::string> preferences;      // as written
  std::vector<PlanMove> moves;               // by record id
  std::vector<std::string> reason_texts;     // every reason a move gives, once (PlanMove::reasons)
  std::vector<PlanTargetLoad> targets;       // by id; overflow targets last
  std::vector<PlanUnplaced> unplaced;
  std::vector<PlanShortfall> shortfalls;
  std::vector<Finding> findings;  // what the plan can't fix by itself
  std::size_t records = 0;        // rows the plan looked at
  std::size_t kept = 0;           // held in place by `keep`
  std::size_t without_target = 0; // moved because they had no valid target
  std::size_t relieved = 0;       // moved off a target over a limit
  std::size_t to_overflow = 0;
  std::size_t over_before = 0, over_after = 0;  // targets over any limit
  bool minimal = true;            // the fewest moves is proven (see plan_solver.hpp)
  /// Where run_plan's time went, stage by stage (seconds), for `rapport plan --timings`.
  std::vector<std::pair<std::string, double>> stage_seconds;
};

/// A plan that can't run over this data (a negative weight, say), with the record it is about.
class PlanError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Solves `plan` over `data`. `as_of` is `now` (seconds since the epoch, UTC).
PlanResult run_plan(const dsl::CompiledPack& pack, const dsl::CompiledPlan& plan, const dsl::ParamValues& params,
                    model::Dataset& data, double as_of);

/// The JSON schema id of a plan report; bump it when the shape changes.
inline constexpr const char* kPlanSchema = "rapport.plan/1";

/// The reports are handed to `write` a piece at a time (a million-account plan is tens of MB).
void render_plan_text(const PlanResult& result, const RunInfo& info, bool color, const ReportWriter& write);
/// The change set `rapport apply` pushes: {schema, ..., summary, moves, targets, unplaced, shortfalls, findings}.
void render_plan_json(const PlanResult& result, const RunInfo& info, const ReportWriter& write);
/// One row per move.
void render_plan_csv(const PlanResult& result, const ReportWriter& write);

}  // namespace rapport::engine
