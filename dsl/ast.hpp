#pragma once
// The syntax tree of a rule file, as the parser produces it. Every node carries the byte span it
// came from so later passes can point at it. Names are not resolved and types not known here:
// that is the checker's job (dsl/check.hpp).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "diag/source.hpp"

namespace rapport::dsl::ast {

using diag::Span;

/// A name as written, with its place.
struct Identifier {
  Span span;
  std::string name;
};

enum class ExprKind {
  Number,      // 12, 0.5           -> number
  Percent,     // 10%               -> number holds 0.10
  Duration,    // 90d, 4w, 12h      -> number holds seconds
  Date,        // 2026-03-01        -> number holds seconds at 00:00Z
  Timestamp,   // 2026-03-01T09:30:00Z -> number holds seconds
  String,      // "text" (escapes already decoded; no interpolation in expressions)
  Bool,        // true / false      -> number holds 0 or 1
  Now,         // now
  Today,       // today
  Name,        // a bare name: text
  Member,      // args[0] . text    (field or link navigation)
  Index,       // args[0] [ args[1] ]
  Call,        // text ( args... )  (function name in text; name_span is its place)
  List,        // [ args... ]
  Negate,      // - args[0]
  Not,         // not args[0]
  Binary,      // args[0] op args[1]: op in text: "+", "-", "*", "/", "except", "and", "or"
  Compare,     // args[0] op args[1]: op in text: "=", "!=", "<", "<=", ">", ">="
  In,          // args[0] in args[1]
  NotIn,       // args[0] not in args[1]
  Has,         // args[0] has args[1]
  HasAny,      // args[0] has any args[1]
  HasAll,      // args[0] has all args[1]
  IsMissing,   // args[0] is missing
  IsNotMissing,// args[0] is not missing
  WithinLast,  // args[0] within last args[1]
  WithinNext,  // args[0] within next args[1]
  Filter,      // args[0] [as alias] [where args[1]]: a set, narrowed; args.size() == 1 when no where
  Of,          // args[0] of args[1]: the values of expression args[0] for each row of set args[1]
};

/// True for the kinds that are literal values (numbers, percents, durations, dates, timestamps,
/// strings and booleans).
inline bool is_literal(ExprKind kind) {
  switch (kind) {
    case ExprKind::Number:
    case ExprKind::Percent:
    case ExprKind::Duration:
    case ExprKind::Date:
    case ExprKind::Timestamp:
    case ExprKind::String:
    case ExprKind::Bool:
      return true;
    default:
      return false;
  }
}

/// One expression node. A flat tagged node keeps the parser and every pass simple.
struct Expr {
  ExprKind kind = ExprKind::Number;
  Span span;                     // the whole expression
  Span op_span;                  // the operator or keyword (for Compare, Binary, In, ...); name for Call/Member
  std::string text;              // name, field, function, operator or decoded string
  double number = 0;             // literal value (see ExprKind)
  std::optional<Identifier> alias;  // Filter: `as x`
  std::vector<Expr> args;
};

/// A piece of a message or remedy: literal text or an interpolated expression.
struct TemplatePiece {
  bool is_expr = false;
  std::string text;  // decoded literal text when !is_expr
  Expr expr;         // when is_expr
};

/// A string with `{expr}` interpolations, parsed in the parser's second pass.
struct Template {
  Span span;  // the whole string literal including quotes
  std::vector<TemplatePiece> pieces;
};

/// A plain (non-interpolated) string literal in an attribute: title, rationale, doc, version.
struct StringLiteral {
  Span span;
  std::string value;
};

/// `text`, `list of text`, ...
struct TypeRef {
  Span span;
  Identifier name;
  std::shared_ptr<TypeRef> element;  // for `list of X`
};

/// `"strategic": 8` inside a parameter's key map.
struct KeyEntry {
  Span span;
  StringLiteral key;
  Expr value;
};

/// `param name : type [by entity.field] = default [{ key map }] ["doc"]`
struct Param {
  Span span;
  Identifier name;
  TypeRef type;
  std::optional<Identifier> by_entity;  // accounts in `by accounts.tier`
  std::optional<Identifier> by_field;   // tier
  Expr default_value;
  std::vector<KeyEntry> keymap;
  std::optional<StringLiteral> doc;
};

/// Attributes shared by rules and plans. Each is optional; the checker reports duplicates.
struct Attributes {
  std::optional<StringLiteral> title;
  std::optional<StringLiteral> rationale;
  std::optional<Identifier> severity;
  std::vector<Identifier> tags;
  std::optional<Expr> enabled;  // a Bool literal
  std::vector<Span> duplicates; // places of attributes given twice (the parser records them)
};

/// `let name = expr`
struct Let {
  Span span;
  Identifier name;
  Expr value;
};

/// `escalate to SEVERITY when expr`
struct Escalate {
  Span span;
  Identifier severity;
  Expr condition;
};

/// `message [when expr] "..."` or `remedy [when expr] "..."`
struct TextClause {
  Span span;
  bool is_remedy = false;
  std::optional<Expr> condition;
  Template text;
};

/// `rule id attrs for each var in source let* when cond escalate* texts end`
struct Rule {
  Span span;
  Identifier id;
  Attributes attributes;
  Span subject_span;
  Identifier subject_var;
  Expr subject_source;  // an entity (Name), a Filter over one, or distinct(field of ...)
  std::vector<Let> lets;
  Expr when;
  std::vector<Escalate> escalations;
  std::vector<TextClause> texts;
};

/// `entity [as alias] [where cond]` in a plan.
struct Source {
  Span span;
  Identifier entity;
  std::optional<Identifier> alias;
  std::optional<Expr> where;
};

/// One `move first by` key.
struct OrderKey {
  Expr expr;
  bool descending = false;
};

/// `plan id attrs assign S to S by path keep* limit* prefer* move first by ... overflow to S texts end`
struct Plan {
  Span span;
  Identifier id;
  Attributes attributes;
  Source assign;
  Source to;
  Expr by;
  std::vector<Expr> keeps;
  std::vector<Expr> limits;
  std::vector<Expr> prefers;
  std::vector<OrderKey> move_first;
  std::optional<Source> overflow;
  std::vector<TextClause> texts;
};

/// `pack name [version "..."] [title "..."] [description "..."]`
struct Header {
  Span span;
  Identifier name;
  std::optional<StringLiteral> version;
  std::optional<StringLiteral> title;
  std::optional<StringLiteral> description;
};

/// One parsed rule file. Items keep file order within each kind.
struct File {
  diag::SourceFilePtr source;
  std::optional<Header> header;
  std::vector<Param> params;
  std::vector<Rule> rules;
  std::vector<Plan> plans;
};

}  // namespace rapport::dsl::ast
