#pragma once
// The checked, compiled form of a pack: rules as trees of typed operations with every name
// resolved. The engine evaluates these column-at-a-time; it never sees the syntax tree.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "diag/source.hpp"
#include "dsl/ast.hpp"
#include "dsl/types.hpp"

namespace rapport::dsl {

/// A constant: a literal, a parameter value, or an element of a list constant.
struct Value {
  Kind kind = Kind::Number;
  Unit unit = Unit::None;
  bool missing = false;
  double number = 0;        // Bool, Number, Duration, Date, Timestamp
  std::string text;         // Text, Enum
  std::vector<Value> items; // List
};

/// Severities, ordered.
enum class Severity { Info, Low, Medium, High, Critical };
std::string_view severity_name(Severity severity);
std::optional<Severity> parse_severity(std::string_view name);

enum class Op {
  Const, Param, ParamKeyed, Now, Today,
  Var,        // the variable bound by frame `level` (a row or a value)
  LetRef,     // a rule-level `let` (slot)
  Field,      // args[0] is a Row of `entity`; the value of `field`
  Navigate,   // args[0] is a Row of `entity`; follows link field `field` to a Row of type.entity
  EntitySet,  // every row of `entity`
  Filter,     // args[0] a Set; args[1] the residual condition (or none); join_* describe an index lookup
  Of,         // args[0] a Set; args[1] a value per row, evaluated in the row frame -> List
  Negate, Not, Add, Sub, Mul, Div, And, Or,
  Compare,    // args[0] cmp args[1]; see `compare` and `compare_mode`
  In, NotIn,  // scalar in list
  Has, HasAny, HasAll,  // list has scalar / list has any|all of list
  Except,     // list except list
  IsMissing, IsNotMissing,
  WithinLast, WithinNext,
  MakeList,   // [a, b, c] with non-constant items
  Call,       // `function` with args
};

enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };
/// How a comparison compares: doubles, interned strings (equality only), or enum ranks.
enum class CompareMode { Numeric, Textual, EnumRank };

enum class Function {
  Count, Sum, Avg, Min, Max, Distinct, Stddev, Spread, Exists, PercentileRank, Rank,
  Abs, Round, IfMissing, Hours, Days, Weeks, Percent, Lower, Upper, Length, Date,
};

struct Node {
  Op op = Op::Const;
  Type type;
  diag::Span span;
  std::vector<Node> args;
  int level = 0;        // deepest frame this node reads from (0 = constant over the run)
  int frame_level = 0;  // Filter/Of: the level of the frame their row variable lives in
  int slot = -1;        // Param, LetRef
  std::string entity;   // Field, Navigate, EntitySet, Filter/Of (the row entity)
  std::string field;    // Field, Navigate
  Value constant;       // Const
  CompareOp compare = CompareOp::Eq;
  CompareMode compare_mode = CompareMode::Numeric;
  Function function = Function::Count;
  // Filter with an equality join `inner_field = <outer expr>` found in a conjunction:
  // the engine looks the outer value up in an index of `entity`.`join_field` instead of scanning.
  std::string join_field;          // empty when there is no join key
  std::shared_ptr<Node> join_outer;  // evaluated in the enclosing frame
  bool join_by_row = false;        // join_field is a link to the outer row's entity and outer is `x.id`
};

struct ParamDecl {
  std::string name;
  diag::Span span;
  Type type;              // the value type (for `list of text`, a List)
  std::string doc;
  std::string by_entity;  // keyed parameters: `by accounts.tier`
  std::string by_field;
  const model::FieldDef* by_def = nullptr;
  Value default_value;
  std::map<std::string, Value> keyed;  // key -> value
  /// Set when the parameter is compared with an enum field: its values must be that enum's.
  const model::FieldDef* enum_field = nullptr;
  [[nodiscard]] bool is_keyed() const { return !by_field.empty(); }
};

/// Parameter values for one run: defaults overridden by YAML files and --set.
struct ParamValues {
  std::vector<Value> values;                           // by slot
  std::vector<std::map<std::string, Value>> keyed;     // by slot
  std::vector<std::string> origin;                     // by slot: "default", "file.yaml:4", "--set"
};

struct Let {
  std::string name;
  diag::Span span;
  Node value;
};

struct Escalation {
  Severity severity = Severity::High;
  Node condition;
};

struct TemplatePart {
  bool is_expr = false;
  std::string text;
  Node expr;
};

struct Text {
  std::optional<Node> condition;
  std::vector<TemplatePart> parts;
  diag::Span span;
};

enum class SubjectKind { Rows, Values };

struct CompiledRule {
  std::string id;
  diag::Span span;
  std::string title;
  std::string rationale;
  Severity severity = Severity::Medium;
  std::vector<std::string> tags;
  bool enabled = true;
  SubjectKind subject_kind = SubjectKind::Rows;
  std::string subject_var;
  std::string subject_entity;  // Rows: the entity; Values: the entity the values come from
  Type subject_type;
  Node subject;                // Rows: a Set; Values: a List evaluated once
  std::vector<Let> lets;
  Node when;
  std::vector<Escalation> escalations;
  std::vector<Text> messages;
  std::vector<Text> remedies;
};

/// One `limit` of a plan, made additive: for every target, the sum of `weight` over the rows
/// assigned to it must stay at or below `capacity` (below, when `strict`).
struct PlanLimit {
  diag::Span span;
  std::optional<Node> weight;  // per assigned row (frame 1 is the row); none: each row counts 1
  std::optional<Node> when;    // only rows meeting this count (`portfolio where ...`)
  Node capacity;               // per target row (frame 1 is the target)
  bool strict = false;         // `<` instead of `<=`
};

/// `prefer <target side> = <assigned side>`: each side reads one variable only, so the planner
/// groups targets by their key instead of testing every pair.
struct PlanPreference {
  diag::Span span;
  Node target_key;    // frame 1 is the target
  Node assigned_key;  // frame 1 is the assigned row
};

struct PlanOrderKey {
  Node key;  // frame 1 is the assigned row
  bool descending = false;
};

/// A template part of a plan's message or remedy reads the assigned row or the target, not both.
struct PlanTemplatePart {
  bool is_expr = false;
  bool of_target = false;  // the expression reads the target (frame 1 is the target)
  std::string text;
  Node expr;
};

/// A checked plan (`plan ... end`), ready for the planner: every clause compiled for
/// column-at-a-time evaluation over the assigned rows or over the targets.
struct CompiledPlan {
  ast::Plan source;  // the plan as written (for documentation and spans)
  std::string id;
  diag::Span span;
  std::string title;
  std::string rationale;
  Severity severity = Severity::Medium;
  std::vector<std::string> tags;

  std::string assign_entity, assign_var;  // accounts, account
  std::optional<Node> assign_where;       // which rows take part (none: every row)
  std::string target_entity, target_var;  // users, manager
  std::optional<Node> target_where;       // which rows are targets
  std::string by_field;                   // owner_id: the link the plan rewrites
  std::vector<Node> keeps;                // a row that meets any keep stays where it is
  std::vector<PlanLimit> limits;
  std::vector<PlanPreference> prefers;    // in order of importance
  std::vector<PlanOrderKey> move_first;   // which rows move first (then by id)
  bool has_overflow = false;
  std::optional<Node> overflow_where;     // over target_entity; no limits apply there
  std::vector<PlanTemplatePart> message;
  std::vector<PlanTemplatePart> remedy;
};

/// A use of a data field, for the load-time check that the data really has it.
struct FieldUse {
  std::string entity;
  std::string field;
  diag::Span span;
  std::string rule;
};

struct CompiledPack {
  std::string name;
  std::string version;
  std::string title;
  std::string description;
  diag::SourceFilePtr source;
  std::vector<ParamDecl> params;
  std::vector<CompiledRule> rules;
  std::vector<CompiledPlan> plans;  // solved by the planner (engine/plan)
  std::vector<FieldUse> field_uses;  // first use of each (entity, field) in each rule
  /// entity -> fields the rules read (for loading only what is needed).
  std::map<std::string, std::set<std::string>> fields_needed;

  [[nodiscard]] int param_slot(std::string_view name) const;
  /// The rule file's text at `span` on one line: whitespace outside quotes folded, comments dropped.
  [[nodiscard]] std::string text_of(diag::Span span) const;
  [[nodiscard]] ParamValues default_params() const;
};

}  // namespace rapport::dsl
