#pragma once
// Which subjects of a rule a changed record can affect, worked out from the compiled rule (not
// from knowledge of the shipped rules): every field the rule reads is recorded with the path by
// which the evaluation of one subject reaches the row it is read from. A changed row is mapped
// back along that path to the subjects that read it; a read reached through something computed
// over all rows (a ranking over every account, a `let` over a whole table, a distinct-value
// subject list) can affect every subject, and the rule is then evaluated in full.

#include <cstdint>
#include <string>
#include <vector>

#include "dsl/program.hpp"

namespace rapport::engine::live {

/// One step from a row (or set of rows) to the next.
struct Step {
  enum class Kind {
    Forward,   // a link of the row: `entity`.`field` (a Ref) leads to the row it names
    Backward,  // rows of `entity` whose link `field` names the row (`x where account_id = a.id`)
    KeyEq,     // rows of `entity` whose text `field` equals the row's `key_entity`.`key_field`
  };
  Kind kind = Kind::Forward;
  std::string entity;
  std::string field;
  std::string key_entity;  // KeyEq
  std::string key_field;   // KeyEq
};

/// How one subject's evaluation reaches a row.
struct Path {
  enum class Root {
    Subject,  // from the subject row, through `steps`
    AllRows,  // from every row of `entity` (the same for every subject): a change affects them all
    Opaque,   // through something this analysis does not follow: treated like AllRows
  };
  Root root = Root::Subject;
  std::string entity;  // the entity of the rows the path ends at
  std::vector<Step> steps;
  std::string key;  // the path as text (set by analyse(); equal paths have equal keys)
};

/// A field read at the end of a path. `field` is empty for the row's existence (a set that an
/// added or deleted row joins or leaves).
struct Read {
  std::string entity;
  std::string field;
  Path path;
};

/// The reads of one rule.
struct RuleDependencies {
  std::string subject_entity;
  bool value_subjects = false;  // distinct values (a unit), not rows: any read change is a full evaluation
  std::vector<Read> reads;
};

/// Analyses one compiled rule.
RuleDependencies analyse(const dsl::CompiledRule& rule);

/// What a change to `entity` does to a rule: no re-evaluation, some subjects, or all of them.
enum class Reach { None, Subjects, All };
/// `fields`: the changed fields; `whole_row`: a row added or deleted (every read of the entity).
/// `paths` receives the subject paths of the reads concerned (for Reach::Subjects).
Reach reach(const RuleDependencies& deps, const std::string& entity, const std::vector<std::string>& fields,
            bool whole_row, std::vector<const Path*>& paths);

/// One line per read, for documentation and tests: `accounts.owner_id <- subject > accounts.owner_id`.
std::string describe(const RuleDependencies& deps);

}  // namespace rapport::engine::live
