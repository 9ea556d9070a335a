#include "dsl/check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "diag/suggest.hpp"
#include "model/time.hpp"

namespace rapport::dsl {

namespace {

using diag::Code;
using diag::Span;

std::string quote(std::string_view name) { return "`" + std::string(name) + "`"; }

std::string join(const std::vector<std::string>& items, std::string_view separator = ", ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += items[i];
  }
  return out;
}

/// "a count", "an enum", "a set of accounts": a type for a sentence.
std::string a_type(const Type& t) {
  std::string d = describe(t);
  if (d.rfind("a ", 0) == 0 || d.rfind("an ", 0) == 0 || d.rfind("one ", 0) == 0) return d;
  bool vowel = !d.empty() && std::string_view("aeiou").find(d[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + d;
}

bool is_number_kind(const Type& t) { return t.kind == Kind::Number; }

Unit combine_units(Unit a, Unit b) {
  if (a == b) return a;
  if (a == Unit::None) return b;
  if (b == Unit::None) return a;
  return Unit::None;
}

/// A bit per frame level a node reads from.
using LevelMask = std::uint32_t;

int top_level(LevelMask mask) {
  int level = 0;
  for (int i = 0; i < 32; ++i) {
    if (mask & (1u << i)) level = i;
  }
  return level;
}

/// Known functions and how many arguments they take.
struct FunctionInfo {
  std::string_view name;
  Function function;
  std::size_t min_args;
  std::size_t max_args;
  std::string_view usage;
};

constexpr FunctionInfo kFunctions[] = {
    {"count", Function::Count, 1, 1, "count(set or list)"},
    {"sum", Function::Sum, 1, 1, "sum(field of set)"},
    {"avg", Function::Avg, 1, 1, "avg(field of set)"},
    {"min", Function::Min, 1, 8, "min(field of set) or min(a, b)"},
    {"max", Function::Max, 1, 8, "max(field of set) or max(a, b)"},
    {"distinct", Function::Distinct, 1, 1, "distinct(field of set)"},
    {"stddev", Function::Stddev, 1, 1, "stddev(field of set)"},
    {"spread", Function::Spread, 1, 1, "spread(field of set)"},
    {"exists", Function::Exists, 1, 1, "exists(set)"},
    {"percentile_rank", Function::PercentileRank, 2, 2, "percentile_rank(value, field of set)"},
    {"rank", Function::Rank, 2, 2, "rank(value, field of set)"},
    {"abs", Function::Abs, 1, 1, "abs(number or duration)"},
    {"round", Function::Round, 1, 2, "round(number [, digits])"},
    {"if_missing", Function::IfMissing, 2, 2, "if_missing(value, default)"},
    {"hours", Function::Hours, 1, 1, "hours(number) or hours(duration)"},
    {"days", Function::Days, 1, 1, "days(number) or days(duration)"},
    {"weeks", Function::Weeks, 1, 1, "weeks(number) or weeks(duration)"},
    {"percent", Function::Percent, 1, 1, "percent(number)"},
    {"lower", Function::Lower, 1, 1, "lower(text)"},
    {"upper", Function::Upper, 1, 1, "upper(text)"},
    {"length", Function::Length, 1, 1, "length(text)"},
    {"date", Function::Date, 1, 1, "date(timestamp)"},
};

const FunctionInfo* find_function(std::string_view name) {
  for (const auto& f : kFunctions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<std::string> function_names() {
  std::vector<std::string> names;
  for (const auto& f : kFunctions) names.emplace_back(f.name);
  return names;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Literals and values

std::string format_value(const Value& value) {
  if (value.missing) return "missing";
  char buffer[64];
  switch (value.kind) {
    case Kind::Bool: return value.number != 0 ? "true" : "false";
    case Kind::Number:
      if (value.unit == Unit::Percent) {
        std::snprintf(buffer, sizeof buffer, "%g%%", value.number * 100);
      } else {
        std::snprintf(buffer, sizeof buffer, "%g", value.number);
      }
      return buffer;
    case Kind::Duration: return model::format_duration(value.number);
    case Kind::Date: return model::format_date(value.number);
    case Kind::Timestamp: return model::format_timestamp(value.number);
    case Kind::Text:
    case Kind::Enum: return value.text;
    case Kind::List: {
      std::vector<std::string> items;
      for (const auto& item : value.items) items.push_back(format_value(item));
      return "[" + join(items) + "]";
    }
    default: return "?";
  }
}

std::optional<Type> parse_param_type(const ast::TypeRef& ref, diag::SourceFilePtr source, diag::DiagnosticSink& sink) {
  static const std::vector<std::string> kNames = {"number", "count", "percent", "duration", "date",
                                                  "timestamp", "text", "bool", "list"};
  const std::string& name = ref.name.name;
  if (name == "list") {
    if (!ref.element) {
      sink.error(Code::UnknownType, source, ref.name.span, "a list parameter needs an element type")
          .help("write `list of text` or `list of number`");
      return std::nullopt;
    }
    auto element = parse_param_type(*ref.element, source, sink);
    if (!element) return std::nullopt;
    if (element->kind == Kind::List) {
      sink.error(Code::UnknownType, source, ref.element->span, "lists of lists are not supported");
      return std::nullopt;
    }
    return Type::list(*element);
  }
  if (ref.element) {
    sink.error(Code::UnknownType, source, ref.span, quote(name) + " takes no `of`")
        .help("only `list` has an element type: `list of " + name + "`");
    return std::nullopt;
  }
  if (name == "number") return Type::of(Kind::Number);
  if (name == "count") return Type::of(Kind::Number, Unit::Count);
  if (name == "percent") return Type::of(Kind::Number, Unit::Percent);
  if (name == "duration") return Type::of(Kind::Duration);
  if (name == "date") return Type::of(Kind::Date);
  if (name == "timestamp") return Type::of(Kind::Timestamp);
  if (name == "text") return Type::of(Kind::Text);
  if (name == "bool") return Type::of(Kind::Bool);
  auto& d = sink.error(Code::UnknownType, source, ref.name.span, "unknown parameter type " + quote(name));
  if (auto suggestion = diag::closest(name, kNames)) d.help("did you mean " + quote(*suggestion) + "?");
  d.note("types: number, count, percent, duration, date, timestamp, text, bool, list of <type>");
  return std::nullopt;
}

std::optional<Value> convert_literal(const ast::Expr& expr, const Type& type, const std::string& what,
                                     diag::SourceFilePtr source, diag::DiagnosticSink& sink) {
  using ast::ExprKind;
  auto mismatch = [&](std::string found) -> diag::Diagnostic& {
    return sink.error(Code::ParamOverrideType, source, expr.span,
                      what + " is " + (type.kind == Kind::List ? "a " : "a ") + describe(type) + ", got " + found);
  };
  // Fold a leading minus on a number literal.
  if (expr.kind == ExprKind::Negate && expr.args.size() == 1) {
    auto inner = convert_literal(expr.args[0], type, what, source, sink);
    if (!inner) return std::nullopt;
    if (inner->kind != Kind::Number && inner->kind != Kind::Duration) {
      mismatch("a negated " + describe(Type::of(inner->kind)));
      return std::nullopt;
    }
    inner->number = -inner->number;
    return inner;
  }
  Value value;
  value.kind = type.kind;
  value.unit = type.unit;
  switch (type.kind) {
    case Kind::Number:
      if (expr.kind == ExprKind::Percent && type.unit != Unit::Count) {
        value.number = expr.number;
        return value;
      }
      if (expr.kind != ExprKind::Number) break;
      value.number = expr.number;
      if (type.unit == Unit::Percent && expr.number > 1) {
        char written[32];
        std::snprintf(written, sizeof written, "%g", expr.number);
        sink.error(Code::ParamOverrideType, source, expr.span,
                   what + " is a percent; " + written + " would mean " + std::to_string(static_cast<long long>(expr.number * 100)) + "%")
            .help("write " + std::string(written) + "% or " + format_value(Value{Kind::Number, Unit::None, false, expr.number / 100, {}, {}}));
        return std::nullopt;
      }
      if (type.unit == Unit::Count && (expr.number < 0 || std::floor(expr.number) != expr.number)) {
        mismatch("a number that is not a whole count").help("a count is a whole number such as 150");
        return std::nullopt;
      }
      return value;
    case Kind::Duration:
      if (expr.kind == ExprKind::Duration) {
        value.number = expr.number;
        return value;
      }
      if (expr.kind == ExprKind::Number) {
        char written[32];
        std::snprintf(written, sizeof written, "%g", expr.number);
        sink.error(Code::DurationExpected, source, expr.span, what + " is a duration, got the number " + written)
            .help("did you mean " + std::string(written) + "d? (units: h, d, w)");
        return std::nullopt;
      }
      break;
    case Kind::Date:
      if (expr.kind == ExprKind::Date) {
        value.number = expr.number;
        return value;
      }
      break;
    case Kind::Timestamp:
      if (expr.kind == ExprKind::Timestamp || expr.kind == ExprKind::Date) {
        value.number = expr.number;
        return value;
      }
      break;
    case Kind::Text:
    case Kind::Enum:
      if (expr.kind == ExprKind::String) {
        value.text = expr.text;
        return value;
      }
      break;
    case Kind::Bool:
      if (expr.kind == ExprKind::Bool) {
        value.number = expr.number;
        return value;
      }
      break;
    case Kind::List: {
      if (expr.kind != ExprKind::List) break;
      bool ok = true;
      for (const auto& item : expr.args) {
        auto converted = convert_literal(item, *type.element, what + " item", source, sink);
        if (converted) value.items.push_back(std::move(*converted));
        else ok = false;
      }
      if (!ok) return std::nullopt;
      return value;
    }
    default:
      break;
  }
  static const std::map<ExprKind, std::string> kFound = {
      {ExprKind::Number, "a number"}, {ExprKind::Percent, "a percent"}, {ExprKind::Duration, "a duration"},
      {ExprKind::Date, "a date"}, {ExprKind::Timestamp, "a timestamp"}, {ExprKind::String, "a text"},
      {ExprKind::Bool, "a bool"}, {ExprKind::List, "a list"}};
  auto found = kFound.find(expr.kind);
  if (found == kFound.end()) {
    sink.error(Code::NotConstant, source, expr.span, what + " must be a literal value")
        .help("write a literal such as 150, 10%, 90d, 2026-03-01, \"text\", true or [\"a\", \"b\"]");
    return std::nullopt;
  }
  auto& d = mismatch(found->second);
  if (type.kind == Kind::Text && expr.kind != ExprKind::String) d.help("put text in quotes: \"...\"");
  if (type.kind == Kind::List) d.help("write a list in brackets: [\"a\", \"b\"]");
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The checker proper

namespace {

class Checker {
 public:
  Checker(const ast::File& file, const model::Schema& schema, diag::DiagnosticSink& sink)
      : file_(file), schema_(schema), sink_(sink), source_(file.source) {}

  CompiledPack run();

 private:
  // A frame of name scope: level 0 is the run (parameters), level 1 the rule's subject,
  // deeper levels the rows of `where` filters and `of` projections.
  struct Scope {
    std::string var;        // the variable bound here ("" for an anonymous filter)
    Type var_type;          // Row of entity, or a value type
    std::string entity;     // rows of this entity: bare names are its fields
    bool bare_fields = false;
  };
  struct LetInfo {
    std::string name;
    Type type;
    Span span;
    bool used = false;
    LevelMask mask = 0;
  };
  struct Compiled {
    Node node;
    LevelMask mask = 0;
  };

  // declarations
  void check_header();
  void check_params();
  void check_rule(const ast::Rule& rule);
  void check_plan(const ast::Plan& plan);
  std::optional<Severity> severity_of(const ast::Identifier& id);
  void check_attributes(const ast::Attributes& attributes, CompiledRule& rule);

  // expressions
  Compiled expr(const ast::Expr& e);
  Compiled name(const ast::Expr& e);
  Compiled member(const ast::Expr& e);
  Compiled index(const ast::Expr& e);
  Compiled call(const ast::Expr& e);
  Compiled filter(const ast::Expr& e, const std::string& implicit_alias = "");
  Compiled of(const ast::Expr& e);
  Compiled binary(const ast::Expr& e);
  Compiled compare(const ast::Expr& e);
  Compiled membership(const ast::Expr& e);
  Compiled literal(const ast::Expr& e);
  Compiled list(const ast::Expr& e);
  Compiled condition(const ast::Expr& e, std::string_view what);
  Compiled aggregate(const ast::Expr& e, const FunctionInfo& info, std::vector<Compiled>& args);
  Compiled subject_source(const ast::Expr& e, const std::string& var);

  Compiled error_node(Span span) {
    Compiled c;
    c.node.type = Type::error();
    c.node.span = span;
    return c;
  }
  static Compiled make(Op op, Type type, Span span, std::vector<Compiled> args) {
    Compiled c;
    c.node.op = op;
    c.node.type = std::move(type);
    c.node.span = span;
    for (auto& a : args) {
      c.mask |= a.mask;
      c.node.args.push_back(std::move(a.node));
    }
    c.node.level = top_level(c.mask);
    return c;
  }
  void check_enum_literal(const Type& enum_type, const Node& literal);
  /// A text parameter compared with an enum field must hold that enum's values: checks the
  /// declared values now and records the constraint for overrides.
  void constrain_param_to_enum(const Node& node, const Type& other);
  /// `account.region` for a parameter keyed by accounts.region, using a variable in scope.
  std::string key_hint(const ParamDecl& p) const {
    for (int level = static_cast<int>(scopes_.size()) - 1; level >= 1; --level) {
      if (scopes_[level].var_type.kind == Kind::Row && scopes_[level].var_type.entity == p.by_entity &&
          !scopes_[level].var.empty()) {
        return scopes_[level].var + "." + p.by_field;
      }
    }
    return model::singular_of(p.by_entity) + "." + p.by_field;
  }
  bool types_comparable(const Type& a, const Type& b);
  void note_field_use(const std::string& entity, const std::string& field, Span span);
  std::vector<std::string> names_in_scope() const;
  void enter_row_scope(const std::string& entity, const std::string& var, bool bare_fields);
  bool plan_limit(const ast::Expr& e, const CompiledPlan& plan, PlanLimit& out);
  void check_nullable_guards(const CompiledRule& rule);

  const ast::File& file_;
  const model::Schema& schema_;
  diag::DiagnosticSink& sink_;
  diag::SourceFilePtr source_;
  CompiledPack pack_;
  std::vector<bool> param_used_;
  std::vector<Scope> scopes_;
  std::vector<LetInfo> lets_;
  std::string rule_id_;
  bool values_subject_ = false;  // distinct-value subjects are few: a scan per subject is fine
  std::set<std::tuple<std::string, std::string, std::string>> field_seen_;  // rule, entity, field
};

CompiledPack Checker::run() {
  pack_.source = source_;
  check_header();
  check_params();
  std::map<std::string, Span> ids;
  auto check_id = [&](const ast::Identifier& id, std::string_view what) {
    auto [it, fresh] = ids.emplace(id.name, id.span);
    if (!fresh) {
      sink_.error(Code::DuplicateName, source_, id.span, std::string(what) + " " + quote(id.name) + " is defined twice")
          .label(source_, it->second, "first defined here")
          .help("rule and plan ids are a public interface: give each one its own id");
    }
  };
  for (const auto& rule : file_.rules) {
    check_id(rule.id, "rule");
    check_rule(rule);
  }
  for (const auto& plan : file_.plans) {
    check_id(plan.id, "plan");
    check_plan(plan);
  }
  for (std::size_t i = 0; i < pack_.params.size(); ++i) {
    if (!param_used_[i]) {
      sink_.warning(Code::UnusedParameter, source_, pack_.params[i].span,
                    "parameter " + quote(pack_.params[i].name) + " is never used")
          .help("remove it, or use it in a rule");
    }
  }
  return std::move(pack_);
}

void Checker::check_header() {
  if (!file_.header) return;  // the parser reported the missing header
  const auto& h = *file_.header;
  pack_.name = h.name.name;
  if (h.version) pack_.version = h.version->value;
  if (h.title) pack_.title = h.title->value;
  if (h.description) pack_.description = h.description->value;
  if (pack_.version.empty()) pack_.version = "0.0.0";
}

void Checker::check_params() {
  std::map<std::string, Span> seen;
  for (const auto& p : file_.params) {
    auto [it, fresh] = seen.emplace(p.name.name, p.name.span);
    if (!fresh) {
      sink_.error(Code::DuplicateName, source_, p.name.span, "parameter " + quote(p.name.name) + " is defined twice")
          .label(source_, it->second, "first defined here");
      continue;
    }
    ParamDecl decl;
    decl.name = p.name.name;
    decl.span = p.name.span;
    if (p.doc) decl.doc = p.doc->value;
    auto type = parse_param_type(p.type, source_, sink_);
    if (!type) type = Type::error();
    decl.type = *type;
    std::string what = "parameter " + quote(decl.name);
    if (p.by_entity && p.by_field) {
      const model::EntityDef* entity = schema_.entity(p.by_entity->name);
      if (!entity) {
        auto& d = sink_.error(Code::UnknownEntity, source_, p.by_entity->span, "unknown entity " + quote(p.by_entity->name));
        if (auto s = diag::closest(p.by_entity->name, schema_.entity_names())) d.help("did you mean " + quote(*s) + "?");
      } else if (const model::FieldDef* field = entity->field(p.by_field->name); !field) {
        auto& d = sink_.error(Code::UnknownField, source_, p.by_field->span,
                              entity->name + " has no field " + quote(p.by_field->name));
        if (auto s = diag::closest(p.by_field->name, entity->field_names())) d.help("did you mean " + quote(*s) + "?");
      } else if (field->type != model::FieldType::Enum && field->type != model::FieldType::Text) {
        sink_.error(Code::WrongParamKey, source_, p.by_field->span,
                    "a parameter can be keyed by a text or enum field; " + entity->name + "." + field->name + " is " +
                        std::string(model::field_type_name(field->type)));
      } else {
        decl.by_entity = entity->name;
        decl.by_field = field->name;
        decl.by_def = field;
      }
    } else if (!p.keymap.empty()) {
      sink_.error(Code::IndexNotKeyed, source_, p.keymap.front().span,
                  what + " has a key map but is not keyed by a field")
          .help("write `param " + decl.name + " : " + p.type.name.name + " by accounts.tier = ... { ... }`");
    }
    if (!decl.type.is_error()) {
      if (auto value = convert_literal(p.default_value, decl.type, what, source_, sink_)) decl.default_value = *value;
      for (const auto& entry : p.keymap) {
        if (decl.by_def && decl.by_def->type == model::FieldType::Enum && !decl.by_def->enum_rank(entry.key.value)) {
          auto& d = sink_.error(Code::UnknownEnumValue, source_, entry.key.span,
                                decl.name + " key \"" + entry.key.value + "\" is not a value of " + decl.by_entity +
                                    "." + decl.by_field);
          if (auto s = diag::closest(entry.key.value, decl.by_def->enum_values)) d.help("did you mean \"" + *s + "\"?");
          d.note("values: " + join(decl.by_def->enum_values));
          continue;
        }
        if (decl.keyed.count(entry.key.value)) {
          sink_.error(Code::DuplicateName, source_, entry.key.span,
                      "key \"" + entry.key.value + "\" appears twice in " + decl.name);
          continue;
        }
        if (auto value = convert_literal(entry.value, decl.type, what + " for \"" + entry.key.value + "\"", source_, sink_)) {
          decl.keyed[entry.key.value] = *value;
        }
      }
    }
    pack_.params.push_back(std::move(decl));
    param_used_.push_back(false);
  }
}

std::optional<Severity> Checker::severity_of(const ast::Identifier& id) {
  if (auto s = parse_severity(id.name)) return s;
  auto& d = sink_.error(Code::UnknownSeverity, source_, id.span, "unknown severity " + quote(id.name));
  if (auto s = diag::closest(id.name, {"info", "low", "medium", "high", "critical"})) d.help("did you mean " + quote(*s) + "?");
  d.note("severities, lowest first: info, low, medium, high, critical");
  return std::nullopt;
}

void Checker::check_attributes(const ast::Attributes& attributes, CompiledRule& rule) {
  for (Span span : attributes.duplicates) {
    sink_.error(Code::DuplicateAttribute, source_, span, "this attribute is given twice")
        .help("keep one of them");
  }
  if (attributes.title) rule.title = attributes.title->value;
  if (attributes.rationale) rule.rationale = attributes.rationale->value;
  if (attributes.severity) {
    if (auto s = severity_of(*attributes.severity)) rule.severity = *s;
  }
  for (const auto& tag : attributes.tags) rule.tags.push_back(tag.name);
  if (attributes.enabled) rule.enabled = attributes.enabled->number != 0;
}

std::vector<std::string> Checker::names_in_scope() const {
  std::vector<std::string> names;
  for (const auto& let : lets_) names.push_back(let.name);
  for (const auto& p : pack_.params) names.push_back(p.name);
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    if (!it->var.empty()) names.push_back(it->var);
  }
  if (!scopes_.empty() && scopes_.back().bare_fields) {
    if (const auto* e = schema_.entity(scopes_.back().entity)) {
      for (const auto& f : e->fields) names.push_back(f.name);
    }
  }
  for (const auto& e : schema_.entities()) names.push_back(e.name);
  return names;
}

void Checker::note_field_use(const std::string& entity, const std::string& field, Span span) {
  pack_.fields_needed[entity].insert(field);
  if (field_seen_.insert({rule_id_, entity, field}).second) pack_.field_uses.push_back({entity, field, span, rule_id_});
}

void Checker::check_rule(const ast::Rule& r) {
  CompiledRule rule;
  rule.id = r.id.name;
  rule.span = r.id.span;
  rule_id_ = r.id.name;
  check_attributes(r.attributes, rule);
  if (!r.attributes.title) {
    sink_.warning(Code::MissingClause, source_, r.id.span, "rule " + quote(rule.id) + " has no title")
        .help("add `title \"...\"`: it heads the rule's findings in every report");
  }
  lets_.clear();
  scopes_.clear();
  scopes_.push_back(Scope{});  // level 0: the run
  rule.subject_var = r.subject_var.name;

  // The subject: the rows of a set, or the distinct values of a list, computed once.
  values_subject_ = false;
  Compiled subject = subject_source(r.subject_source, r.subject_var.name);
  values_subject_ = subject.node.type.kind == Kind::List;
  bool subject_ok = !subject.node.type.is_error();
  if (subject_ok) {
    if (subject.node.type.kind == Kind::Set) {
      rule.subject_kind = SubjectKind::Rows;
      rule.subject_entity = subject.node.type.entity;
      rule.subject_type = Type::row(subject.node.type.entity);
    } else if (subject.node.type.kind == Kind::List) {
      rule.subject_kind = SubjectKind::Values;
      rule.subject_type = *subject.node.type.element;
      if (subject.node.args.size() >= 1 && subject.node.op == Op::Call && !subject.node.args.empty()) {
        rule.subject_entity = subject.node.args[0].entity;
      }
    } else {
      sink_.error(Code::NotASet, source_, r.subject_source.span,
                  "`for each` needs a set of rows or a list of values; this is " + describe(subject.node.type))
          .help("write `for each account in accounts` or `for each unit in distinct(team of users)`");
      subject_ok = false;
    }
  }
  rule.subject = std::move(subject.node);
  scopes_.push_back(Scope{r.subject_var.name, subject_ok ? rule.subject_type : Type::error(), {}, false});

  for (const auto& let : r.lets) {
    bool clash = false;
    if (let.name.name == r.subject_var.name) {
      sink_.error(Code::ShadowedName, source_, let.name.span,
                  "`let " + let.name.name + "` hides the rule's subject " + quote(r.subject_var.name))
          .help("choose another name");
      clash = true;
    }
    for (const auto& other : lets_) {
      if (other.name == let.name.name) {
        sink_.error(Code::DuplicateName, source_, let.name.span, quote(let.name.name) + " is defined twice in this rule")
            .label(source_, other.span, "first defined here");
        clash = true;
      }
    }
    if (pack_.param_slot(let.name.name) >= 0) {
      sink_.error(Code::ShadowedName, source_, let.name.span,
                  "`let " + let.name.name + "` hides the parameter of the same name")
          .label(source_, pack_.params[pack_.param_slot(let.name.name)].span, "parameter defined here")
          .help("choose another name for the let");
      clash = true;
    }
    Compiled value = expr(let.value);
    LetInfo info{let.name.name, value.node.type, let.name.span, false, value.mask};
    if (clash) info.name = "\x01" + info.name;  // keep the slot, hide the name
    lets_.push_back(info);
    rule.lets.push_back(Let{let.name.name, let.name.span, std::move(value.node)});
  }

  rule.when = condition(r.when, "`when`").node;
  if (rule.when.op == Op::Const && rule.when.type.kind == Kind::Bool) {
    bool always = rule.when.constant.number != 0;
    sink_.warning(Code::ConstantCondition, source_, r.when.span,
                  std::string("`when` is always ") + (always ? "true: every subject is a finding" : "false: the rule never fires"))
        .help(always ? "put the condition in `when` (or in the subject's `where`)" : "disable the rule with `enabled false` instead");
  }

  for (const auto& esc : r.escalations) {
    Escalation escalation;
    if (auto s = severity_of(esc.severity)) {
      escalation.severity = *s;
      if (*s <= rule.severity) {
        sink_.warning(Code::EscalationNotHigher, source_, esc.severity.span,
                      "escalation to " + esc.severity.name + " is not above the rule's severity " +
                          std::string(severity_name(rule.severity)))
            .help("escalate to a higher severity, or remove the clause");
      }
    }
    escalation.condition = condition(esc.condition, "`escalate ... when`").node;
    rule.escalations.push_back(std::move(escalation));
  }

  bool unconditional_remedy = false;
  bool unconditional_message = false;
  for (const auto& t : r.texts) {
    Text text;
    text.span = t.span;
    bool& unconditional = t.is_remedy ? unconditional_remedy : unconditional_message;
    if (t.condition) {
      if (unconditional) {
        sink_.warning(Code::UnreachableRemedy, source_, t.condition->span,
                      std::string("this `") + (t.is_remedy ? "remedy" : "message") +
                          " when` follows an unconditional one and can never apply")
            .help("put conditional texts before the unconditional one");
      }
      text.condition = condition(*t.condition, t.is_remedy ? "`remedy when`" : "`message when`").node;
    } else {
      unconditional = true;
    }
    for (const auto& piece : t.text.pieces) {
      TemplatePart part;
      part.is_expr = piece.is_expr;
      part.text = piece.text;
      if (piece.is_expr) {
        Compiled c = expr(piece.expr);
        if (c.node.type.kind == Kind::Set) {
          sink_.error(Code::TypeMismatch, source_, piece.expr.span, "a set of rows can't be printed")
              .help("print count(...) of it, or a field: `name of ...`");
        }
        part.expr = std::move(c.node);
      }
      text.parts.push_back(std::move(part));
    }
    (t.is_remedy ? rule.remedies : rule.messages).push_back(std::move(text));
  }
  if (rule.messages.empty()) {
    sink_.error(Code::MissingClause, source_, r.id.span, "rule " + quote(rule.id) + " has no `message`")
        .help("add `message \"...\"` saying what is wrong, with {expressions} for the details");
  }
  check_nullable_guards(rule);
  for (const auto& let : lets_) {
    if (!let.used && let.name[0] != '\x01') {
      sink_.warning(Code::UnusedLet, source_, let.span, "`let " + let.name + "` is never used")
          .help("remove it, or use it in `when`, a message or a remedy");
    }
  }
  pack_.rules.push_back(std::move(rule));
}

namespace {

/// Calls `visit` on every node of a compiled tree, including join keys.
void walk(const Node& node, const std::function<void(const Node&)>& visit) {
  visit(node);
  for (const auto& arg : node.args) walk(arg, visit);
  if (node.join_outer) walk(*node.join_outer, visit);
}

void walk_rule(const CompiledRule& rule, const std::function<void(const Node&)>& visit) {
  walk(rule.subject, visit);
  for (const auto& let : rule.lets) walk(let.value, visit);
  walk(rule.when, visit);
  for (const auto& e : rule.escalations) walk(e.condition, visit);
  for (const auto* texts : {&rule.messages, &rule.remedies}) {
    for (const auto& text : *texts) {
      if (text.condition) walk(*text.condition, visit);
    }
  }
}

/// The fields an operand reads directly or through arithmetic (not through aggregates).
void operand_fields(const Node& node, std::vector<const Node*>& out) {
  if (node.op == Op::Field) {
    out.push_back(&node);
    return;
  }
  if (node.op == Op::Add || node.op == Op::Sub || node.op == Op::Mul || node.op == Op::Div || node.op == Op::Negate) {
    for (const auto& arg : node.args) operand_fields(arg, out);
  }
}

}  // namespace

void Checker::check_nullable_guards(const CompiledRule& rule) {
  // A field tested with `is missing`, `is not missing` or if_missing() anywhere in the rule counts as handled.
  std::set<std::pair<std::string, std::string>> guarded;
  walk_rule(rule, [&](const Node& node) {
    bool guard = node.op == Op::IsMissing || node.op == Op::IsNotMissing ||
                 (node.op == Op::Call && node.function == Function::IfMissing);
    if (guard && !node.args.empty() && node.args[0].op == Op::Field) {
      guarded.emplace(node.args[0].entity, node.args[0].field);
    }
  });
  std::set<std::uint32_t> reported;
  walk_rule(rule, [&](const Node& node) {
    if (node.op != Op::Compare && node.op != Op::WithinLast && node.op != Op::WithinNext) return;
    std::vector<const Node*> fields;
    for (const auto& arg : node.args) operand_fields(arg, fields);
    for (const Node* field : fields) {
      const model::EntityDef* entity = schema_.entity(field->entity);
      const model::FieldDef* def = entity ? entity->field(field->field) : nullptr;
      if (!def || !def->declared || !def->nullable || guarded.count({field->entity, field->field})) continue;
      if (!reported.insert(field->span.begin).second) continue;
      // Inside a `where`, a missing value leaves the row out of the set, which is often what is
      // meant: say so quietly. On the subject itself it silently stops the rule from firing.
      bool in_filter = !field->args.empty() && field->args[0].op == Op::Var && field->args[0].level >= 2;
      std::string what = field->entity + "." + field->field + " is optional; ";
      auto& d = in_filter
                    ? sink_.info(Code::UnguardedNullable, source_, field->span,
                                 what + "rows where it is missing are left out of this set")
                    : sink_.warning(Code::UnguardedNullable, source_, field->span,
                                    what + "where it is missing this comparison is unknown and the rule will not fire");
      d.help("handle it with `is missing` / `is not missing`, or give a default with if_missing(...)");
    }
  });
}

namespace {

/// True when `e` names `name` anywhere (as a variable, not as a field after a dot).
bool mentions(const ast::Expr& e, const std::string& name) {
  if (name.empty()) return false;
  if (e.kind == ast::ExprKind::Name && e.text == name) return true;
  for (const auto& a : e.args) {
    if (mentions(a, name)) return true;
  }
  return false;
}

bool is_portfolio(const ast::Expr& e) { return e.kind == ast::ExprKind::Name && e.text == "portfolio"; }

}  // namespace

void Checker::enter_row_scope(const std::string& entity, const std::string& var, bool bare_fields) {
  lets_.clear();
  scopes_.clear();
  scopes_.push_back(Scope{});
  scopes_.push_back(Scope{var, schema_.entity(entity) ? Type::row(entity) : Type::error(), entity, bare_fields});
}

bool Checker::plan_limit(const ast::Expr& e, const CompiledPlan& plan, PlanLimit& out) {
  auto shape_error = [&](Span span, const std::string& what) {
    sink_.error(Code::InvalidPlan, source_, span, what)
        .help("write `limit count(portfolio) <= 150`, `limit count(portfolio where tier = \"strategic\") <= 5` or "
              "`limit sum(tier_weight[tier] of portfolio) <= 150`")
        .note("`portfolio` is a target's rows after the moves; a limit must add up over them so the planner can "
              "keep every target within it");
    return false;
  };
  if (e.kind != ast::ExprKind::Compare) return shape_error(e.span, "a `limit` compares a total over `portfolio` with a bound");
  const std::string& op = e.text;
  bool flipped = op == ">=" || op == ">";
  if (op != "<=" && op != "<" && !flipped) {
    return shape_error(e.op_span, "a `limit` is an upper bound: use `<=` or `<`, not `" + op + "`");
  }
  auto is_total = [](const ast::Expr& x) {
    return x.kind == ast::ExprKind::Call && (x.text == "count" || x.text == "sum");
  };
  if (flipped && is_total(e.args[0]) && !is_total(e.args[1])) {
    return shape_error(e.op_span, "a `limit` is an upper bound: use `<=` or `<`, not `" + op + "`");
  }
  const ast::Expr& total = e.args[flipped ? 1 : 0];
  const ast::Expr& bound = e.args[flipped ? 0 : 1];
  out.span = e.span;
  out.strict = op == "<" || op == ">";
  if (total.kind != ast::ExprKind::Call || (total.text != "count" && total.text != "sum") || total.args.size() != 1) {
    return shape_error(total.span, "a `limit` bounds count(portfolio ...) or sum(... of portfolio ...)");
  }
  const ast::Expr* set = &total.args[0];
  const ast::Expr* value = nullptr;
  if (total.text == "sum") {
    if (set->kind != ast::ExprKind::Of) return shape_error(set->span, "sum needs the values to add: sum(<value> of portfolio)");
    value = &set->args[0];
    set = &set->args[1];
  }
  const ast::Expr* where = nullptr;
  std::string alias;
  if (set->kind == ast::ExprKind::Filter && is_portfolio(set->args[0])) {
    if (set->args.size() > 1) where = &set->args[1];
    if (set->alias) alias = set->alias->name;
  } else if (!is_portfolio(*set)) {
    return shape_error(set->span, "a `limit` adds up over `portfolio`, the target's rows after the moves");
  }
  // The value and the condition are read per assigned row; bare names are its fields.
  enter_row_scope(plan.assign_entity, alias, true);
  bool ok = true;
  if (value) {
    Compiled v = expr(*value);
    if (!v.node.type.is_error() && v.node.type.kind != Kind::Number) {
      sink_.error(Code::NotNumeric, source_, value->span, "a limit adds numbers; this is " + a_type(v.node.type))
          .help("add a number per row, such as tier_weight[tier] or annual_revenue");
      ok = false;
    }
    ok = ok && !v.node.type.is_error();
    out.weight = std::move(v.node);
  }
  if (where) {
    Compiled c = condition(*where, "`where`");
    ok = ok && !c.node.type.is_error();
    out.when = std::move(c.node);
  }
  if (mentions(bound, plan.assign_var)) {
    sink_.error(Code::InvalidPlan, source_, bound.span,
                "a limit's bound is the same for all of a target's rows; it can't read " + quote(plan.assign_var))
        .help("use a parameter, or a field of " + quote(plan.target_var));
    return false;
  }
  enter_row_scope(plan.target_entity, plan.target_var, false);
  Compiled cap = expr(bound);
  if (!cap.node.type.is_error() && cap.node.type.kind != Kind::Number) {
    sink_.error(Code::NotNumeric, source_, bound.span, "a limit's bound is a number; this is " + a_type(cap.node.type));
    ok = false;
  }
  ok = ok && !cap.node.type.is_error();
  out.capacity = std::move(cap.node);
  return ok;
}

void Checker::check_plan(const ast::Plan& p) {
  CompiledPlan plan;
  plan.source = p;
  plan.id = p.id.name;
  plan.span = p.id.span;
  rule_id_ = p.id.name;
  {
    CompiledRule attributes;
    check_attributes(p.attributes, attributes);
    plan.title = attributes.title;
    plan.rationale = attributes.rationale;
    plan.severity = attributes.severity;
    plan.tags = attributes.tags;
  }
  if (!p.attributes.title) {
    sink_.warning(Code::MissingClause, source_, p.id.span, "plan " + quote(plan.id) + " has no title")
        .help("add `title \"...\"`: it heads the plan's report");
  }
  const model::EntityDef* assigned = schema_.entity(p.assign.entity.name);
  const model::EntityDef* target = schema_.entity(p.to.entity.name);
  for (const auto* source : {&p.assign, &p.to}) {
    if (!schema_.entity(source->entity.name)) {
      auto& d = sink_.error(Code::UnknownEntity, source_, source->entity.span, "unknown entity " + quote(source->entity.name));
      if (auto s = diag::closest(source->entity.name, schema_.entity_names())) d.help("did you mean " + quote(*s) + "?");
    }
  }
  if (!assigned || !target) return;
  plan.assign_entity = assigned->name;
  plan.assign_var = p.assign.alias ? p.assign.alias->name : model::singular_of(assigned->name);
  plan.target_entity = target->name;
  plan.target_var = p.to.alias ? p.to.alias->name : model::singular_of(target->name);
  if (plan.assign_var == plan.target_var) {
    sink_.error(Code::DuplicateName, source_, p.to.alias ? p.to.alias->span : p.to.entity.span,
                "the targets need a name of their own; " + quote(plan.target_var) + " already names the assigned rows")
        .help("write `to " + target->name + " as manager`");
    return;
  }
  bool ok = true;
  auto fail = [&](const Compiled& c) {
    if (c.node.type.is_error()) ok = false;
    return c.node.type.is_error();
  };

  // by: the link the plan rewrites.
  const bool by_shape = p.by.kind == ast::ExprKind::Member && p.by.args.size() == 1 &&
                        p.by.args[0].kind == ast::ExprKind::Name && p.by.args[0].text == plan.assign_var;
  const model::FieldDef* by = by_shape ? assigned->field(p.by.text) : nullptr;
  if (!by || by->type != model::FieldType::Ref || by->ref_entity != target->name) {
    sink_.error(Code::NotALink, source_, by_shape ? p.by.op_span : p.by.span,
                by_shape ? assigned->name + "." + p.by.text + " is not a link to " + target->name
                         : "`by` names a link field of " + quote(plan.assign_var))
        .help("`by` names the field the plan rewrites, such as `" + plan.assign_var + ".owner_id`");
    ok = false;
  } else {
    plan.by_field = by->name;
    note_field_use(assigned->name, by->name, p.by.op_span);
    note_field_use(assigned->name, "id", p.by.op_span);
    note_field_use(target->name, "id", p.by.op_span);
  }

  // Which rows take part, and which rows are targets (bare names are fields, as in any `where`).
  if (p.assign.where) {
    enter_row_scope(assigned->name, plan.assign_var, true);
    Compiled c = condition(*p.assign.where, "`where`");
    if (!fail(c)) plan.assign_where = std::move(c.node);
  }
  if (p.to.where) {
    enter_row_scope(target->name, plan.target_var, true);
    Compiled c = condition(*p.to.where, "`where`");
    if (!fail(c)) plan.target_where = std::move(c.node);
  }
  if (p.overflow) {
    plan.has_overflow = true;
    if (p.overflow->entity.name != target->name) {
      sink_.error(Code::InvalidPlan, source_, p.overflow->entity.span,
                  "the overflow goes to " + target->name + ", the entity `" + plan.assign_var + "." + plan.by_field +
                      "` links to; not " + p.overflow->entity.name)
          .help("write `overflow to " + target->name + " where ...`");
      ok = false;
    } else if (p.overflow->where) {
      enter_row_scope(target->name, p.overflow->alias ? p.overflow->alias->name : plan.target_var, true);
      Compiled c = condition(*p.overflow->where, "`where`");
      if (!fail(c)) plan.overflow_where = std::move(c.node);
    }
  }

  // Clauses about one assigned row.
  for (const auto& keep : p.keeps) {
    if (mentions(keep, plan.target_var)) {
      sink_.error(Code::InvalidPlan, source_, keep.span,
                  "`keep` decides about " + quote(plan.assign_var) + " alone; it can't read " + quote(plan.target_var))
          .help("say which rows stay where they are, e.g. `keep " + plan.assign_var + ".tier = \"strategic\"`");
      ok = false;
      continue;
    }
    enter_row_scope(assigned->name, plan.assign_var, false);
    Compiled c = condition(keep, "`keep`");
    if (!fail(c)) plan.keeps.push_back(std::move(c.node));
  }
  for (const auto& key : p.move_first) {
    if (mentions(key.expr, plan.target_var)) {
      sink_.error(Code::InvalidPlan, source_, key.expr.span,
                  "`move first by` orders " + quote(plan.assign_var) + "; it can't read " + quote(plan.target_var));
      ok = false;
      continue;
    }
    enter_row_scope(assigned->name, plan.assign_var, false);
    Compiled c = expr(key.expr);
    if (fail(c)) continue;
    const Kind k = c.node.type.kind;
    if (k == Kind::Bool || k == Kind::List || k == Kind::Set || k == Kind::Row) {
      sink_.error(Code::TypeMismatch, source_, key.expr.span, "`move first by` needs a value to sort by; this is " +
                                                                  a_type(c.node.type))
          .help("sort by a number, a date or a text, such as " + plan.assign_var + ".annual_revenue");
      ok = false;
      continue;
    }
    plan.move_first.push_back(PlanOrderKey{std::move(c.node), key.descending});
  }

  // Limits: additive totals over a target's portfolio.
  for (const auto& limit : p.limits) {
    PlanLimit compiled;
    if (plan_limit(limit, plan, compiled)) plan.limits.push_back(std::move(compiled));
    else ok = false;
  }
  if (p.limits.empty()) {
    sink_.warning(Code::MissingClause, source_, p.id.span, "plan " + quote(plan.id) + " has no `limit`")
        .help("without a limit nothing is over capacity; only rows without a valid target are placed");
  }

  // Preferences: a target side equal to an assigned side. The planner indexes targets by every
  // combination of preferences, so their number is kept small.
  constexpr std::size_t kMaxPreferences = 4;
  if (p.prefers.size() > kMaxPreferences) {
    sink_.error(Code::InvalidPlan, source_, p.prefers[kMaxPreferences].span,
                "a plan has at most " + std::to_string(kMaxPreferences) + " `prefer` clauses")
        .help("keep the preferences that matter most; they are compared in the order written");
    ok = false;
  }
  for (const auto& prefer : p.prefers) {
    auto shape = [&](Span span, const std::string& what) {
      sink_.error(Code::InvalidPlan, source_, span, what)
          .help("write `prefer " + plan.target_var + ".region = " + plan.assign_var + ".region`");
      ok = false;
    };
    if (prefer.kind != ast::ExprKind::Compare || prefer.text != "=") {
      shape(prefer.span, "`prefer` matches a value of " + quote(plan.target_var) + " with a value of " +
                             quote(plan.assign_var) + " using `=`");
      continue;
    }
    int target_side = -1;
    for (int i = 0; i < 2; ++i) {
      const bool t = mentions(prefer.args[i], plan.target_var);
      const bool a = mentions(prefer.args[i], plan.assign_var);
      if (t && a) {
        shape(prefer.args[i].span, "each side of `prefer` reads " + quote(plan.target_var) + " or " +
                                       quote(plan.assign_var) + ", not both");
        target_side = -2;
        break;
      }
      if (t) target_side = target_side == -1 ? i : -3;
    }
    if (target_side == -2) continue;
    if (target_side < 0 || mentions(prefer.args[1 - target_side], plan.target_var) ||
        !mentions(prefer.args[1 - target_side], plan.assign_var)) {
      shape(prefer.span, "`prefer` compares a value of " + quote(plan.target_var) + " with a value of " +
                             quote(plan.assign_var));
      continue;
    }
    enter_row_scope(target->name, plan.target_var, false);
    Compiled t = expr(prefer.args[target_side]);
    enter_row_scope(assigned->name, plan.assign_var, false);
    Compiled a = expr(prefer.args[1 - target_side]);
    if (fail(t) || fail(a)) continue;
    if (!t.node.type.is_scalar() || !a.node.type.is_scalar() || !types_comparable(t.node.type, a.node.type)) {
      sink_.error(Code::TypeMismatch, source_, prefer.op_span,
                  "can't compare " + describe(t.node.type) + " with " + describe(a.node.type))
          .help("a preference matches equal values: compare fields of the same kind, such as the regions");
      ok = false;
      continue;
    }
    plan.prefers.push_back(PlanPreference{prefer.span, std::move(t.node), std::move(a.node)});
  }

  // Texts: each {expression} reads the assigned row or the target.
  for (const auto& t : p.texts) {
    if (t.condition) {
      sink_.error(Code::InvalidPlan, source_, t.condition->span, "a plan's message and remedy have no `when`")
          .help("remove the condition; say it in words, or use if_missing(...) inside the text");
      ok = false;
      continue;
    }
    auto& parts = t.is_remedy ? plan.remedy : plan.message;
    if (!parts.empty()) {
      sink_.error(Code::InvalidPlan, source_, t.span, std::string("a plan has one `") + (t.is_remedy ? "remedy" : "message") + "`");
      ok = false;
      continue;
    }
    for (const auto& piece : t.text.pieces) {
      PlanTemplatePart part;
      part.is_expr = piece.is_expr;
      part.text = piece.text;
      if (piece.is_expr) {
        const bool reads_target = mentions(piece.expr, plan.target_var);
        if (reads_target && mentions(piece.expr, plan.assign_var)) {
          sink_.error(Code::InvalidPlan, source_, piece.expr.span,
                      "a {...} in a plan's text reads " + quote(plan.assign_var) + " or " + quote(plan.target_var) +
                          ", not both")
              .help("split it in two: {" + plan.assign_var + ".name} ... {" + plan.target_var + ".name}");
          ok = false;
          continue;
        }
        part.of_target = reads_target;
        enter_row_scope(reads_target ? target->name : assigned->name, reads_target ? plan.target_var : plan.assign_var,
                        false);
        Compiled c = expr(piece.expr);
        if (fail(c)) continue;
        if (!c.node.type.is_scalar() && c.node.type.kind != Kind::List) {
          sink_.error(Code::TypeMismatch, source_, piece.expr.span, describe(c.node.type) + " can't be printed")
              .help("print a field, such as {" + plan.assign_var + ".name}");
          ok = false;
          continue;
        }
        part.expr = std::move(c.node);
      }
      parts.push_back(std::move(part));
    }
  }
  if (p.texts.empty() || plan.message.empty()) {
    sink_.warning(Code::MissingClause, source_, p.id.span, "plan " + quote(plan.id) + " has no `message`")
        .help("add `message \"Move {" + plan.assign_var + ".name} to {" + plan.target_var + ".name}.\"`");
  }
  if (ok) pack_.plans.push_back(std::move(plan));
}

// ---------------------------------------------------------------------------------------------
// Expressions

Checker::Compiled Checker::condition(const ast::Expr& e, std::string_view what) {
  Compiled c = expr(e);
  if (!c.node.type.is_error() && c.node.type.kind != Kind::Bool) {
    std::string shown = e.kind == ast::ExprKind::Name ? quote(e.text) + " is " : "this is ";
    sink_.error(Code::NotBoolean, source_, e.span,
                std::string(what) + " needs a condition; " + shown + a_type(c.node.type))
        .help(c.node.type.kind == Kind::Number ? "compare it with something, e.g. `" +
                                                     (e.kind == ast::ExprKind::Name ? e.text : std::string("x")) + " > limit`"
                                               : "write a comparison or a test such as `is missing`");
    c.node.type = Type::error();
  }
  return c;
}

Checker::Compiled Checker::subject_source(const ast::Expr& e, const std::string& var) {
  if (e.kind == ast::ExprKind::Filter && !e.alias) return filter(e, var);
  if (e.kind == ast::ExprKind::Name && schema_.entity(e.text)) return expr(e);
  Compiled c = expr(e);
  if (!c.node.type.is_error() && c.mask != 0) {
    sink_.error(Code::TypeMismatch, source_, e.span, "the subject of `for each` can't depend on other values");
    c.node.type = Type::error();
  }
  return c;
}

Checker::Compiled Checker::expr(const ast::Expr& e) {
  using ast::ExprKind;
  if (ast::is_literal(e.kind)) return literal(e);
  switch (e.kind) {
    case ExprKind::Now: return make(Op::Now, Type::of(Kind::Timestamp), e.span, {});
    case ExprKind::Today: return make(Op::Today, Type::of(Kind::Date), e.span, {});
    case ExprKind::Name: return name(e);
    case ExprKind::Member: return member(e);
    case ExprKind::Index: return index(e);
    case ExprKind::Call: return call(e);
    case ExprKind::List: return list(e);
    case ExprKind::Negate: {
      std::vector<Compiled> args;
      args.push_back(expr(e.args[0]));
      Type t = args[0].node.type;
      if (!t.is_error() && t.kind != Kind::Number && t.kind != Kind::Duration) {
        sink_.error(Code::NotNumeric, source_, e.args[0].span, "`-` needs a number or a duration, not " + describe(t));
        t = Type::error();
      }
      if (args[0].node.op == Op::Const && !t.is_error()) {
        Compiled c = std::move(args[0]);
        c.node.constant.number = -c.node.constant.number;
        c.node.span = e.span;
        return c;
      }
      return make(Op::Negate, t, e.span, std::move(args));
    }
    case ExprKind::Not: {
      std::vector<Compiled> args;
      args.push_back(condition(e.args[0], "`not`"));
      Type t = args[0].node.type.is_error() ? Type::error() : Type::of(Kind::Bool);
      return make(Op::Not, t, e.span, std::move(args));
    }
    case ExprKind::Binary: return binary(e);
    case ExprKind::Compare: return compare(e);
    case ExprKind::In:
    case ExprKind::NotIn:
    case ExprKind::Has:
    case ExprKind::HasAny:
    case ExprKind::HasAll:
      return membership(e);
    case ExprKind::IsMissing:
    case ExprKind::IsNotMissing: {
      std::vector<Compiled> args;
      args.push_back(expr(e.args[0]));
      if (args[0].node.type.kind == Kind::Set) {
        sink_.error(Code::TypeMismatch, source_, e.args[0].span, "a set is never missing; it may be empty")
            .help("write `count(...) = 0`");
      }
      return make(e.kind == ExprKind::IsMissing ? Op::IsMissing : Op::IsNotMissing, Type::of(Kind::Bool), e.span,
                  std::move(args));
    }
    case ExprKind::WithinLast:
    case ExprKind::WithinNext: {
      std::vector<Compiled> args;
      args.push_back(expr(e.args[0]));
      args.push_back(expr(e.args[1]));
      Type t = Type::of(Kind::Bool);
      const Type& left = args[0].node.type;
      const Type& right = args[1].node.type;
      std::string keyword = e.kind == ExprKind::WithinLast ? "within last" : "within next";
      if (!left.is_error() && !left.is_timeish()) {
        sink_.error(Code::TypeMismatch, source_, e.args[0].span,
                    "`" + keyword + "` needs a date or timestamp on its left, not " + describe(left));
        t = Type::error();
      }
      if (!right.is_error() && right.kind != Kind::Duration) {
        auto& d = sink_.error(Code::DurationExpected, source_, e.args[1].span,
                              "`" + keyword + "` needs a duration, got " + describe(right));
        if (e.args[1].kind == ast::ExprKind::Number) {
          char written[32];
          std::snprintf(written, sizeof written, "%g", e.args[1].number);
          d.help("did you mean " + std::string(written) + "d?");
        } else {
          d.help("durations are written 90d, 4w or 12h");
        }
        t = Type::error();
      }
      return make(e.kind == ExprKind::WithinLast ? Op::WithinLast : Op::WithinNext, t, e.span, std::move(args));
    }
    case ExprKind::Filter: return filter(e);
    case ExprKind::Of: return of(e);
    default: break;  // literals were handled above
  }
  return error_node(e.span);
}

Checker::Compiled Checker::literal(const ast::Expr& e) {
  using ast::ExprKind;
  Compiled c;
  c.node.op = Op::Const;
  c.node.span = e.span;
  Value& v = c.node.constant;
  v.number = e.number;
  switch (e.kind) {
    case ExprKind::Number: v.kind = Kind::Number; break;
    case ExprKind::Percent: v.kind = Kind::Number; v.unit = Unit::Percent; break;
    case ExprKind::Duration: v.kind = Kind::Duration; break;
    case ExprKind::Date: v.kind = Kind::Date; break;
    case ExprKind::Timestamp: v.kind = Kind::Timestamp; break;
    case ExprKind::String: v.kind = Kind::Text; v.text = e.text; break;
    case ExprKind::Bool: v.kind = Kind::Bool; break;
    default: break;
  }
  c.node.type = Type::of(v.kind, v.unit);
  return c;
}

Checker::Compiled Checker::list(const ast::Expr& e) {
  std::vector<Compiled> items;
  bool all_constant = true;
  Type element = Type::error();
  for (const auto& item : e.args) {
    Compiled c = expr(item);
    if (c.node.type.is_error()) return error_node(e.span);
    if (!c.node.type.is_scalar()) {
      sink_.error(Code::TypeMismatch, source_, item.span, "a list holds single values, not " + describe(c.node.type));
      return error_node(e.span);
    }
    if (element.is_error()) {
      element = c.node.type;
    } else if (!types_comparable(element, c.node.type)) {
      sink_.error(Code::TypeMismatch, source_, item.span,
                  "list items must have one type: " + describe(element) + " and " + describe(c.node.type));
      return error_node(e.span);
    }
    if (c.node.op != Op::Const) all_constant = false;
    items.push_back(std::move(c));
  }
  if (element.is_error()) element = Type::of(Kind::Text);  // [] : an empty list of text
  Type type = Type::list(element);
  if (all_constant) {
    Compiled c;
    c.node.op = Op::Const;
    c.node.type = type;
    c.node.span = e.span;
    c.node.constant.kind = Kind::List;
    for (auto& item : items) c.node.constant.items.push_back(item.node.constant);
    return c;
  }
  return make(Op::MakeList, type, e.span, std::move(items));
}

Checker::Compiled Checker::name(const ast::Expr& e) {
  const std::string& n = e.text;
  // 1. Inside a `where`, a bare name is a field of the row being filtered.
  if (!scopes_.empty() && scopes_.back().bare_fields) {
    const Scope& scope = scopes_.back();
    const model::EntityDef* entity = schema_.entity(scope.entity);
    bool is_variable = pack_.param_slot(n) >= 0;
    for (const auto& let : lets_) is_variable = is_variable || let.name == n;
    for (std::size_t i = 0; i + 1 < scopes_.size(); ++i) is_variable = is_variable || scopes_[i].var == n;
    const bool is_row_itself = scope.var == n;  // `users as manager where manager.role = ...`
    if (entity && !is_row_itself) {
      if (const model::FieldDef* field = entity->field(n)) {
        if (is_variable) {
          std::string example = entity->singular.substr(0, 1);
          sink_.error(Code::AmbiguousName, source_, e.span,
                      quote(n) + " is both a field of " + entity->name + " and a name in scope")
              .help("rename the variable, or qualify the field: `" + entity->name + " as " + example + " where " +
                    example + "." + n + " = ...`");
          return error_node(e.span);
        }
        int level = static_cast<int>(scopes_.size()) - 1;
        Compiled var = make(Op::Var, Type::row(entity->name), e.span, {});
        var.mask = 1u << level;
        var.node.level = level;
        note_field_use(entity->name, field->name, e.span);
        std::vector<Compiled> args;
        args.push_back(std::move(var));
        Compiled c = make(Op::Field, field_type(*entity, *field), e.span, std::move(args));
        c.node.entity = entity->name;
        c.node.field = field->name;
        return c;
      }
      if (const model::FieldDef* link = entity->link(n); link && !is_variable) {
        std::string example = entity->singular.substr(0, 1);
        sink_.error(Code::LinkUsedBare, source_, e.span, quote(n) + " is not a field of " + entity->name)
            .help("to follow the link write `" + entity->name + " as " + example + " where " + example + "." + n +
                  ".<field> = ...`; the field is `" + link->name + "`");
        return error_node(e.span);
      }
    }
  }
  // 2. Variables bound by enclosing frames, innermost first.
  for (int level = static_cast<int>(scopes_.size()) - 1; level >= 1; --level) {
    if (scopes_[level].var == n) {
      Compiled c = make(Op::Var, scopes_[level].var_type, e.span, {});
      c.mask = 1u << level;
      c.node.level = level;
      return c;
    }
  }
  // 3. Lets of this rule.
  for (std::size_t i = 0; i < lets_.size(); ++i) {
    if (lets_[i].name == n) {
      lets_[i].used = true;
      Compiled c = make(Op::LetRef, lets_[i].type, e.span, {});
      c.node.slot = static_cast<int>(i);
      c.mask = lets_[i].mask | (1u << 1);
      c.node.level = top_level(c.mask);
      return c;
    }
  }
  // 4. Parameters.
  int slot = pack_.param_slot(n);
  if (slot >= 0) {
    param_used_[slot] = true;
    const ParamDecl& p = pack_.params[slot];
    if (p.is_keyed()) {
      sink_.error(Code::KeyedParamWithoutKey, source_, e.span,
                  "parameter " + quote(n) + " varies by " + p.by_entity + "." + p.by_field)
          .help("write " + n + "[" + key_hint(p) + "]");
      return error_node(e.span);
    }
    Compiled c = make(Op::Param, p.type, e.span, {});
    c.node.slot = slot;
    return c;
  }
  // 5. Entities: every row.
  if (const model::EntityDef* entity = schema_.entity(n)) {
    Compiled c = make(Op::EntitySet, Type::set(entity->name), e.span, {});
    c.node.entity = entity->name;
    return c;
  }
  if (n == "portfolio") {
    sink_.error(Code::PortfolioOutsidePlan, source_, e.span, "`portfolio` is only defined inside a plan's `limit`")
        .help("in a rule, count the manager's accounts: count(accounts where owner_id = manager.id)");
    return error_node(e.span);
  }
  if (find_function(n)) {
    sink_.error(Code::UnknownName, source_, e.span, quote(n) + " is a function; call it with arguments")
        .help("write " + n + "(...)");
    return error_node(e.span);
  }
  // An unknown name: looks like an entity?
  auto candidates = names_in_scope();
  auto suggestion = diag::closest(n, candidates);
  bool entity_like = suggestion && schema_.entity(*suggestion);
  const model::EntityDef* row_entity =
      !scopes_.empty() && scopes_.back().bare_fields ? schema_.entity(scopes_.back().entity) : nullptr;
  bool field_like = row_entity && (!suggestion || row_entity->field(*suggestion));
  if (field_like) {
    auto& d = sink_.error(Code::UnknownField, source_, e.span, row_entity->name + " has no field " + quote(n));
    if (suggestion) d.help("did you mean " + quote(*suggestion) + "?");
    d.note("inside `where`, a bare name is a field of " + row_entity->name + " (or a let, parameter or variable)");
    return error_node(e.span);
  }
  auto& d = sink_.error(entity_like ? Code::UnknownEntity : Code::UnknownName, source_, e.span,
                        (entity_like ? "unknown entity " : "unknown name ") + quote(n));
  if (suggestion) d.help("did you mean " + quote(*suggestion) + "?");
  else if (!scopes_.empty() && scopes_.back().bare_fields) {
    d.note("inside `where`, a bare name is a field of " + scopes_.back().entity + ", a let, a parameter or a variable");
  }
  return error_node(e.span);
}

Checker::Compiled Checker::member(const ast::Expr& e) {
  Compiled object = expr(e.args[0]);
  const Type& t = object.node.type;
  if (t.is_error()) return error_node(e.span);
  const std::string& f = e.text;
  if (t.kind != Kind::Row) {
    std::string what = e.args[0].kind == ast::ExprKind::Name ? quote(e.args[0].text) + " is " : "this is ";
    auto& d = sink_.error(Code::TypeMismatch, source_, e.op_span,
                          "`." + f + "` needs one row; " + what + describe(t));
    if (t.kind == Kind::Set) d.help("to get the values of every row write `" + f + " of " + e.args[0].text + "`");
    return error_node(e.span);
  }
  const model::EntityDef* entity = schema_.entity(t.entity);
  if (!entity) return error_node(e.span);
  std::vector<Compiled> args;
  args.push_back(std::move(object));
  if (const model::FieldDef* field = entity->field(f)) {
    note_field_use(entity->name, field->name, e.op_span);
    Compiled c = make(Op::Field, field_type(*entity, *field), e.span, std::move(args));
    c.node.entity = entity->name;
    c.node.field = field->name;
    return c;
  }
  if (const model::FieldDef* link = entity->link(f)) {
    note_field_use(entity->name, link->name, e.op_span);
    note_field_use(link->ref_entity, "id", e.op_span);  // the target table must be loaded to follow the link
    if (!schema_.entity(link->ref_entity)) return error_node(e.span);
    Compiled c = make(Op::Navigate, Type::row(link->ref_entity), e.span, std::move(args));
    c.node.entity = entity->name;
    c.node.field = link->name;
    return c;
  }
  std::vector<std::string> candidates = entity->field_names();
  for (const auto& field : entity->fields) {
    if (field.type == model::FieldType::Ref) candidates.push_back(field.link_name());
  }
  auto& d = sink_.error(Code::UnknownField, source_, e.op_span, entity->name + " has no field " + quote(f));
  if (auto s = diag::closest(f, candidates)) d.help("did you mean " + quote(*s) + "?");
  d.note("fields come from model v1" + std::string(entity->declared ? "" : " and the data") +
         "; links follow `_id` fields (owner_id -> owner)");
  return error_node(e.span);
}

Checker::Compiled Checker::index(const ast::Expr& e) {
  const ast::Expr& target = e.args[0];
  int slot = target.kind == ast::ExprKind::Name ? pack_.param_slot(target.text) : -1;
  if (slot >= 0) param_used_[slot] = true;
  if (slot < 0 || !pack_.params[slot].is_keyed()) {
    Compiled probe = target.kind == ast::ExprKind::Name && slot < 0 ? name(target) : Compiled{};
    if (target.kind == ast::ExprKind::Name && slot < 0 && probe.node.type.is_error()) return error_node(e.span);
    sink_.error(Code::IndexNotKeyed, source_, target.span,
                "`[...]` looks up a parameter keyed by a field; " +
                    (target.kind == ast::ExprKind::Name ? quote(target.text) + " is not one" : std::string("this is not one")))
        .help("declare it as `param " + (target.kind == ast::ExprKind::Name ? target.text : std::string("name")) +
              " : number by accounts.tier = 1 { \"strategic\": 8 }`");
    return error_node(e.span);
  }
  param_used_[slot] = true;
  const ParamDecl& p = pack_.params[slot];
  Compiled key = expr(e.args[1]);
  if (key.node.type.is_error()) return error_node(e.span);
  const Node& k = key.node;
  bool right_field = k.op == Op::Field && k.field == p.by_field && k.entity == p.by_entity;
  bool textual = k.type.is_textual();
  if (!right_field) {
    if (k.op == Op::Field || !textual) {
      std::string got = k.op == Op::Field ? k.entity + "." + k.field : describe(k.type);
      sink_.error(Code::WrongParamKey, source_, e.args[1].span,
                  p.name + " is keyed by " + p.by_entity + "." + p.by_field + ", got " + got)
          .help("write " + p.name + "[" + key_hint(p) + "]");
      return error_node(e.span);
    }
    if (k.op == Op::Const && p.by_def) check_enum_literal(Type::enumeration(p.by_entity, p.by_def), k);
  }
  std::vector<Compiled> args;
  args.push_back(std::move(key));
  Compiled c = make(Op::ParamKeyed, p.type, e.span, std::move(args));
  c.node.slot = slot;
  return c;
}


void Checker::constrain_param_to_enum(const Node& node, const Type& other) {
  if ((node.op != Op::Param && node.op != Op::ParamKeyed) || other.kind != Kind::Enum || !other.enum_field) return;
  ParamDecl& p = pack_.params[node.slot];
  if (p.type.kind != Kind::Text || p.enum_field == other.enum_field) return;
  p.enum_field = other.enum_field;
  auto check = [&](const Value& v, const std::string& where) {
    if (v.missing || other.enum_field->enum_rank(v.text)) return;
    const auto& values = other.enum_field->enum_values;
    auto& d = sink_.error(Code::UnknownEnumValue, source_, p.span,
                          "parameter `" + p.name + "`" + where + " is \"" + v.text + "\", which is not a value of " +
                              other.entity + "." + other.enum_field->name);
    if (auto s = diag::closest(v.text, values)) d.help("did you mean \"" + *s + "\"? (values: " + join(values) + ")");
    else d.help("values: " + join(values));
  };
  check(p.default_value, "");
  for (const auto& [key, value] : p.keyed) check(value, " for \"" + key + "\"");
}

bool Checker::types_comparable(const Type& a, const Type& b) {
  if (a.is_error() || b.is_error()) return true;
  if (a.is_textual() && b.is_textual()) return true;
  if (a.is_timeish() && b.is_timeish()) return true;
  if (a.kind == Kind::Row && b.kind == Kind::Row) return a.entity == b.entity;
  return a.kind == b.kind && a.is_scalar();
}

void Checker::check_enum_literal(const Type& enum_type, const Node& literal) {
  if (enum_type.kind != Kind::Enum || !enum_type.enum_field) return;
  auto check_one = [&](const Value& v, Span span) {
    if (v.kind != Kind::Text || enum_type.enum_field->enum_rank(v.text)) return;
    const auto& values = enum_type.enum_field->enum_values;
    auto& d = sink_.error(Code::UnknownEnumValue, source_, span,
                          "\"" + v.text + "\" is not a value of " + enum_type.entity + "." + enum_type.enum_field->name);
    if (auto s = diag::closest(v.text, values)) d.help("did you mean \"" + *s + "\"? (values: " + join(values) + ")");
    else d.help("values: " + join(values));
  };
  if (literal.op != Op::Const) return;
  if (literal.constant.kind == Kind::List) {
    for (const auto& item : literal.constant.items) check_one(item, literal.span);
  } else {
    check_one(literal.constant, literal.span);
  }
}

Checker::Compiled Checker::filter(const ast::Expr& e, const std::string& implicit_alias) {
  Compiled base = expr(e.args[0]);
  const Type& t = base.node.type;
  if (t.is_error()) return error_node(e.span);
  if (t.kind != Kind::Set) {
    std::string what = e.args[0].kind == ast::ExprKind::Name ? quote(e.args[0].text) + " is " : "this is ";
    auto& d = sink_.error(Code::NotASet, source_, e.args[0].span,
                          "`where` filters a set of rows such as `accounts`; " + what + describe(t));
    if (t.kind == Kind::Row) d.help("to test one row, use `and`: `when ... and " + e.args[0].text + ".field = ...`");
    return error_node(e.span);
  }
  std::string alias = e.alias ? e.alias->name : implicit_alias;
  if (e.alias) {
    for (const auto& let : lets_) {
      if (let.name == alias) {
        sink_.error(Code::ShadowedName, source_, e.alias->span, "`as " + alias + "` hides the let of the same name")
            .label(source_, let.span, "let defined here");
      }
    }
    for (const auto& scope : scopes_) {
      if (!scope.var.empty() && scope.var == alias) {
        sink_.error(Code::ShadowedName, source_, e.alias->span, "`as " + alias + "` hides a variable of the same name")
            .help("choose another name");
      }
    }
  }
  int level = static_cast<int>(scopes_.size());
  if (level >= 30) {
    sink_.error(Code::NestingTooDeep, source_, e.span, "filters are nested too deeply");
    return error_node(e.span);
  }
  std::string entity = t.entity;
  Compiled result;
  result.node.op = Op::Filter;
  result.node.type = t;
  result.node.span = e.span;
  result.node.entity = entity;
  result.node.frame_level = level;
  LevelMask inner_bits = ~((1u << level) - 1);
  LevelMask mask = base.mask;
  result.node.args.push_back(std::move(base.node));
  if (e.args.size() > 1) {
    scopes_.push_back(Scope{alias, Type::row(entity), entity, true});
    Compiled cond = condition(e.args[1], "`where`");
    scopes_.pop_back();
    if (cond.node.type.is_error()) return error_node(e.span);
    mask |= cond.mask & ~inner_bits;
    // Find an equality join `inner_field = outer` among the conjuncts: the engine answers it
    // from an index instead of comparing every row with every row.
    std::vector<Node> terms;
    if (cond.node.op == Op::And) {
      for (auto& arg : cond.node.args) terms.push_back(std::move(arg));
    } else {
      terms.push_back(std::move(cond.node));
    }
    // Flatten nested ands.
    for (std::size_t i = 0; i < terms.size();) {
      if (terms[i].op == Op::And) {
        Node nested = std::move(terms[i]);
        terms.erase(terms.begin() + static_cast<long>(i));
        for (auto& arg : nested.args) terms.push_back(std::move(arg));
      } else {
        ++i;
      }
    }
    const model::EntityDef* def = schema_.entity(entity);
    int join_at = -1;
    int best_rank = 0;
    const bool indexable = result.node.args[0].op == Op::EntitySet;  // indexes exist for whole entities only
    for (std::size_t i = 0; indexable && i < terms.size(); ++i) {
      const Node& term = terms[i];
      if (term.op != Op::Compare || term.compare != CompareOp::Eq || term.compare_mode != CompareMode::Textual) continue;
      for (int side = 0; side < 2; ++side) {
        const Node& inner = term.args[side];
        const Node& outer = term.args[1 - side];
        bool inner_is_field = inner.op == Op::Field && inner.args[0].op == Op::Var && inner.args[0].level == level;
        if (!inner_is_field || outer.level >= level) continue;
        const model::FieldDef* field = def ? def->field(inner.field) : nullptr;
        bool by_row = field && field->type == model::FieldType::Ref && outer.op == Op::Field && outer.field == "id" &&
                      outer.entity == field->ref_entity;
        int rank = by_row ? 2 : 1;
        if (rank > best_rank) {
          best_rank = rank;
          join_at = static_cast<int>(i);
          result.node.join_field = inner.field;
          result.node.join_by_row = by_row;
          result.node.join_outer = std::make_shared<Node>(outer);
        }
      }
    }
    if (join_at >= 0) terms.erase(terms.begin() + join_at);
    if (!terms.empty()) {
      if (terms.size() == 1) {
        result.node.args.push_back(std::move(terms[0]));
      } else {
        Node conj;
        conj.op = Op::And;
        conj.type = Type::of(Kind::Bool);
        conj.span = e.args[1].span;
        for (auto& term : terms) {
          conj.level = std::max(conj.level, term.level);
          conj.args.push_back(std::move(term));
        }
        result.node.args.push_back(std::move(conj));
      }
    }
    if (join_at < 0 && result.node.args[0].op == Op::EntitySet && !values_subject_ && (cond.mask & (inner_bits & ~(1u << level))) == 0 &&
        (cond.mask & ~inner_bits & ~1u) != 0) {
      sink_.warning(Code::PairwiseCost, source_, e.args[1].span,
                    "this filter compares every row of " + entity + " with every subject (no `field = outer.id` key)")
          .help("add an equality such as `account_id = account.id` so the engine can use an index");
    }
  } else if (e.alias && !implicit_alias.empty()) {
    // `for each x in accounts as y` is odd but harmless.
  }
  result.mask = mask;
  result.node.level = top_level(mask);
  return result;
}

Checker::Compiled Checker::of(const ast::Expr& e) {
  const ast::Expr& set_expr = e.args[1];
  Compiled set = expr(set_expr);
  if (set.node.type.is_error()) return error_node(e.span);
  if (set.node.type.kind != Kind::Set) {
    sink_.error(Code::NotASet, source_, set_expr.span,
                "`of` takes the values of a field for every row of a set; this is " + describe(set.node.type))
        .help("write `field of entity where ...`, e.g. `role of contacts where account_id = account.id`");
    return error_node(e.span);
  }
  std::string alias = set_expr.kind == ast::ExprKind::Filter && set_expr.alias ? set_expr.alias->name : "";
  int level = static_cast<int>(scopes_.size());
  scopes_.push_back(Scope{alias, Type::row(set.node.type.entity), set.node.type.entity, true});
  Compiled value = expr(e.args[0]);
  scopes_.pop_back();
  if (value.node.type.is_error()) return error_node(e.span);
  if (!value.node.type.is_scalar()) {
    sink_.error(Code::TypeMismatch, source_, e.args[0].span,
                "`of` collects single values; " + describe(value.node.type) + " can't be collected")
        .help("name a field: `name of accounts`");
    return error_node(e.span);
  }
  LevelMask inner_bits = ~((1u << level) - 1);
  Compiled c;
  c.node.op = Op::Of;
  c.node.type = Type::list(value.node.type);
  c.node.span = e.span;
  c.node.entity = set.node.type.entity;
  c.node.frame_level = level;
  c.mask = set.mask | (value.mask & ~inner_bits);
  c.node.level = top_level(c.mask);
  c.node.args.push_back(std::move(set.node));
  c.node.args.push_back(std::move(value.node));
  return c;
}

Checker::Compiled Checker::binary(const ast::Expr& e) {
  const std::string& op = e.text;
  if (op == "and" || op == "or") {
    std::vector<Compiled> args;
    args.push_back(condition(e.args[0], "`" + op + "`"));
    args.push_back(condition(e.args[1], "`" + op + "`"));
    bool error = args[0].node.type.is_error() || args[1].node.type.is_error();
    return make(op == "and" ? Op::And : Op::Or, error ? Type::error() : Type::of(Kind::Bool), e.span, std::move(args));
  }
  std::vector<Compiled> args;
  args.push_back(expr(e.args[0]));
  args.push_back(expr(e.args[1]));
  const Type a = args[0].node.type;
  const Type b = args[1].node.type;
  if (a.is_error() || b.is_error()) return error_node(e.span);
  if (op == "except") {
    if (a.kind != Kind::List || b.kind != Kind::List) {
      sink_.error(Code::TypeMismatch, source_, e.op_span,
                  "`except` removes the items of one list from another; got " + describe(a) + " and " + describe(b));
      return error_node(e.span);
    }
    if (a.element->kind == Kind::Enum && args[1].node.op == Op::Const) check_enum_literal(*a.element, args[1].node);
    if (b.element->kind == Kind::Enum && args[0].node.op == Op::Const) check_enum_literal(*b.element, args[0].node);
    Type result = a.element->kind == Kind::Enum ? a : b.element->kind == Kind::Enum ? b : a;
    return make(Op::Except, result, e.span, std::move(args));
  }
  auto fail = [&](std::string hint) {
    auto& d = sink_.error(Code::TypeMismatch, source_, e.op_span,
                          "cannot apply `" + op + "` to " + describe(a) + " and " + describe(b));
    if (!hint.empty()) d.help(std::move(hint));
    return error_node(e.span);
  };
  Type result = Type::error();
  Op code = Op::Add;
  if (op == "+" || op == "-") {
    code = op == "+" ? Op::Add : Op::Sub;
    if (is_number_kind(a) && is_number_kind(b)) result = Type::of(Kind::Number, combine_units(a.unit, b.unit));
    else if (a.kind == Kind::Duration && b.kind == Kind::Duration) result = Type::of(Kind::Duration);
    else if (a.is_timeish() && b.kind == Kind::Duration) result = Type::of(Kind::Timestamp);
    else if (op == "+" && a.kind == Kind::Duration && b.is_timeish()) result = Type::of(Kind::Timestamp);
    else if (op == "-" && a.is_timeish() && b.is_timeish()) result = Type::of(Kind::Duration);
    else if (a.is_timeish() && is_number_kind(b)) return fail("add a duration such as 30d, or days(n)");
    else return fail("");
  } else if (op == "*") {
    code = Op::Mul;
    if (is_number_kind(a) && is_number_kind(b)) {
      Unit unit = a.unit == Unit::Percent || b.unit == Unit::Percent ? Unit::None : combine_units(a.unit, b.unit);
      result = Type::of(Kind::Number, unit);
    } else if ((a.kind == Kind::Duration && is_number_kind(b)) || (is_number_kind(a) && b.kind == Kind::Duration)) {
      result = Type::of(Kind::Duration);
    } else {
      return fail(a.kind == Kind::Duration || b.kind == Kind::Duration ? "convert with hours(d), days(d) or weeks(d) first" : "");
    }
  } else if (op == "/") {
    code = Op::Div;
    if (is_number_kind(a) && is_number_kind(b)) result = Type::of(Kind::Number);
    else if (a.kind == Kind::Duration && is_number_kind(b)) result = Type::of(Kind::Duration);
    else if (a.kind == Kind::Duration && b.kind == Kind::Duration) result = Type::of(Kind::Number);
    else return fail("");
    const Node& divisor = args[1].node;
    if (divisor.op == Op::Const && divisor.constant.number == 0) {
      sink_.error(Code::DivisionByZero, source_, e.args[1].span, "division by zero")
          .help("a rule can never divide by a constant 0; a zero at run time gives a missing value");
      return error_node(e.span);
    }
  } else {
    return fail("");
  }
  return make(code, result, e.span, std::move(args));
}

Checker::Compiled Checker::compare(const ast::Expr& e) {
  std::vector<Compiled> args;
  args.push_back(expr(e.args[0]));
  args.push_back(expr(e.args[1]));
  const Type a = args[0].node.type;
  const Type b = args[1].node.type;
  if (a.is_error() || b.is_error()) return error_node(e.span);
  const std::string& op = e.text;
  CompareOp cmp = op == "=" ? CompareOp::Eq : op == "!=" ? CompareOp::Ne : op == "<" ? CompareOp::Lt
                : op == "<=" ? CompareOp::Le : op == ">" ? CompareOp::Gt : CompareOp::Ge;
  bool ordering = cmp != CompareOp::Eq && cmp != CompareOp::Ne;
  CompareMode mode = CompareMode::Numeric;
  auto mismatch = [&]() -> diag::Diagnostic& {
    return sink_.error(Code::TypeMismatch, source_, e.op_span,
                       "cannot compare " + describe(a) + " with " + describe(b));
  };
  if (a.kind == Kind::Set || b.kind == Kind::Set || a.kind == Kind::List || b.kind == Kind::List) {
    auto& d = mismatch();
    if (a.kind == Kind::Set || b.kind == Kind::Set) d.help("compare count(...) of the set, or test exists(...)");
    else d.help("test membership with `in`, `has`, `has any` or `has all`");
    return error_node(e.span);
  }
  if (a.is_textual() && b.is_textual()) {
    mode = CompareMode::Textual;
    const Type& enum_side = a.kind == Kind::Enum ? a : b;
    if (a.kind == Kind::Enum) check_enum_literal(a, args[1].node);
    if (b.kind == Kind::Enum) check_enum_literal(b, args[0].node);
    if (ordering) {
      if (enum_side.kind != Kind::Enum) {
        mismatch().help("text has no order; compare it with `=` or `!=`");
        return error_node(e.span);
      }
      if (!enum_side.enum_field->ordered) {
        std::string values = join(enum_side.enum_field->enum_values);
        sink_.error(Code::UnorderedEnum, source_, e.op_span,
                    enum_side.entity + "." + enum_side.enum_field->name + " has no order; use `in [...]`")
            .help("values: " + values);
        return error_node(e.span);
      }
      mode = CompareMode::EnumRank;
    }
  } else if (a.kind == Kind::Row && b.kind == Kind::Row && a.entity == b.entity && !ordering) {
    mode = CompareMode::Numeric;
  } else if (is_number_kind(a) && is_number_kind(b)) {
  } else if (a.kind == Kind::Duration && b.kind == Kind::Duration) {
  } else if (a.is_timeish() && b.is_timeish()) {
  } else if (a.kind == Kind::Bool && b.kind == Kind::Bool && !ordering) {
  } else {
    auto& d = mismatch();
    const Type& number_side = is_number_kind(a) ? a : b;
    const ast::Expr& number_expr = is_number_kind(a) ? e.args[0] : e.args[1];
    if ((a.kind == Kind::Duration || b.kind == Kind::Duration) && is_number_kind(number_side)) {
      if (number_expr.kind == ast::ExprKind::Member && number_expr.text.ends_with("_hours")) {
        std::string shown(source_->text().substr(number_expr.span.begin, number_expr.span.end - number_expr.span.begin));
        d.help(number_expr.text + " is a number of hours; write hours(" + shown + ")");
      } else if (number_expr.kind == ast::ExprKind::Number) {
        char written[32];
        std::snprintf(written, sizeof written, "%g", number_expr.number);
        d.help("did you mean " + std::string(written) + "d?");
      } else {
        d.help("convert the number with hours(...), days(...) or weeks(...)");
      }
    } else if (a.is_textual() || b.is_textual()) {
      d.help("put text in quotes, or compare values of the same kind");
    }
    return error_node(e.span);
  }
  if (mode != CompareMode::Numeric) constrain_param_to_enum(args[0].node, b), constrain_param_to_enum(args[1].node, a);
  Compiled c = make(Op::Compare, Type::of(Kind::Bool), e.span, std::move(args));
  c.node.compare = cmp;
  c.node.compare_mode = mode;
  if (a.kind == Kind::Row) c.node.compare_mode = CompareMode::Numeric;
  if (mode == CompareMode::EnumRank) c.node.entity = (a.kind == Kind::Enum ? a : b).entity;
  if (mode == CompareMode::EnumRank) c.node.field = (a.kind == Kind::Enum ? a : b).enum_field->name;
  return c;
}

Checker::Compiled Checker::membership(const ast::Expr& e) {
  using ast::ExprKind;
  std::vector<Compiled> args;
  args.push_back(expr(e.args[0]));
  args.push_back(expr(e.args[1]));
  const Type a = args[0].node.type;
  const Type b = args[1].node.type;
  if (a.is_error() || b.is_error()) return error_node(e.span);
  Op op = Op::In;
  std::string keyword;
  switch (e.kind) {
    case ExprKind::In: op = Op::In; keyword = "in"; break;
    case ExprKind::NotIn: op = Op::NotIn; keyword = "not in"; break;
    case ExprKind::Has: op = Op::Has; keyword = "has"; break;
    case ExprKind::HasAny: op = Op::HasAny; keyword = "has any"; break;
    default: op = Op::HasAll; keyword = "has all"; break;
  }
  const Type* scalar = nullptr;
  const Type* list = nullptr;
  const Node* scalar_node = nullptr;
  const Node* list_node = nullptr;
  if (op == Op::In || op == Op::NotIn) {
    scalar = &a, list = &b, scalar_node = &args[0].node, list_node = &args[1].node;
    if (b.kind != Kind::List || !a.is_scalar()) {
      auto& d = sink_.error(Code::TypeMismatch, source_, e.op_span,
                            "`" + keyword + "` tests a value against a list; got " + describe(a) + " and " + describe(b));
      if (a.kind == Kind::List) d.help("to compare two lists use `has any` or `has all`");
      return error_node(e.span);
    }
  } else if (op == Op::Has) {
    scalar = &b, list = &a, scalar_node = &args[1].node, list_node = &args[0].node;
    if (a.kind != Kind::List || !b.is_scalar()) {
      auto& d = sink_.error(Code::TypeMismatch, source_, e.op_span,
                            "`has` tests whether a list holds a value; got " + describe(a) + " and " + describe(b));
      if (b.kind == Kind::List) d.help("write `has any` or `has all` to test against a list");
      return error_node(e.span);
    }
  } else {
    if (a.kind != Kind::List || b.kind != Kind::List) {
      auto& d = sink_.error(Code::TypeMismatch, source_, e.op_span,
                            "`" + keyword + "` compares two lists; got " + describe(a) + " and " + describe(b));
      if (b.is_scalar()) d.help("to test one value write `has`");
      return error_node(e.span);
    }
    if (!types_comparable(*a.element, *b.element)) {
      sink_.error(Code::TypeMismatch, source_, e.op_span,
                  "cannot compare " + describe(*a.element) + " items with " + describe(*b.element) + " items");
      return error_node(e.span);
    }
    if (a.element->kind == Kind::Enum) check_enum_literal(*a.element, args[1].node);
    if (b.element->kind == Kind::Enum) check_enum_literal(*b.element, args[0].node);
    return make(op, Type::of(Kind::Bool), e.span, std::move(args));
  }
  if (!types_comparable(*scalar, *list->element)) {
    sink_.error(Code::TypeMismatch, source_, e.op_span,
                "cannot look for " + describe(*scalar) + " in a " + describe(*list));
    return error_node(e.span);
  }
  if (scalar->kind == Kind::Enum) check_enum_literal(*scalar, *list_node);
  if (list->element->kind == Kind::Enum) check_enum_literal(*list->element, *scalar_node);
  return make(op, Type::of(Kind::Bool), e.span, std::move(args));
}

Checker::Compiled Checker::call(const ast::Expr& e) {
  const FunctionInfo* info = find_function(e.text);
  if (!info) {
    auto& d = sink_.error(Code::UnknownFunction, source_, e.op_span, "unknown function " + quote(e.text));
    if (auto s = diag::closest(e.text, function_names())) d.help("did you mean " + quote(*s) + "?");
    else d.note("functions: " + join(function_names()));
    return error_node(e.span);
  }
  if (e.args.size() < info->min_args || e.args.size() > info->max_args) {
    sink_.error(Code::ArgumentCount, source_, e.span,
                quote(e.text) + " takes " +
                    (info->min_args == info->max_args ? std::to_string(info->min_args)
                                                      : std::to_string(info->min_args) + " to " + std::to_string(info->max_args)) +
                    " argument(s), got " + std::to_string(e.args.size()))
        .help("usage: " + std::string(info->usage));
    return error_node(e.span);
  }
  std::vector<Compiled> args;
  for (const auto& a : e.args) {
    args.push_back(expr(a));
    if (args.back().node.type.is_error()) return error_node(e.span);
  }
  return aggregate(e, *info, args);
}

Checker::Compiled Checker::aggregate(const ast::Expr& e, const FunctionInfo& info, std::vector<Compiled>& args) {
  const Type a = args[0].node.type;
  auto fail = [&](std::string message, std::string hint) {
    auto& d = sink_.error(Code::ArgumentCount, source_, e.args[0].span, std::move(message));
    if (!hint.empty()) d.help(std::move(hint));
    return error_node(e.span);
  };
  std::string arg_text(source_->text().substr(e.args[0].span.begin, e.args[0].span.end - e.args[0].span.begin));
  if (arg_text.size() > 40) arg_text = arg_text.substr(0, 40) + "...";
  auto finish = [&](Type type) {
    Compiled c = make(Op::Call, std::move(type), e.span, std::move(args));
    c.node.function = info.function;
    return c;
  };
  switch (info.function) {
    case Function::Count:
      if (a.kind == Kind::Set || a.kind == Kind::List) return finish(Type::of(Kind::Number, Unit::Count));
      if (a.kind == Kind::Row) {
        return fail("count() needs a set such as `accounts where ...`; `" + arg_text + "` is one " +
                        model::singular_of(a.entity),
                    "");
      }
      return fail("count() needs a set or a list; `" + arg_text + "` is " + describe(a), "");
    case Function::Exists:
      if (a.kind == Kind::Set || a.kind == Kind::List) return finish(Type::of(Kind::Bool));
      return fail("exists() needs a set such as `cases where ...`; this is " + describe(a),
                  a.kind == Kind::Row ? "to test a value write `is not missing`" : "");
    case Function::Sum:
    case Function::Avg:
    case Function::Stddev:
    case Function::Spread:
    case Function::Min:
    case Function::Max: {
      bool minmax = info.function == Function::Min || info.function == Function::Max;
      if (minmax && args.size() > 1) {
        for (std::size_t i = 0; i < args.size(); ++i) {
          if (!args[i].node.type.is_scalar() || !types_comparable(args[0].node.type, args[i].node.type) ||
              args[i].node.type.is_textual()) {
            return fail(quote(info.name) + " of several values needs numbers, durations or dates of one kind", "");
          }
        }
        return finish(a);
      }
      if (a.kind == Kind::Set) {
        return fail(std::string(info.name) + "() needs values, not rows; `" + arg_text + "` is " + describe(a),
                    "name the field: " + std::string(info.name) + "(<field> of " + arg_text + ")");
      }
      if (a.kind != Kind::List) return fail(std::string(info.name) + "() needs a list of values; this is " + describe(a), "");
      const Type& element = *a.element;
      bool numeric = element.kind == Kind::Number || element.kind == Kind::Duration;
      bool timeish = element.is_timeish();
      if (numeric || (minmax && timeish)) {
        if (info.function == Function::Stddev || info.function == Function::Spread || info.function == Function::Avg ||
            info.function == Function::Sum || minmax) {
          Type result = element;
          if (info.function == Function::Avg || info.function == Function::Stddev) result.unit = element.unit == Unit::Percent ? Unit::Percent : Unit::None;
          return finish(result);
        }
      }
      if (timeish && info.function == Function::Spread) return finish(Type::of(Kind::Duration));
      return fail(std::string(info.name) + "() needs numbers; the values are " + describe(element), "");
    }
    case Function::Distinct:
      if (a.kind == Kind::List) return finish(a);
      if (a.kind == Kind::Set) return fail("distinct() needs values; `" + arg_text + "` is " + describe(a),
                                            "write distinct(<field> of " + arg_text + ")");
      return fail("distinct() needs a list of values; this is " + describe(a), "");
    case Function::PercentileRank:
    case Function::Rank: {
      const Type b = args[1].node.type;
      if (b.kind != Kind::List || !b.element || !(b.element->kind == Kind::Number || b.element->kind == Kind::Duration || b.element->is_timeish()) ||
          !types_comparable(a, *b.element)) {
        return fail(std::string(info.name) + "() compares a value with a list of values of the same kind, e.g. " +
                        std::string(info.usage),
                    "");
      }
      return finish(info.function == Function::Rank ? Type::of(Kind::Number, Unit::Count)
                                                    : Type::of(Kind::Number, Unit::Percent));
    }
    case Function::Abs:
      if (a.kind == Kind::Number || a.kind == Kind::Duration) return finish(a);
      return fail("abs() needs a number or a duration; this is " + describe(a), "");
    case Function::Round:
      if (a.kind != Kind::Number) return fail("round() needs a number; this is " + describe(a),
                                              a.kind == Kind::Duration ? "convert first: round(days(d))" : "");
      if (args.size() > 1 && args[1].node.type.kind != Kind::Number) return fail("round()'s second argument is a number of digits", "");
      return finish(Type::of(Kind::Number, args.size() > 1 ? a.unit : (a.unit == Unit::Percent ? Unit::Percent : Unit::Count)));
    case Function::IfMissing: {
      const Type b = args[1].node.type;
      if (!types_comparable(a, b) || !(a.is_scalar() || a.kind == Kind::List)) {
        return fail("if_missing() needs a default of the same kind: " + describe(a) + " and " + describe(b), "");
      }
      return finish(a.kind == Kind::Enum ? a : b.kind == Kind::Enum ? b : a);
    }
    case Function::Hours:
    case Function::Days:
    case Function::Weeks:
      if (a.kind == Kind::Number) return finish(Type::of(Kind::Duration));
      if (a.kind == Kind::Duration) return finish(Type::of(Kind::Number));
      return fail(std::string(info.name) + "() converts a number to a duration or a duration to a number; this is " + describe(a), "");
    case Function::Percent:
      if (a.kind == Kind::Number) return finish(Type::of(Kind::Number, Unit::Percent));
      return fail("percent() needs a number (a fraction such as a rate); this is " + describe(a), "");
    case Function::Lower:
    case Function::Upper:
      if (a.is_textual()) return finish(Type::of(Kind::Text));
      return fail(std::string(info.name) + "() needs text; this is " + describe(a), "");
    case Function::Length:
      if (a.is_textual()) return finish(Type::of(Kind::Number, Unit::Count));
      return fail("length() needs text; for lists and sets use count()", "");
    case Function::Date:
      if (a.is_timeish()) return finish(Type::of(Kind::Date));
      return fail("date() needs a timestamp; this is " + describe(a), "");
  }
  return error_node(e.span);
}

}  // namespace

CompiledPack compile(const ast::File& file, const model::Schema& schema, diag::DiagnosticSink& sink) {
  Checker checker(file, schema, sink);
  return checker.run();
}

}  // namespace rapport::dsl
