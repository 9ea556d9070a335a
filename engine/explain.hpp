#pragma once
// `rapport explain`: how one rule evaluated for one subject. The subject's selection (`for each
// ... where`), every let's value with the records behind it, each part of `when` and of the
// escalations with its operand values, the finding with its texts, and the parameters the rule
// read — as text for people and as JSON (`rapport.explain/1`, docs/cli.md). The values come from
// the evaluator `check` runs (SubjectProbe), so an explanation never disagrees with a report.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsl/program.hpp"
#include "engine/findings.hpp"
#include "model/table.hpp"

namespace rapport::engine {

/// Three-valued truth: a condition over a missing value is unknown.
enum class Truth { False, True, Unknown };

/// A value as a person reads it (`151`, `26%`, `"strategic"`, `["sla", "pricing"]`, `missing`)
/// and as JSON.
struct ShownValue {
  std::string text;
  std::string json = "null";
};

/// One record of a listed set.
struct ShownRecord {
  std::string id;
  std::string name;  // empty when the entity has no name (or it is missing)
  /// The fields the set's `where` reads (its join key left out), in the order written.
  std::vector<std::pair<std::string, ShownValue>> fields;
  std::optional<ShownValue> value;  // `of`: the value collected for this record
};

/// A set of records inside an expression (a `where` filter, or the rows of an `of`), listed.
struct ShownSet {
  std::string expression;        // the set as written (empty when it is the whole let)
  std::string value_expression;  // `of`: the expression collected for each record
  std::string entity;
  std::size_t count = 0;
  /// The set doesn't depend on the subject (it is the same for every subject); not listed.
  bool same_for_every_subject = false;
  std::vector<ShownRecord> records;  // at most ExplainOptions::max_records
};

/// One node of a condition: an and/or/not group, or one test with its operand values.
struct ShownCondition {
  enum class Kind { All, Any, Not, Test };
  Kind kind = Kind::Test;
  std::string expression;  // as written
  Truth result = Truth::Unknown;
  std::string test;        // Test: the test with its values, `151 > 150`; empty for a plain yes/no value
  std::string op;          // Test: `>`, `in`, `has any`, `within last`, `is missing`, ...
  std::optional<ShownValue> left, right;
  std::string reason;      // Unknown: which value is missing
  std::vector<ShownCondition> parts;  // All, Any, Not
  std::vector<ShownSet> sets;         // Test: sets inside it, listed
};

struct ShownLet {
  std::string name;
  std::string expression;
  ShownValue value;
  std::optional<std::size_t> count;  // sets and lists: how many
  std::string steps;                 // the top operation with its operand values: `6 / 23`
  std::string reason;                // a missing value: why
  std::optional<ShownSet> records;   // a set-valued let: its records
  std::vector<ShownSet> sets;        // sets inside the expression
};

struct ShownEscalation {
  dsl::Severity severity = dsl::Severity::High;
  ShownCondition condition;
};

struct ShownParam {
  std::string name;
  ShownValue value;    // keyed: text `APAC 120d, otherwise 180d`; JSON {"default": ..., "keys": {...}}
  std::string by;      // keyed parameters: `accounts.region`
  std::string origin;  // `default`, `FILE:LINE`, `--set`
};

/// A subject value that is not one of the rule's subjects: a row that has it, and why the
/// `where` leaves that row out.
struct ShownExcludedRow {
  ShownRecord record;
  ShownCondition where;
};

/// Whether the subject is one of the rule's subjects, and why.
struct ShownSelection {
  std::string expression;               // `for each manager in users where ...`
  std::string where_expression;         // the `where` alone; empty when there is none
  std::optional<ShownCondition> where;  // row subjects: the where for this row
  std::string value_expression;         // value subjects left out: what the value is, `team`
  std::vector<ShownExcludedRow> rows;   // value subjects left out: rows with the value
  std::size_t rows_count = 0;           // how many rows have the value
};

enum class Outcome { Finding, NoFinding, Unknown, NotASubject };

struct Explanation {
  std::string pack;
  std::string pack_version;
  std::string rule;
  std::string title;
  dsl::Severity severity = dsl::Severity::Medium;  // the base severity, after overrides
  bool enabled = true;                             // false: explained although the rule is disabled
  std::string as_of;
  std::string subject_entity;  // rows: the entity; values: the entity the values come from
  std::string subject_var;
  bool value_subject = false;
  std::string subject_id;      // rows
  std::string subject_name;    // rows with a name
  ShownValue subject_value;    // values
  bool included = false;
  ShownSelection selection;
  std::vector<ShownLet> lets;
  std::optional<ShownCondition> when;
  std::vector<ShownEscalation> escalations;
  Outcome outcome = Outcome::NotASubject;
  std::optional<Finding> finding;
  std::vector<ShownParam> params;
};

struct ExplainOptions {
  double as_of = 0;              // `now`, seconds since the epoch (UTC)
  std::size_t max_records = 20;  // records listed per set, items per list
};

/// Why a subject can't be explained: a message naming the rule's subject entity, and hints.
struct ExplainError {
  std::string message;
  std::vector<std::string> helps;
};

/// Explains `rule` of `pack` for one subject: a row id (or a row's exact name) for row subjects,
/// a value as `check` prints it for value subjects. Returns nullopt and fills `error` when no
/// such subject exists in the data. Every field the rule reads must be loaded (as for evaluate()).
std::optional<Explanation> explain(const dsl::CompiledPack& pack, const dsl::ParamValues& params, model::Dataset& data,
                                   const dsl::CompiledRule& rule, std::string_view subject,
                                   const ExplainOptions& options, ExplainError& error);

/// The explanation for people; `color` adds ANSI colours.
std::string render_explanation_text(const Explanation& explanation, bool color);
/// The explanation as one `rapport.explain/1` JSON document (docs/cli.md).
std::string render_explanation_json(const Explanation& explanation);

}  // namespace rapport::engine
