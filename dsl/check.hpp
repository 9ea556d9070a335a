#pragma once
// The checker: resolves names against the schema, infers and checks types, and compiles each
// rule into a program of typed operations (dsl/program.hpp). User mistakes go to the sink.

#include <optional>

#include "diag/diagnostic.hpp"
#include "dsl/ast.hpp"
#include "dsl/program.hpp"
#include "model/schema.hpp"

namespace rapport::dsl {

/// Checks and compiles one parsed rule file against `schema` (model v1, or model v1 plus what
/// the data shows). Returns the pack even when there were errors (for tools); callers must
/// not evaluate it when `sink.has_errors()`.
CompiledPack compile(const ast::File& file, const model::Schema& schema, diag::DiagnosticSink& sink);

/// Converts a literal expression (a parameter default, a key-map value, an override) to a value of
/// `type`. Reports a mistake (with a hint such as "write 10% or 0.10") at `expr.span` and returns
/// nullopt. `what` names the thing for messages ("parameter `dunbar_limit`").
std::optional<Value> convert_literal(const ast::Expr& expr, const Type& type, const std::string& what,
                                     diag::SourceFilePtr source, diag::DiagnosticSink& sink);

/// Parses a type name as written in a `param` declaration ("count", "list of text").
std::optional<Type> parse_param_type(const ast::TypeRef& ref, diag::SourceFilePtr source, diag::DiagnosticSink& sink);

/// "150", "10%", "90d", "[a, b]", "strategic": a value as people read it.
std::string format_value(const Value& value);

}  // namespace rapport::dsl
