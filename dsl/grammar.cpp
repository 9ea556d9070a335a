// The rule language's grammar in Spirit X3: one rule per precedence level and one per clause,
// expectation points with readable names, and hand-written token parsers (dsl/lexer.hpp) where a
// lexeme needs a precise diagnostic (numbers, durations, dates, strings, templates).
//
// Conventions:
// - Every parser pre-skips whitespace and comments itself; the skipper is the same everywhere.
// - `must("what", p)` is an expectation point: when `p` fails it throws
//   x3::expectation_failure with "what", which the driver reports as "expected what, found ...".
// - The precedence levels have no semantic actions: X3 passes one Expr down through them, and
//   operator tails fold into it (`fold_into`, via X3's rcontext), so nothing is copied per level.
//   Clause and item rules fill their node through semantic actions on `_val`. Spans come from
//   tokens either way.
// - Error recovery is the driver's job (dsl/parser.cpp): an expectation failure ends the item,
//   the driver reports it and resumes at the next line starting with `rule`, `plan` or `param`.
// - Recursion (brackets, calls, `not`, unary minus, `list of ...`) passes a depth guard, and
//   operator chains count their folds, so hostile input ends in DSL1011 rather than a crash.

#include "dsl/grammar.hpp"

#include <algorithm>
#include <memory>
#include <type_traits>
#include <utility>

#include <boost/spirit/home/x3.hpp>

namespace rapport::dsl::detail {

namespace {

namespace x3 = boost::spirit::x3;
using diag::Code;
using diag::Span;
using ast::Expr;
using ast::ExprKind;
using x3::_attr;
using x3::_val;

struct state_tag;

template <class Context>
ParseState& state_of(Context const& context) {
  return x3::get<state_tag>(context);
}

/// Thrown when nesting or a chain passes its limit; the driver turns it into DSL1011.
struct NestingError {
  const char* where;
  bool chain;
};

/// Keeps `state.depth` balanced across the recursion it guards, exceptions included.
class DepthGuard {
 public:
  DepthGuard(ParseState& state, const char* where, bool active) : state_(state), active_(active) {
    if (!active_) return;
    if (state_.depth >= kMaxNesting) throw NestingError{where, false};
    ++state_.depth;
  }
  ~DepthGuard() {
    if (active_) --state_.depth;
  }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;

 private:
  ParseState& state_;
  bool active_;
};

void count_fold(ParseState& state, const char* where) {
  if (++state.folds > kMaxChain) throw NestingError{where, true};
}

/// A token: its place and its text (the operator or keyword as written, normalised).
struct Tok {
  Span span;
  std::string text;
};

// ---- skipper -----------------------------------------------------------------------------------

struct skipper_parser : x3::parser<skipper_parser> {
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;

  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const&, RContext&, Attribute&) const {
    const char* p = skip_space(first, last);
    bool moved = p != first;
    first = p;
    return moved;
  }
};
skipper_parser const skipper{};

// ---- token parsers -----------------------------------------------------------------------------

/// Base of the hand-written token parsers: pre-skips, then calls Derived::scan (a plain function).
template <class Derived, class Attr>
struct token_parser : x3::parser<Derived> {
  using attribute_type = Attr;
  static bool const has_attribute = !std::is_same_v<Attr, x3::unused_type>;

  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute& attr) const {
    x3::skip_over(first, last, context);
    const char* p = first;
    Attr value{};
    if (!static_cast<Derived const&>(*this).scan(state_of(context), p, last, value)) return false;
    first = p;
    if constexpr (has_attribute) x3::traits::move_to(value, attr);
    return true;
  }
};

/// A keyword matched as a whole word, without attribute.
struct kw_parser : token_parser<kw_parser, x3::unused_type> {
  std::string_view word;
  constexpr explicit kw_parser(std::string_view w) : word(w) {}
  bool scan(ParseState&, const char*& p, const char* last, x3::unused_type&) const {
    if (!keyword_at(p, last, word)) return false;
    p += word.size();
    return true;
  }
};

/// A keyword with its place.
struct kwt_parser : token_parser<kwt_parser, Tok> {
  std::string_view word;
  constexpr explicit kwt_parser(std::string_view w) : word(w) {}
  bool scan(ParseState& st, const char*& p, const char* last, Tok& out) const {
    if (!keyword_at(p, last, word)) return false;
    out = {st.span(p, p + word.size()), std::string(word)};
    p += word.size();
    return true;
  }
};

/// One punctuation character with its place.
struct punct_parser : token_parser<punct_parser, Tok> {
  char c;
  constexpr explicit punct_parser(char ch) : c(ch) {}
  bool scan(ParseState& st, const char*& p, const char* last, Tok& out) const {
    if (p >= last || *p != c) return false;
    out = {st.span(p, p + 1), std::string(1, c)};
    ++p;
    return true;
  }
};

constexpr kw_parser kw(std::string_view word) { return kw_parser(word); }
constexpr kwt_parser kwt(std::string_view word) { return kwt_parser(word); }
constexpr punct_parser punct(char c) { return punct_parser(c); }

/// `+`, `-` or `except`.
struct add_op_parser : token_parser<add_op_parser, Tok> {
  bool scan(ParseState& st, const char*& p, const char* last, Tok& out) const {
    if (p < last && (*p == '+' || *p == '-')) {
      out = {st.span(p, p + 1), std::string(1, *p)};
      ++p;
      return true;
    }
    if (keyword_at(p, last, "except")) {
      out = {st.span(p, p + 6), "except"};
      p += 6;
      return true;
    }
    return false;
  }
};

/// `*` or `/`.
struct mul_op_parser : token_parser<mul_op_parser, Tok> {
  bool scan(ParseState& st, const char*& p, const char* last, Tok& out) const {
    if (p < last && (*p == '*' || *p == '/')) {
      out = {st.span(p, p + 1), std::string(1, *p)};
      ++p;
      return true;
    }
    return false;
  }
};

/// A name that is not a reserved word (reserved words fail, so the expectation reports them).
struct strict_name_parser : token_parser<strict_name_parser, ast::Identifier> {
  bool scan(ParseState& st, const char*& p, const char* last, ast::Identifier& out) const {
    const char* q = p;
    NameToken name;
    if (!lex_name(st, q, last, name) || name.reserved) return false;
    out = std::move(name.id);
    p = q;
    return true;
  }
};

/// A name being declared (rule id, `let` name, loop variable...). A reserved word is reported
/// (DSL1009) and accepted, so one mistake gives one error; `stop` is a reserved word that is
/// more likely the next keyword than a name (`for each in ...`).
struct decl_name_parser : token_parser<decl_name_parser, ast::Identifier> {
  std::string_view stop;
  constexpr explicit decl_name_parser(std::string_view s = {}) : stop(s) {}
  bool scan(ParseState& st, const char*& p, const char* last, ast::Identifier& out) const {
    const char* q = p;
    NameToken name;
    if (!lex_name(st, q, last, name)) return false;
    if (name.reserved) {
      // The next keyword is likelier than a badly chosen name: report the missing name instead.
      const std::string& word = name.id.name;
      if (word == stop || word == "rule" || word == "plan" || word == "param" || word == "pack") return false;
      st.error(Code::ReservedWord, name.id.span, "`" + name.id.name + "` is a reserved word and can't be used as a name")
          .help("pick another name, or put backquotes around it to use it anyway: `" + name.id.name + "`");
    }
    out = std::move(name.id);
    p = q;
    return true;
  }
};

/// A field after `.`: any word, reserved words included (`x.end`, `activity.type`).
struct field_parser : token_parser<field_parser, ast::Identifier> {
  bool scan(ParseState& st, const char*& p, const char* last, ast::Identifier& out) const {
    NameToken name;
    if (!lex_name(st, p, last, name)) return false;
    out = std::move(name.id);
    return true;
  }
};

/// Numbers, percents, durations, dates and timestamps.
struct scalar_parser : token_parser<scalar_parser, Expr> {
  bool scan(ParseState& st, const char*& p, const char* last, Expr& out) const {
    if (p >= last || !is_digit(*p)) return false;
    out = lex_scalar(st, p, last);
    return true;
  }
};

/// A quoted string as an expression.
struct string_expr_parser : token_parser<string_expr_parser, Expr> {
  bool scan(ParseState& st, const char*& p, const char* last, Expr& out) const {
    if (p >= last || (*p != '"' && *p != '\'')) return false;
    StringToken token = lex_string(st, p, last);
    out.kind = ExprKind::String;
    out.span = token.span;
    out.op_span = token.span;
    out.text = std::move(token.value);
    return true;
  }
};

/// A quoted string in an attribute (title, rationale, version, doc).
struct string_lit_parser : token_parser<string_lit_parser, ast::StringLiteral> {
  bool scan(ParseState& st, const char*& p, const char* last, ast::StringLiteral& out) const {
    if (p >= last || (*p != '"' && *p != '\'')) return false;
    StringToken token = lex_string(st, p, last);
    out.span = token.span;
    out.value = std::move(token.value);
    return true;
  }
};

Expr word_literal(ExprKind kind, Span span, std::string text, double number) {
  Expr e;
  e.kind = kind;
  e.span = span;
  e.op_span = span;
  e.text = std::move(text);
  e.number = number;
  return e;
}

/// `true`, `false`, `now`, `today`.
struct word_literal_parser : token_parser<word_literal_parser, Expr> {
  bool booleans_only = false;
  constexpr explicit word_literal_parser(bool only_booleans) : booleans_only(only_booleans) {}
  bool scan(ParseState& st, const char*& p, const char* last, Expr& out) const {
    static constexpr std::pair<std::string_view, ExprKind> kWords[] = {
        {"true", ExprKind::Bool}, {"false", ExprKind::Bool}, {"now", ExprKind::Now}, {"today", ExprKind::Today}};
    for (const auto& [word, kind] : kWords) {
      if (booleans_only && kind != ExprKind::Bool) continue;
      if (keyword_at(p, last, word)) {
        out = word_literal(kind, st.span(p, p + word.size()), std::string(word), word == "true" ? 1 : 0);
        p += word.size();
        return true;
      }
    }
    return false;
  }
};

std::optional<Expr> parse_interpolation(ParseState& state, const char* begin, const char* stop);

/// A message or remedy: the string is split into text and `{expr}` slices, and each slice is
/// parsed with the expression grammar in place (so spans and errors point inside the string).
struct template_parser : token_parser<template_parser, ast::Template> {
  bool scan(ParseState& st, const char*& p, const char* last, ast::Template& out) const {
    if (p >= last || (*p != '"' && *p != '\'')) return false;
    RawTemplate raw = lex_template(st, p, last);
    out.span = raw.span;
    for (auto& piece : raw.pieces) {
      if (!piece.is_expr) {
        ast::TemplatePiece text;
        text.text = std::move(piece.text);
        out.pieces.push_back(std::move(text));
        continue;
      }
      if (piece.broken) continue;
      auto value = parse_interpolation(st, piece.begin, piece.stop);
      if (!value) continue;
      ast::TemplatePiece slot;
      slot.is_expr = true;
      slot.expr = std::move(*value);
      out.pieces.push_back(std::move(slot));
    }
    return true;
  }
};

constexpr strict_name_parser name_strict{};
constexpr decl_name_parser decl_name{};
constexpr field_parser field{};
constexpr scalar_parser scalar{};
constexpr string_expr_parser string_expr{};
constexpr string_lit_parser string_lit{};
constexpr word_literal_parser word_literal_p{false};
constexpr word_literal_parser bool_literal{true};
constexpr template_parser template_text{};
constexpr add_op_parser add_op{};
constexpr mul_op_parser mul_op{};

// ---- directives --------------------------------------------------------------------------------

/// An expectation point with a readable name.
template <class Subject>
struct must_directive : x3::unary_parser<Subject, must_directive<Subject>> {
  using base_type = x3::unary_parser<Subject, must_directive<Subject>>;
  static bool const is_pass_through_unary = true;
  const char* what;
  constexpr must_directive(Subject const& subject, const char* name) : base_type(subject), what(name) {}

  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext& rcontext,
             Attribute& attr) const {
    Iterator start = first;
    if (this->subject.parse(first, last, context, rcontext, attr)) return true;
    throw x3::expectation_failure<Iterator>(start, what);
  }
};

template <class Subject>
constexpr auto must(const char* what, Subject const& subject) {
  return must_directive<typename x3::extension::as_parser<Subject>::value_type>(x3::as_parser(subject), what);
}

/// Counts one level of recursion around its subject.
template <class Subject>
struct guard_directive : x3::unary_parser<Subject, guard_directive<Subject>> {
  using base_type = x3::unary_parser<Subject, guard_directive<Subject>>;
  static bool const is_pass_through_unary = true;
  constexpr explicit guard_directive(Subject const& subject) : base_type(subject) {}

  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext& rcontext,
             Attribute& attr) const {
    DepthGuard guard(state_of(context), skip_space(first, last), true);
    return this->subject.parse(first, last, context, rcontext, attr);
  }
};

struct guard_gen {
  template <class Subject>
  constexpr auto operator[](Subject const& subject) const {
    return guard_directive<typename x3::extension::as_parser<Subject>::value_type>(x3::as_parser(subject));
  }
};
constexpr guard_gen guarded{};

/// Scopes the fold count of one operator chain: folds inside count while it is open.
template <class Subject>
struct chain_directive : x3::unary_parser<Subject, chain_directive<Subject>> {
  using base_type = x3::unary_parser<Subject, chain_directive<Subject>>;
  static bool const is_pass_through_unary = true;
  constexpr explicit chain_directive(Subject const& subject) : base_type(subject) {}

  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext& rcontext,
             Attribute& attr) const {
    ParseState& st = state_of(context);
    struct Restore {
      ParseState& state;
      int saved;
      ~Restore() { state.folds = saved; }
    } restore{st, st.folds};
    return this->subject.parse(first, last, context, rcontext, attr);
  }
};

struct chain_gen {
  template <class Subject>
  constexpr auto operator[](Subject const& subject) const {
    return chain_directive<typename x3::extension::as_parser<Subject>::value_type>(x3::as_parser(subject));
  }
};
constexpr chain_gen chain{};

// ---- the recursive rules -----------------------------------------------------------------------

x3::rule<class expr_class, Expr> const expr = "expression";
x3::rule<class filter_class, Expr> const filter = "expression";
x3::rule<class disj_class, Expr> const disj = "condition";
x3::rule<class conj_class, Expr> const conj = "condition";
x3::rule<class neg_class, Expr> const neg = "condition";
x3::rule<class cmp_class, Expr> const cmp = "expression";
x3::rule<class add_class, Expr> const add = "expression";
x3::rule<class mul_class, Expr> const mul = "expression";
x3::rule<class unary_class, Expr> const unary = "expression";
x3::rule<class postfix_class, Expr> const postfix = "expression";
x3::rule<class primary_class, Expr> const primary = "expression";
x3::rule<class type_ref_class, ast::TypeRef> const type_ref = "type";

// ---- operator tails ----------------------------------------------------------------------------

enum class TailMode { Plain, Fold, Recurse };

template <class T>
struct Tail {
  Tok op;
  T value;
};

/// An operator followed by its right operand. Once the operator matched, the operand is expected:
/// "expected <noun> after `<op>`".
template <class Op, class Operand, class T>
struct tail_parser : x3::parser<tail_parser<Op, Operand, T>> {
  using attribute_type = Tail<T>;
  static bool const has_attribute = true;
  Op op;
  Operand operand;
  const char* noun;
  TailMode mode;
  constexpr tail_parser(Op o, Operand r, const char* n, TailMode m) : op(o), operand(r), noun(n), mode(m) {}

  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute& attr) const {
    Iterator p = first;
    Tail<T> out;
    if (!op.parse(p, last, context, x3::unused, out.op)) return false;
    ParseState& st = state_of(context);
    {
      DepthGuard guard(st, skip_space(p, last), mode == TailMode::Recurse);
      Iterator before = p;
      if (!operand.parse(p, last, context, x3::unused, out.value)) {
        throw x3::expectation_failure<Iterator>(before, std::string(noun) + " after `" + out.op.text + "`");
      }
    }
    if (mode == TailMode::Fold) count_fold(st, st.base + out.op.span.begin);
    first = p;
    x3::traits::move_to(out, attr);
    return true;
  }
};

template <class T, class Op, class Operand>
constexpr auto tail(Op const& op, Operand const& operand, const char* noun, TailMode mode) {
  return tail_parser<Op, Operand, T>(op, operand, noun, mode);
}

/// Parses `subject` (a tail) and folds it into the enclosing rule's value, which X3 passes down
/// as `rcontext`: value = build(value, tail). The rules of the precedence levels have no semantic
/// actions, so X3 hands each level the same Expr and nothing is moved on the way down or up.
template <class Subject, class Build>
struct fold_parser : x3::parser<fold_parser<Subject, Build>> {
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;
  Subject subject;
  Build build;
  constexpr fold_parser(Subject s, Build b) : subject(s), build(b) {}

  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext& value, Attribute&) const {
    static_assert(std::is_same_v<std::remove_cv_t<RContext>, Expr>, "fold_into() is for rules that build an Expr");
    typename Subject::attribute_type parsed;
    if (!subject.parse(first, last, context, x3::unused, parsed)) return false;
    build(value, std::move(parsed), state_of(context));
    return true;
  }
};

template <class Subject, class Build>
constexpr auto fold_into(Subject const& subject, Build const& build) {
  return fold_parser<Subject, Build>(subject, build);
}

/// Parses a prefix operator and its operand (`not x`, `-x`) and builds the node from them.
template <class Subject, class Build>
struct prefix_parser : x3::parser<prefix_parser<Subject, Build>> {
  using attribute_type = Expr;
  static bool const has_attribute = true;
  Subject subject;
  Build build;
  constexpr prefix_parser(Subject s, Build b) : subject(s), build(b) {}

  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute& attr) const {
    typename Subject::attribute_type parsed;
    if (!subject.parse(first, last, context, x3::unused, parsed)) return false;
    Expr node = build(std::move(parsed));
    x3::traits::move_to(node, attr);
    return true;
  }
};

template <class Subject, class Build>
constexpr auto prefix(Subject const& subject, Build const& build) {
  return prefix_parser<Subject, Build>(subject, build);
}

/// What follows the left operand of a comparison: `= x`, `not in x`, `has any x`, `is missing`,
/// `within last x`...
struct CmpTail {
  ExprKind kind = ExprKind::Compare;
  Tok op;
  std::optional<Expr> rhs;
};

struct cmp_tail_parser : x3::parser<cmp_tail_parser> {
  using attribute_type = CmpTail;
  static bool const has_attribute = true;

  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute& attr) const {
    ParseState& st = state_of(context);
    const char* p = skip_space(first, last);
    const char* start = p;
    CmpTail out;
    std::string noun;
    auto word = [&](std::string_view w) {
      if (!keyword_at(p, last, w)) return false;
      p += w.size();
      return true;
    };
    if (p < last && (*p == '=' || *p == '!' || *p == '<' || *p == '>')) {
      static constexpr std::pair<std::string_view, std::string_view> kOps[] = {
          {"<=", "<="}, {">=", ">="}, {"!=", "!="}, {"==", "="}, {"=>", ">="}, {"=<", "<="},
          {"<>", "!="}, {"<", "<"},   {">", ">"},   {"=", "="}};
      std::string_view written;
      std::string_view canonical;
      for (const auto& [w, c] : kOps) {
        if (static_cast<std::size_t>(last - p) >= w.size() && std::string_view(p, w.size()) == w) {
          written = w;
          canonical = c;
          break;
        }
      }
      if (written.empty()) return false;  // a lone `!`
      Span at = st.span(p, p + written.size());
      if (written != canonical) {
        std::string message = written == "==" ? "compare with a single `=`" : "`" + std::string(written) + "` is not an operator";
        st.error(Code::SyntaxError, at, message).help("write `" + std::string(canonical) + "`");
      }
      p += written.size();
      out.kind = ExprKind::Compare;
      out.op = {at, std::string(canonical)};
      noun = "expression";
    } else if (word("not")) {
      p = skip_space(p, last);
      if (!word("in")) return false;  // a `not` that is not `not in` belongs to the caller
      out.kind = ExprKind::NotIn;
      out.op = {st.span(start, p), "not in"};
      noun = "list or set";
    } else if (word("in")) {
      out.kind = ExprKind::In;
      out.op = {st.span(start, p), "in"};
      noun = "list or set";
    } else if (word("has")) {
      const char* after = p;
      p = skip_space(p, last);
      if (word("any")) {
        out.kind = ExprKind::HasAny;
        out.op = {st.span(start, p), "has any"};
      } else if (word("all")) {
        out.kind = ExprKind::HasAll;
        out.op = {st.span(start, p), "has all"};
      } else {
        p = after;
        out.kind = ExprKind::Has;
        out.op = {st.span(start, p), "has"};
      }
      noun = "value";
    } else if (word("is")) {
      const char* after = p;
      p = skip_space(p, last);
      if (word("not")) {
        const char* after_not = p;
        p = skip_space(p, last);
        if (!word("missing")) throw x3::expectation_failure<Iterator>(after_not, "`missing` after `is not`");
        out.kind = ExprKind::IsNotMissing;
        out.op = {st.span(start, p), "is not missing"};
      } else if (word("missing")) {
        out.kind = ExprKind::IsMissing;
        out.op = {st.span(start, p), "is missing"};
      } else {
        throw x3::expectation_failure<Iterator>(after, "`missing` or `not missing` after `is`");
      }
    } else if (word("within")) {
      const char* after = p;
      p = skip_space(p, last);
      if (word("last")) {
        out.kind = ExprKind::WithinLast;
        out.op = {st.span(start, p), "within last"};
      } else if (word("next")) {
        out.kind = ExprKind::WithinNext;
        out.op = {st.span(start, p), "within next"};
      } else {
        throw x3::expectation_failure<Iterator>(after, "`last` or `next` after `within`");
      }
      noun = "duration";
    } else {
      return false;
    }
    if (!noun.empty()) {
      Expr rhs;
      const char* before = p;
      if (!add.parse(p, last, context, x3::unused, rhs)) {
        throw x3::expectation_failure<Iterator>(before, noun + " after `" + out.op.text + "`");
      }
      out.rhs = std::move(rhs);
    }
    first = p;
    x3::traits::move_to(out, attr);
    return true;
  }
};
constexpr cmp_tail_parser cmp_tail{};

/// `.field` or `[key]` after a primary.
struct PostfixTail {
  bool is_index = false;
  Span op_span;  // the field, or the brackets
  ast::Identifier field;
  Expr key;
};

struct postfix_tail_parser : x3::parser<postfix_tail_parser> {
  using attribute_type = PostfixTail;
  static bool const has_attribute = true;

  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute& attr) const {
    ParseState& st = state_of(context);
    const char* p = skip_space(first, last);
    PostfixTail out;
    if (p < last && *p == '.') {
      const char* after_dot = p + 1;
      p = skip_space(after_dot, last);
      NameToken name;
      if (!lex_name(st, p, last, name)) throw x3::expectation_failure<Iterator>(after_dot, "field name after `.`");
      out.field = std::move(name.id);
      out.op_span = out.field.span;
    } else if (p < last && *p == '[') {
      const char* open = p++;
      {
        DepthGuard guard(st, open, true);
        if (!expr.parse(p, last, context, x3::unused, out.key)) {
          throw x3::expectation_failure<Iterator>(p, "key after `[`");
        }
      }
      const char* close = skip_space(p, last);
      if (close >= last || *close != ']') throw x3::expectation_failure<Iterator>(p, "`]` to close `[`");
      p = close + 1;
      out.is_index = true;
      out.op_span = st.span(open, p);
    } else {
      return false;
    }
    count_fold(st, p);
    first = p;
    x3::traits::move_to(out, attr);
    return true;
  }
};
constexpr postfix_tail_parser postfix_tail{};

/// Parses `expr ("," expr)*` up to `close`; the opening bracket is already consumed.
template <class Context>
Span parse_items(ParseState& st, const char*& p, const char* last, Context const& context, char close,
                 const std::string& close_what, std::vector<Expr>& items) {
  const char* q = skip_space(p, last);
  if (q < last && *q == close) {
    p = q + 1;
    return st.span(q, q + 1);
  }
  std::string after = std::string("expression after `") + (close == ')' ? '(' : '[') + "`";
  while (true) {
    Expr item;
    const char* before = p;
    if (!expr.parse(p, last, context, x3::unused, item)) throw x3::expectation_failure<const char*>(before, after);
    items.push_back(std::move(item));
    q = skip_space(p, last);
    if (q < last && *q == ',') {
      p = q + 1;
      after = "expression after `,`";
      continue;
    }
    if (q < last && *q == close) {
      p = q + 1;
      return st.span(q, q + 1);
    }
    throw x3::expectation_failure<const char*>(p, close_what);
  }
}

/// `( expr )`: the expression's span grows to cover the parentheses.
struct paren_parser : x3::parser<paren_parser> {
  using attribute_type = Expr;
  static bool const has_attribute = true;

  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute& attr) const {
    ParseState& st = state_of(context);
    const char* p = skip_space(first, last);
    if (p >= last || *p != '(') return false;
    const char* open = p++;
    Expr inner;
    if (!expr.parse(p, last, context, x3::unused, inner)) throw x3::expectation_failure<Iterator>(p, "expression after `(`");
    const char* close = skip_space(p, last);
    if (close >= last || *close != ')') throw x3::expectation_failure<Iterator>(p, "`)` to close `(`");
    p = close + 1;
    inner.span = st.span(open, p);
    first = p;
    x3::traits::move_to(inner, attr);
    return true;
  }
};

/// `[ a, b, ... ]`.
struct list_parser : x3::parser<list_parser> {
  using attribute_type = Expr;
  static bool const has_attribute = true;

  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute& attr) const {
    ParseState& st = state_of(context);
    const char* p = skip_space(first, last);
    if (p >= last || *p != '[') return false;
    const char* open = p++;
    Expr list;
    list.kind = ExprKind::List;
    {
      DepthGuard guard(st, open, true);
      parse_items(st, p, last, context, ']', "`]` to close the list", list.args);
    }
    list.span = st.span(open, p);
    list.op_span = list.span;
    first = p;
    x3::traits::move_to(list, attr);
    return true;
  }
};

/// True when a contextual clause word is used as one here (`message "..."`, `remedy when`,
/// `move first`, `overflow to`): such a word can't be an operand, since no expression continues
/// with a string or those words. Refusing it makes `when x >` + `message "..."` report the
/// missing operand instead of a confusing error one token later.
bool starts_clause(std::string_view word, const char* after, const char* last) {
  const char* next = skip_space(after, last);
  if (word == "message" || word == "remedy") {
    return next < last && (*next == '"' || *next == '\'' || keyword_at(next, last, "when"));
  }
  if (word == "move") return keyword_at(next, last, "first");
  if (word == "overflow") return keyword_at(next, last, "to");
  return false;
}

/// A name, or a call `name(args...)`.
struct name_or_call_parser : x3::parser<name_or_call_parser> {
  using attribute_type = Expr;
  static bool const has_attribute = true;

  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute& attr) const {
    ParseState& st = state_of(context);
    const char* p = skip_space(first, last);
    NameToken name;
    if (!lex_name(st, p, last, name) || name.reserved) return false;
    if (starts_clause(name.id.name, p, last)) return false;
    Expr node;
    node.text = name.id.name;
    node.op_span = name.id.span;
    const char* open = skip_space(p, last);
    if (open < last && *open == '(') {
      p = open + 1;
      node.kind = ExprKind::Call;
      DepthGuard guard(st, open, true);
      parse_items(st, p, last, context, ')', "`)` to close the call to `" + name.id.name + "`", node.args);
      node.span = {name.id.span.begin, st.span(p, p).begin};
    } else {
      node.kind = ExprKind::Name;
      node.span = name.id.span;
    }
    first = p;
    x3::traits::move_to(node, attr);
    return true;
  }
};

constexpr paren_parser paren{};
constexpr list_parser list{};
constexpr name_or_call_parser name_or_call{};

// ---- building expression nodes ----------------------------------------------------------------

Expr make_binary(ExprKind kind, Tok op, Expr lhs, Expr rhs) {
  Expr node;
  node.kind = kind;
  node.text = std::move(op.text);
  node.op_span = op.span;
  node.span = {lhs.span.begin, rhs.span.end};
  node.args.push_back(std::move(lhs));
  node.args.push_back(std::move(rhs));
  return node;
}

auto const build_binary = [](Expr& value, Tail<Expr>&& tail, ParseState&) {
  value = make_binary(ExprKind::Binary, std::move(tail.op), std::move(value), std::move(tail.value));
};

auto const build_of = [](Expr& value, Tail<Expr>&& tail, ParseState&) {
  value = make_binary(ExprKind::Of, std::move(tail.op), std::move(value), std::move(tail.value));
};

auto const build_alias = [](Expr& value, Tail<ast::Identifier>&& tail, ParseState&) {
  Expr node;
  node.kind = ExprKind::Filter;
  node.op_span = tail.op.span;
  node.span = {value.span.begin, tail.value.span.end};
  node.alias = std::move(tail.value);
  node.args.push_back(std::move(value));
  value = std::move(node);
};

auto const build_where = [](Expr& value, Tail<Expr>&& tail, ParseState&) {
  if (value.kind == ExprKind::Filter && value.args.size() == 1) {  // `set as x where ...`
    value.op_span = tail.op.span;
    value.span.end = tail.value.span.end;
    value.args.push_back(std::move(tail.value));
    return;
  }
  Expr node;
  node.kind = ExprKind::Filter;
  node.op_span = tail.op.span;
  node.span = {value.span.begin, tail.value.span.end};
  node.args.push_back(std::move(value));
  node.args.push_back(std::move(tail.value));
  value = std::move(node);
};

auto const build_not = [](Tail<Expr>&& tail) {
  Expr node;
  node.kind = ExprKind::Not;
  node.text = "not";
  node.op_span = tail.op.span;
  node.span = {tail.op.span.begin, tail.value.span.end};
  node.args.push_back(std::move(tail.value));
  return node;
};

/// `-x`; a minus before a number, percent or duration literal is folded into it.
auto const build_negate = [](Tail<Expr>&& tail) {
  Expr& operand = tail.value;
  Span whole{tail.op.span.begin, operand.span.end};
  if (operand.kind == ExprKind::Number || operand.kind == ExprKind::Percent || operand.kind == ExprKind::Duration) {
    operand.number = -operand.number;
    operand.span = whole;
    operand.op_span = whole;
    operand.text = "-" + operand.text;
    return std::move(operand);
  }
  Expr node;
  node.kind = ExprKind::Negate;
  node.text = "-";
  node.op_span = tail.op.span;
  node.span = whole;
  node.args.push_back(std::move(operand));
  return node;
};

Expr make_comparison(Expr lhs, CmpTail tail) {
  Expr node;
  node.kind = tail.kind;
  node.text = std::move(tail.op.text);
  node.op_span = tail.op.span;
  node.span = {lhs.span.begin, tail.rhs ? tail.rhs->span.end : tail.op.span.end};
  node.args.push_back(std::move(lhs));
  if (tail.rhs) node.args.push_back(std::move(*tail.rhs));
  return node;
}

auto const build_comparison = [](Expr& value, CmpTail&& tail, ParseState&) {
  value = make_comparison(std::move(value), std::move(tail));
};

/// `a < b < c`: reported, then kept as nested comparisons so parsing goes on.
auto const build_chained = [](Expr& first, CmpTail&& second, ParseState& st) {
  auto text_of = [&](const Expr& e) { return std::string(st.slice(e.span)); };
  auto& d = st.error(Code::ChainedComparison, second.op.span, "comparisons can't be chained");
  bool concrete = first.args.size() == 2 && second.rhs && text_of(first.args[0]).size() <= 40 &&
                  text_of(first.args[1]).size() <= 40 && text_of(*second.rhs).size() <= 40;
  if (concrete) {
    std::string middle = text_of(first.args[1]);
    d.help("write `" + text_of(first.args[0]) + " " + first.text + " " + middle + " and " + middle + " " +
           second.op.text + " " + text_of(*second.rhs) + "`");
  } else {
    d.help("write `a < b and b < c`");
  }
  first = make_comparison(std::move(first), std::move(second));
};

auto const build_postfix = [](Expr& object, PostfixTail&& tail, ParseState&) {
  Expr node;
  node.op_span = tail.op_span;
  node.span = {object.span.begin, tail.op_span.end};
  node.args.push_back(std::move(object));
  if (tail.is_index) {
    node.kind = ExprKind::Index;
    node.text = "[]";
    node.args.push_back(std::move(tail.key));
  } else {
    node.kind = ExprKind::Member;
    node.text = std::move(tail.field.name);
  }
  object = std::move(node);
};

// ---- expression rules --------------------------------------------------------------------------

auto const expr_def = guarded[filter >> -fold_into(tail<Expr>(kwt("of"), filter, "set", TailMode::Plain), build_of)];
auto const filter_def = disj >> -fold_into(tail<ast::Identifier>(kwt("as"), name_strict, "name", TailMode::Plain), build_alias) >>
                        -fold_into(tail<Expr>(kwt("where"), disj, "condition", TailMode::Plain), build_where);
auto const disj_def = chain[conj >> *fold_into(tail<Expr>(kwt("or"), conj, "condition", TailMode::Fold), build_binary)];
auto const conj_def = chain[neg >> *fold_into(tail<Expr>(kwt("and"), neg, "condition", TailMode::Fold), build_binary)];
auto const neg_def = prefix(tail<Expr>(kwt("not"), neg, "condition", TailMode::Recurse), build_not) | cmp;
auto const cmp_def = add >> -(fold_into(cmp_tail, build_comparison) >> *fold_into(cmp_tail, build_chained));
auto const add_def = chain[mul >> *fold_into(tail<Expr>(add_op, mul, "expression", TailMode::Fold), build_binary)];
auto const mul_def = chain[unary >> *fold_into(tail<Expr>(mul_op, unary, "expression", TailMode::Fold), build_binary)];
auto const unary_def = prefix(tail<Expr>(punct('-'), unary, "expression", TailMode::Recurse), build_negate) | postfix;
auto const postfix_def = chain[primary >> *fold_into(postfix_tail, build_postfix)];
auto const primary_def = scalar | string_expr | word_literal_p | paren | list | name_or_call;

auto const type_name = [](auto& ctx) {
  auto& type = _val(ctx);
  type.name = std::move(_attr(ctx));
  type.span = type.name.span;
};
auto const type_element = [](auto& ctx) {
  auto& type = _val(ctx);
  type.span.end = _attr(ctx).span.end;
  type.element = std::make_shared<ast::TypeRef>(std::move(_attr(ctx)));
};
auto const type_ref_def = name_strict[type_name] >> -(kw("of") >> must("type after `of`", guarded[type_ref])[type_element]);

BOOST_SPIRIT_DEFINE(expr, filter, disj, conj, neg, cmp, add, mul, unary, postfix, primary, type_ref)

// ---- clauses -----------------------------------------------------------------------------------

/// One attribute of a rule or plan, or of the pack header.
struct AttrItem {
  enum class Kind { Title, Rationale, Severity, Tags, Enabled, Version, Description };
  Kind kind = Kind::Title;
  Span span;
  ast::StringLiteral text;
  ast::Identifier name;
  std::vector<ast::Identifier> tags;
  Expr flag;
};

auto attr_begin(AttrItem::Kind kind) {
  return [kind](auto& ctx) {
    _val(ctx).kind = kind;
    _val(ctx).span = _attr(ctx).span;
  };
}
auto const attr_text = [](auto& ctx) {
  _val(ctx).span.end = _attr(ctx).span.end;
  _val(ctx).text = std::move(_attr(ctx));
};
auto const attr_name = [](auto& ctx) {
  _val(ctx).span.end = _attr(ctx).span.end;
  _val(ctx).name = std::move(_attr(ctx));
};
auto const attr_tag = [](auto& ctx) {
  _val(ctx).span.end = _attr(ctx).span.end;
  _val(ctx).tags.push_back(std::move(_attr(ctx)));
};
auto const attr_flag = [](auto& ctx) {
  _val(ctx).span.end = _attr(ctx).span.end;
  _val(ctx).flag = std::move(_attr(ctx));
};

x3::rule<class attribute_class, AttrItem> const attribute_clause = "attribute";
auto const attribute_clause_def =
    (kwt("title")[attr_begin(AttrItem::Kind::Title)] >> must("quoted text after `title`", string_lit)[attr_text]) |
    (kwt("rationale")[attr_begin(AttrItem::Kind::Rationale)] >>
     must("quoted text after `rationale`", string_lit)[attr_text]) |
    (kwt("severity")[attr_begin(AttrItem::Kind::Severity)] >>
     must("severity after `severity` (info, low, medium, high or critical)", name_strict)[attr_name]) |
    (kwt("tags")[attr_begin(AttrItem::Kind::Tags)] >> must("tag name after `tags`", name_strict)[attr_tag] >>
     *(punct(',') >> must("tag name after `,`", name_strict)[attr_tag])) |
    (kwt("enabled")[attr_begin(AttrItem::Kind::Enabled)] >>
     must("`true` or `false` after `enabled`", bool_literal)[attr_flag]);

x3::rule<class header_attribute_class, AttrItem> const header_attribute = "pack attribute";
auto const header_attribute_def =
    (kwt("version")[attr_begin(AttrItem::Kind::Version)] >> must("quoted text after `version`", string_lit)[attr_text]) |
    (kwt("title")[attr_begin(AttrItem::Kind::Title)] >> must("quoted text after `title`", string_lit)[attr_text]) |
    (kwt("description")[attr_begin(AttrItem::Kind::Description)] >>
     must("quoted text after `description`", string_lit)[attr_text]);

void merge_attribute(ast::Attributes& attributes, AttrItem&& item) {
  auto set_once = [&](auto& slot, auto&& value) {
    if (slot) attributes.duplicates.push_back(item.span);
    else slot = std::move(value);
  };
  switch (item.kind) {
    case AttrItem::Kind::Title: set_once(attributes.title, std::move(item.text)); break;
    case AttrItem::Kind::Rationale: set_once(attributes.rationale, std::move(item.text)); break;
    case AttrItem::Kind::Severity: set_once(attributes.severity, std::move(item.name)); break;
    case AttrItem::Kind::Enabled: set_once(attributes.enabled, std::move(item.flag)); break;
    case AttrItem::Kind::Tags:
      if (!attributes.tags.empty()) attributes.duplicates.push_back(item.span);
      else attributes.tags = std::move(item.tags);
      break;
    case AttrItem::Kind::Version:
    case AttrItem::Kind::Description: break;  // header only
  }
}

auto const merge_attr = [](auto& ctx) { merge_attribute(_val(ctx).attributes, std::move(_attr(ctx))); };

/// `let name = expr`
auto const let_begin = [](auto& ctx) { _val(ctx).span = _attr(ctx).span; };
auto const let_name = [](auto& ctx) { _val(ctx).name = std::move(_attr(ctx)); };
auto const let_value = [](auto& ctx) {
  _val(ctx).span.end = _attr(ctx).span.end;
  _val(ctx).value = std::move(_attr(ctx));
};
x3::rule<class let_class, ast::Let> const let_clause = "`let`";
auto const let_clause_def = kwt("let")[let_begin] >> must("name after `let`", decl_name)[let_name] >>
                            must("`=` after the name in `let`", punct('=')) >>
                            must("expression after `=`", expr)[let_value];

/// `escalate to SEVERITY when expr`
auto const escalate_severity = [](auto& ctx) { _val(ctx).severity = std::move(_attr(ctx)); };
auto const escalate_condition = [](auto& ctx) {
  _val(ctx).span.end = _attr(ctx).span.end;
  _val(ctx).condition = std::move(_attr(ctx));
};
x3::rule<class escalate_class, ast::Escalate> const escalate_clause = "`escalate`";
auto const escalate_clause_def = kwt("escalate")[let_begin] >> must("`to` after `escalate`", kw("to")) >>
                                 must("severity after `escalate to`", name_strict)[escalate_severity] >>
                                 must("`when` after the severity", kw("when")) >>
                                 must("condition after `when`", expr)[escalate_condition];

/// `message [when expr] "..."` / `remedy [when expr] "..."`
auto text_begin(bool remedy) {
  return [remedy](auto& ctx) {
    _val(ctx).span = _attr(ctx).span;
    _val(ctx).is_remedy = remedy;
  };
}
auto const text_condition = [](auto& ctx) { _val(ctx).condition = std::move(_attr(ctx)); };
auto const text_body = [](auto& ctx) {
  _val(ctx).span.end = _attr(ctx).span.end;
  _val(ctx).text = std::move(_attr(ctx));
};
x3::rule<class text_class, ast::TextClause> const text_clause = "`message` or `remedy`";
auto const text_clause_def =
    (kwt("message")[text_begin(false)] >> -(kw("when") >> must("condition after `when`", expr)[text_condition]) >>
     must("quoted text after `message`", template_text)[text_body]) |
    (kwt("remedy")[text_begin(true)] >> -(kw("when") >> must("condition after `when`", expr)[text_condition]) >>
     must("quoted text after `remedy`", template_text)[text_body]);

/// `for each name in expr`
struct SubjectClause {
  Span span;
  ast::Identifier var;
  Expr source;
};
auto const subject_var = [](auto& ctx) { _val(ctx).var = std::move(_attr(ctx)); };
auto const subject_source = [](auto& ctx) {
  _val(ctx).span.end = _attr(ctx).span.end;
  _val(ctx).source = std::move(_attr(ctx));
};
x3::rule<class subject_class, SubjectClause> const subject_clause = "`for each`";
auto const subject_clause_def = kwt("for")[let_begin] >> must("`each` after `for`", kw("each")) >>
                                must("name after `for each`", decl_name_parser("in"))[subject_var] >>
                                must("`in` after `for each <name>`", kw("in")) >>
                                must("entity or set after `in`", expr)[subject_source];

/// `entity [as alias] [where condition]` in a plan.
auto const source_entity = [](auto& ctx) {
  _val(ctx).span = _attr(ctx).span;
  _val(ctx).entity = std::move(_attr(ctx));
};
auto const source_alias = [](auto& ctx) {
  _val(ctx).span.end = _attr(ctx).span.end;
  _val(ctx).alias = std::move(_attr(ctx));
};
auto const source_where = [](auto& ctx) {
  _val(ctx).span.end = _attr(ctx).span.end;
  _val(ctx).where = std::move(_attr(ctx));
};
x3::rule<class source_class, ast::Source> const source = "entity";
auto const source_def = name_strict[source_entity] >> -(kw("as") >> must("name after `as`", name_strict)[source_alias]) >>
                        -(kw("where") >> must("condition after `where`", disj)[source_where]);

/// One `move first by` key.
auto const order_expr = [](auto& ctx) { _val(ctx).expr = std::move(_attr(ctx)); };
auto const order_ascending = [](auto& ctx) { _val(ctx).descending = false; };
auto const order_descending = [](auto& ctx) { _val(ctx).descending = true; };
x3::rule<class order_key_class, ast::OrderKey> const order_key = "sort key";
auto const order_key_def = expr[order_expr] >> -(kw("ascending")[order_ascending] | kw("descending")[order_descending]);

/// `"key": literal` in a parameter's key map.
auto const key_name = [](auto& ctx) {
  _val(ctx).span = _attr(ctx).span;
  _val(ctx).key = std::move(_attr(ctx));
};
auto const key_value = [](auto& ctx) {
  check_literal(state_of(ctx), _attr(ctx));
  _val(ctx).span.end = _attr(ctx).span.end;
  _val(ctx).value = std::move(_attr(ctx));
};
x3::rule<class key_entry_class, ast::KeyEntry> const key_entry = "key";
auto const key_entry_def = string_lit[key_name] >> must("`:` after the key", punct(':')) >>
                           must("value after `:`", expr)[key_value];

auto const keymap_push = [](auto& ctx) { _val(ctx).push_back(std::move(_attr(ctx))); };
x3::rule<class keymap_class, std::vector<ast::KeyEntry>> const keymap = "key map";
auto const keymap_def =
    punct('{') >> (punct('}') | (must("quoted key (such as \"strategic\")", key_entry)[keymap_push] >>
                                 *(punct(',') >> must("quoted key after `,`", key_entry)[keymap_push]) >>
                                 must("`}` to close the key map", punct('}'))));

BOOST_SPIRIT_DEFINE(attribute_clause, header_attribute, let_clause, escalate_clause, text_clause, subject_clause,
                    source, order_key, key_entry, keymap)

// ---- items -------------------------------------------------------------------------------------

void check_identifier(ParseState& st, const ast::Identifier& id, std::string_view what) {
  const std::string& name = id.name;
  bool ok = !name.empty() && name[0] >= 'a' && name[0] <= 'z' &&
            std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || is_digit(c) || c == '_'; });
  if (ok) return;
  std::string suggestion;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') {
      if (i > 0 && !suggestion.empty() && suggestion.back() != '_' && !(name[i - 1] >= 'A' && name[i - 1] <= 'Z')) {
        suggestion += '_';
      }
      suggestion += static_cast<char>(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || is_digit(c)) {
      suggestion += c;
    } else if (!suggestion.empty() && suggestion.back() != '_') {
      suggestion += '_';
    }
  }
  while (!suggestion.empty() && (is_digit(suggestion.front()) || suggestion.front() == '_')) suggestion.erase(0, 1);
  while (!suggestion.empty() && suggestion.back() == '_') suggestion.pop_back();
  auto& d = st.error(Code::BadIdentifier, id.span,
                     std::string(what) + " name `" + name +
                         "` must use lower-case letters, digits and `_`, and start with a letter",
                     false);
  if (!suggestion.empty()) d.help("write `" + suggestion + "`");
}

auto item_begin = [](auto& ctx) { _val(ctx).span = _attr(ctx).span; };
auto item_id(std::string_view what) {
  return [what](auto& ctx) {
    ParseState& st = state_of(ctx);
    auto& item = _val(ctx);
    item.id = std::move(_attr(ctx));
    st.item_name = item.id.name;
    st.item_name_span = {item.span.begin, item.id.span.end};
    st.item_name_known = true;
    check_identifier(st, item.id, what);
  };
}
auto const item_end = [](auto& ctx) { _val(ctx).span.end = _attr(ctx).span.end; };

auto const rule_subject = [](auto& ctx) {
  auto& rule = _val(ctx);
  auto& subject = _attr(ctx);
  rule.subject_span = subject.span;
  rule.subject_var = std::move(subject.var);
  rule.subject_source = std::move(subject.source);
};
auto const rule_let = [](auto& ctx) { _val(ctx).lets.push_back(std::move(_attr(ctx))); };
auto const rule_when = [](auto& ctx) { _val(ctx).when = std::move(_attr(ctx)); };
auto const rule_escalate = [](auto& ctx) { _val(ctx).escalations.push_back(std::move(_attr(ctx))); };
auto const push_text = [](auto& ctx) { _val(ctx).texts.push_back(std::move(_attr(ctx))); };

x3::rule<class rule_item_class, ast::Rule> const rule_item = "rule";
auto const rule_item_def =
    kwt("rule")[item_begin] >> must("rule name after `rule`", decl_name)[item_id("rule")] >>
    *attribute_clause[merge_attr] >>
    must("`for each` (or a rule attribute: title, rationale, severity, tags, enabled)", subject_clause)[rule_subject] >>
    *let_clause[rule_let] >> must("`let` or `when`", kw("when")) >> must("condition after `when`", expr)[rule_when] >>
    *escalate_clause[rule_escalate] >> must("`message` or `remedy`", text_clause)[push_text] >>
    *text_clause[push_text] >> must(kExpectEnd, kwt("end"))[item_end];

auto const plan_assign = [](auto& ctx) { _val(ctx).assign = std::move(_attr(ctx)); };
auto const plan_to = [](auto& ctx) { _val(ctx).to = std::move(_attr(ctx)); };
auto const plan_by = [](auto& ctx) { _val(ctx).by = std::move(_attr(ctx)); };
auto const plan_keep = [](auto& ctx) { _val(ctx).keeps.push_back(std::move(_attr(ctx))); };
auto const plan_limit = [](auto& ctx) { _val(ctx).limits.push_back(std::move(_attr(ctx))); };
auto const plan_prefer = [](auto& ctx) { _val(ctx).prefers.push_back(std::move(_attr(ctx))); };
auto const plan_order = [](auto& ctx) { _val(ctx).move_first.push_back(std::move(_attr(ctx))); };
auto const plan_overflow_keyword = [](auto& ctx) {
  if (_val(ctx).overflow) {
    state_of(ctx).error(Code::InvalidPlan, _attr(ctx).span, "a plan has at most one `overflow to` clause");
  }
};
auto const plan_overflow = [](auto& ctx) { _val(ctx).overflow = std::move(_attr(ctx)); };

x3::rule<class plan_item_class, ast::Plan> const plan_item = "plan";
auto const plan_item_def =
    kwt("plan")[item_begin] >> must("plan name after `plan`", decl_name)[item_id("plan")] >>
    *attribute_clause[merge_attr] >>
    must("`assign` (or a plan attribute: title, rationale, severity, tags, enabled)", kw("assign")) >>
    must("entity after `assign`", source)[plan_assign] >> must("`to` after the `assign` clause", kw("to")) >>
    must("entity after `to`", source)[plan_to] >> must("`by` and the field the plan rewrites", kw("by")) >>
    must("field after `by`", postfix)[plan_by] >>
    *((kw("keep") >> must("condition after `keep`", expr)[plan_keep]) |
      (kw("limit") >> must("condition after `limit`", expr)[plan_limit]) |
      (kw("prefer") >> must("condition after `prefer`", expr)[plan_prefer]) |
      (kw("move") >> must("`first` after `move`", kw("first")) >> must("`by` after `move first`", kw("by")) >>
       must("sort key after `move first by`", order_key)[plan_order] >>
       *(punct(',') >> must("sort key after `,`", order_key)[plan_order])) |
      (kwt("overflow")[plan_overflow_keyword] >> must("`to` after `overflow`", kw("to")) >>
       must("entity after `overflow to`", source)[plan_overflow])) >>
    must("a plan clause (keep, limit, prefer, move first by, overflow to) or `message`", text_clause)[push_text] >>
    *text_clause[push_text] >> must(kExpectEnd, kwt("end"))[item_end];

auto const param_name = [](auto& ctx) {
  ParseState& st = state_of(ctx);
  auto& param = _val(ctx);
  param.name = std::move(_attr(ctx));
  st.item_name = param.name.name;
  st.item_name_span = {param.span.begin, param.name.span.end};
  st.item_name_known = true;
  check_identifier(st, param.name, "parameter");
};
auto const param_type = [](auto& ctx) { _val(ctx).type = std::move(_attr(ctx)); };
auto const param_by_entity = [](auto& ctx) { _val(ctx).by_entity = std::move(_attr(ctx)); };
auto const param_by_field = [](auto& ctx) { _val(ctx).by_field = std::move(_attr(ctx)); };
auto const param_default = [](auto& ctx) {
  check_literal(state_of(ctx), _attr(ctx));
  _val(ctx).span.end = _attr(ctx).span.end;
  _val(ctx).default_value = std::move(_attr(ctx));
};
auto const param_doc = [](auto& ctx) {
  _val(ctx).span.end = _attr(ctx).span.end;
  _val(ctx).doc = std::move(_attr(ctx));
};

/// The key map with its closing brace's place, so the parameter's span can cover it.
struct KeymapWithEnd {
  std::vector<ast::KeyEntry> entries;
  Span span;
};
struct keymap_span_parser : x3::parser<keymap_span_parser> {
  using attribute_type = KeymapWithEnd;
  static bool const has_attribute = true;
  template <class Iterator, class Context, class RContext, class Attribute>
  bool parse(Iterator& first, Iterator const& last, Context const& context, RContext&, Attribute& attr) const {
    ParseState& st = state_of(context);
    const char* p = skip_space(first, last);
    const char* start = p;
    KeymapWithEnd out;
    if (!keymap.parse(p, last, context, x3::unused, out.entries)) return false;
    out.span = st.span(start, p);
    first = p;
    x3::traits::move_to(out, attr);
    return true;
  }
};
constexpr keymap_span_parser keymap_with_end{};
auto const param_keymap_with_end = [](auto& ctx) {
  auto& keymap_value = _attr(ctx);
  _val(ctx).span.end = keymap_value.span.end;
  _val(ctx).keymap = std::move(keymap_value.entries);
};

x3::rule<class param_item_class, ast::Param> const param_item = "param";
auto const param_item_def =
    kwt("param")[item_begin] >> must("parameter name after `param`", decl_name)[param_name] >>
    must("`:` and a type after the parameter name", punct(':')) >>
    must("type after `:` (such as count, duration or list of text)", type_ref)[param_type] >>
    -(kw("by") >> must("entity after `by`", name_strict)[param_by_entity] >>
      must("`.` and a field after the entity", punct('.')) >> must("field after `.`", field)[param_by_field]) >>
    must("`=` and a default value", punct('=')) >> must("default value after `=`", expr)[param_default] >>
    -keymap_with_end[param_keymap_with_end] >> -string_lit[param_doc];

auto const header_name = [](auto& ctx) {
  ParseState& st = state_of(ctx);
  auto& header = _val(ctx);
  header.name = std::move(_attr(ctx));
  header.span.end = header.name.span.end;
  st.item_name = header.name.name;
  st.item_name_span = {header.span.begin, header.name.span.end};
  st.item_name_known = true;
};
auto const header_attr = [](auto& ctx) {
  ParseState& st = state_of(ctx);
  auto& header = _val(ctx);
  AttrItem& item = _attr(ctx);
  header.span.end = item.span.end;
  std::optional<ast::StringLiteral>* slot = item.kind == AttrItem::Kind::Version ? &header.version
                                            : item.kind == AttrItem::Kind::Title ? &header.title
                                                                                 : &header.description;
  if (*slot) {
    std::string_view word = item.kind == AttrItem::Kind::Version ? "version"
                            : item.kind == AttrItem::Kind::Title ? "title"
                                                                 : "description";
    st.error(Code::DuplicateAttribute, item.span, "the pack header gives `" + std::string(word) + "` twice", false)
        .label(st.source, (*slot)->span, "the first one is here")
        .help("keep one of them");
    return;
  }
  *slot = std::move(item.text);
};
x3::rule<class header_item_class, ast::Header> const header_item = "pack";
auto const header_item_def = kwt("pack")[item_begin] >> must("pack name after `pack`", decl_name)[header_name] >>
                             *header_attribute[header_attr];

BOOST_SPIRIT_DEFINE(rule_item, plan_item, param_item, header_item)

// ---- running the grammar -----------------------------------------------------------------------

/// Every parse goes through here, so every rule is instantiated for exactly one context type.
template <class Parser, class Attribute>
bool run(Parser const& parser, ParseState& st, const char*& first, const char* last, Attribute& attr) {
  return x3::phrase_parse(first, last, x3::with<state_tag>(st)[parser], skipper, attr);
}

template <class Parser, class Attribute>
bool run_item(Parser const& parser, ParseState& st, const char*& p, const char* last, Attribute& out,
              Failure& failure) {
  const char* it = p;
  try {
    if (run(parser, st, it, last, out)) {
      p = it;
      return true;
    }
    failure = {Failure::Kind::Expected, it, {}};
  } catch (const x3::expectation_failure<const char*>& e) {
    failure = {Failure::Kind::Expected, e.where(), e.which()};
  } catch (const NestingError& e) {
    failure = {e.chain ? Failure::Kind::TooLong : Failure::Kind::TooDeep, e.where, {}};
  }
  return false;
}

std::optional<Expr> parse_interpolation(ParseState& st, const char* begin, const char* stop) {
  const std::string_view inside = " inside `{…}`";
  Expr value;
  Failure failure;
  const char* p = begin;
  if (!run_item(expr, st, p, stop, value, failure)) {
    if (failure.kind == Failure::Kind::Expected) {
      report_expected(st, failure.where, stop, failure.expected.empty() ? "expression" : failure.expected,
                      Code::InterpolationError, inside);
    } else {
      report_too_deep(st, failure.where, stop, failure.kind == Failure::Kind::TooLong);
    }
    return std::nullopt;
  }
  p = skip_space(p, stop);
  if (p != stop) {
    FoundToken found = found_token(st, p, stop);
    st.error(Code::InterpolationError, found.span, "unexpected " + found.shown + " inside `{…}`")
        .help("write one expression per `{…}`; for a literal brace write \\{ or \\}");
    return std::nullopt;
  }
  return value;
}

}  // namespace

bool parse_header(ParseState& st, const char*& p, ast::Header& out, Failure& failure) {
  return run_item(header_item, st, p, st.end, out, failure);
}
bool parse_rule(ParseState& st, const char*& p, ast::Rule& out, Failure& failure) {
  return run_item(rule_item, st, p, st.end, out, failure);
}
bool parse_plan(ParseState& st, const char*& p, ast::Plan& out, Failure& failure) {
  return run_item(plan_item, st, p, st.end, out, failure);
}
bool parse_param(ParseState& st, const char*& p, ast::Param& out, Failure& failure) {
  return run_item(param_item, st, p, st.end, out, failure);
}
bool parse_expression_at(ParseState& st, const char*& p, const char* last, ast::Expr& out, Failure& failure) {
  return run_item(expr, st, p, last, out, failure);
}

namespace {
bool is_literal(const Expr& e) {
  if (e.kind == ExprKind::List) {
    return std::all_of(e.args.begin(), e.args.end(), [](const Expr& item) { return is_literal(item); });
  }
  return ast::is_literal(e.kind);
}
}  // namespace

bool check_literal(ParseState& st, const ast::Expr& value) {
  if (is_literal(value)) return true;
  auto& d = st.error(Code::NotConstant, value.span, "a parameter value must be written out, not computed");
  if (value.kind == ExprKind::Name) {
    d.help("to write text, put it in quotes: \"" + value.text + "\"");
  } else if (value.kind == ExprKind::Now || value.kind == ExprKind::Today) {
    d.help("`" + value.text + "` changes every run; write a date such as 2026-03-01");
  } else if (value.kind == ExprKind::List) {
    d.help("a list holds plain values, such as [\"a\", \"b\"]");
  } else {
    d.help("write a number, duration, percent, date, quoted text, true or false, or a list such as [\"a\", \"b\"]");
  }
  return false;
}

}  // namespace rapport::dsl::detail
