#pragma once
// Internal to the parser: entry points into the Spirit X3 grammar (dsl/grammar.cpp). Each parses
// one item starting at `p`, advances `p` past it on success, and on a syntax error fills `failure`
// instead of throwing, so the driver (dsl/parser.cpp) can report it and resynchronise.

#include <string>

#include "dsl/ast.hpp"
#include "dsl/lexer.hpp"

namespace rapport::dsl::detail {

/// Why an item did not parse.
struct Failure {
  enum class Kind { None, Expected, TooDeep, TooLong };
  Kind kind = Kind::None;
  const char* where = nullptr;  // where the parser stopped
  std::string expected;         // the readable name of what it expected ("condition after `when`")
};

bool parse_header(ParseState& state, const char*& p, ast::Header& out, Failure& failure);
bool parse_rule(ParseState& state, const char*& p, ast::Rule& out, Failure& failure);
bool parse_plan(ParseState& state, const char*& p, ast::Plan& out, Failure& failure);
bool parse_param(ParseState& state, const char*& p, ast::Param& out, Failure& failure);
/// One expression in [p, last). `p` is left after it (trailing text is the caller's business).
bool parse_expression_at(ParseState& state, const char*& p, const char* last, ast::Expr& out, Failure& failure);

/// Reports DSL3011 unless `value` is a literal a parameter can hold (scalars, strings, booleans
/// and lists of them). Returns true when it is one.
bool check_literal(ParseState& state, const ast::Expr& value);

}  // namespace rapport::dsl::detail
