#pragma once
// The rule-language parser: text -> ast::File, every syntax error reported to a DiagnosticSink.
// The parser never throws and never gives up early: after a syntax error it resumes at the next
// line that starts with `rule`, `plan` or `param`, so one run shows every mistake in a file.
// Spans in the tree are byte offsets into source->text().

#include <optional>

#include "diag/diagnostic.hpp"
#include "dsl/ast.hpp"

namespace rapport::dsl {

/// Parses one rule file. Every syntax error goes to `sink`; the returned File holds every item
/// (header, param, rule, plan) that parsed cleanly. Never throws, never crashes, never hangs:
/// nesting deeper than 200 levels is DSL1011, oversized numbers DSL1004, invalid UTF-8 or NUL
/// bytes DSL1012 (then parsing goes on), and time is linear in the size of the text.
ast::File parse_file(diag::SourceFilePtr source, diag::DiagnosticSink& sink);

/// Parses a standalone literal as in a parameter default or a YAML override value: "21d", "10%",
/// "2026-03-01", "[\"a\", \"b\"]", "true", "-3", "'x'". Errors point into `source`; returns
/// nullopt when there was any.
std::optional<ast::Expr> parse_literal(diag::SourceFilePtr source, diag::DiagnosticSink& sink);

/// Parses a standalone expression (the whole source text), for tests and tools. Returns nullopt
/// when there was any error.
std::optional<ast::Expr> parse_expression(diag::SourceFilePtr source, diag::DiagnosticSink& sink);

}  // namespace rapport::dsl
