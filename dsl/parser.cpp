// The parser's driver: checks the encoding, parses the header, then one item at a time, and after
// a syntax error reports it once and resumes at the next line that starts with `rule`, `plan` or
// `param`. The grammar itself is in dsl/grammar.cpp, the lexemes in dsl/lexer.cpp.

#include "dsl/parser.hpp"

#include <limits>
#include <new>

#include "diag/suggest.hpp"
#include "dsl/grammar.hpp"
#include "dsl/lexer.hpp"

namespace rapport::dsl {

namespace {

using detail::Failure;
using detail::ParseState;
using diag::Code;

/// Starts after a UTF-8 byte order mark, if any.
const char* text_start(const ParseState& st) {
  if (st.end - st.base >= 3 && st.base[0] == '\xEF' && st.base[1] == '\xBB' && st.base[2] == '\xBF') return st.base + 3;
  return st.base;
}

bool is_item_word(const std::string& word) {
  return word == "rule" || word == "plan" || word == "param" || word == "pack";
}

/// Reports why an item did not parse.
void report_failure(ParseState& st, const Failure& failure, const char* item_start) {
  switch (failure.kind) {
    case Failure::Kind::TooDeep:
    case Failure::Kind::TooLong:
      detail::report_too_deep(st, failure.where, st.end, failure.kind == Failure::Kind::TooLong);
      return;
    case Failure::Kind::None:
    case Failure::Kind::Expected: break;
  }
  const char* where = failure.where ? failure.where : item_start;
  if (failure.expected != detail::kExpectEnd) {
    detail::report_expected(st, where, st.end,
                            failure.expected.empty() ? std::string(detail::kExpectItem) : failure.expected);
    return;
  }
  std::string what = st.item_kind + (st.item_name_known ? " `" + st.item_name + "`" : "");
  std::string expected = "`end` to close " + what;
  detail::FoundToken found = detail::found_token(st, where, st.end);
  bool at_next_item = found.span.begin == found.span.end || is_item_word(found.word);
  if (!at_next_item) {
    detail::report_expected(st, where, st.end, expected);
    return;
  }
  // The item simply isn't closed: point just after its last token, where `end` belongs.
  const char* at = detail::previous_token_end(st, where, item_start);
  ++st.item_errors;
  auto& d = st.error(Code::MissingEnd, st.span(at, at), "expected " + expected, false);
  if (st.item_name_known) d.label(st.source, st.item_name_span, what + " starts here");
  d.help("add `end` on its own line after the last `message` or `remedy`");
}

/// Parses one item with `parse`; keeps it when it parsed without errors. Returns where to go on.
template <class Item, class Parse>
const char* parse_item(ParseState& st, const char* p, const char* kind, Parse parse, std::vector<Item>& out) {
  st.item_kind = kind;
  st.item_name.clear();
  st.item_name_known = false;
  st.item_errors = 0;
  st.depth = 0;
  st.folds = 0;
  const char* it = p;
  Item item;
  Failure failure;
  if (parse(st, it, item, failure)) {
    if (st.item_errors == 0) out.push_back(std::move(item));
    return it;
  }
  report_failure(st, failure, p);
  const char* from = failure.where && failure.where > p ? failure.where : p;
  return detail::next_item_start(st.base, from, p, st.end);
}

/// A name for the `pack` line the help suggests: the file's stem, made into an identifier.
std::string suggested_pack_name(const std::string& path) {
  std::string stem = path.substr(path.find_last_of("/\\") == std::string::npos ? 0 : path.find_last_of("/\\") + 1);
  stem = stem.substr(0, stem.find('.'));
  std::string name;
  for (char c : stem) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || detail::is_digit(c)) name += c;
    else if (!name.empty() && name.back() != '_') name += '_';
  }
  while (!name.empty() && (detail::is_digit(name.front()) || name.front() == '_')) name.erase(0, 1);
  while (!name.empty() && name.back() == '_') name.pop_back();
  return name.empty() ? "my_rules" : name;
}

/// Returns where to go on after the header (or its absence).
const char* parse_header_or_report(ParseState& st, const char* p, ast::File& file) {
  if (detail::keyword_at(p, st.end, "pack")) {
    st.item_kind = "pack";
    st.item_name_known = false;
    st.item_errors = 0;
    const char* it = p;
    ast::Header header;
    Failure failure;
    if (detail::parse_header(st, it, header, failure)) {
      file.header = std::move(header);
      return it;
    }
    report_failure(st, failure, p);
    return detail::next_item_start(st.base, failure.where ? failure.where : p, p, st.end);
  }
  detail::FoundToken found = detail::found_token(st, p, st.end);
  std::string pack_line = "pack " + suggested_pack_name(st.source->path());
  bool empty = p >= st.end;
  diag::Span at = empty ? st.span(text_start(st), text_start(st)) : found.span;
  auto& d = st.error(Code::MissingHeader, at,
                     empty ? "the file has no rules; a rule file starts with `pack <name>`"
                           : "a rule file must start with `pack <name>`",
                     false);
  if (!found.word.empty() && found.word != "pack" && !is_item_word(found.word) &&
      diag::closest(found.word, {"pack"})) {
    d.help("did you mean `pack`?");
  }
  d.help("add a first line such as `" + pack_line + "`");
  if (empty || is_item_word(found.word)) return p;
  return detail::next_item_start(st.base, p, p, st.end);  // skip a mangled header line
}

}  // namespace

ast::File parse_file(diag::SourceFilePtr source, diag::DiagnosticSink& sink) {
  ast::File file;
  file.source = source;
  if (!source) return file;
  const std::string& text = source->text();
  try {
    if (text.size() >= std::numeric_limits<std::uint32_t>::max()) {
      sink.error(Code::SyntaxError, source, {0, 0}, "the file is too large to parse (4 GB or more)");
      return file;
    }
    ParseState st(source, sink, text);
    if (!detail::check_encoding(st)) return file;
    const char* p = detail::skip_space(text_start(st), st.end);
    p = parse_header_or_report(st, p, file);
    while (true) {
      p = detail::skip_space(p, st.end);
      if (p >= st.end) break;
      if (detail::keyword_at(p, st.end, "rule")) {
        p = parse_item(st, p, "rule", detail::parse_rule, file.rules);
      } else if (detail::keyword_at(p, st.end, "plan")) {
        p = parse_item(st, p, "plan", detail::parse_plan, file.plans);
      } else if (detail::keyword_at(p, st.end, "param")) {
        p = parse_item(st, p, "param", detail::parse_param, file.params);
      } else {
        st.item_kind.clear();
        if (detail::keyword_at(p, st.end, "pack")) {
          st.error(Code::SyntaxError, st.span(p, p + 4), "a file has one `pack` line, at the top", false)
              .help("split the file in two, or remove this line");
        } else {
          detail::report_expected(st, p, st.end, detail::kExpectItem);
        }
        p = detail::next_item_start(st.base, p, p, st.end);
      }
    }
  } catch (const detail::StopParsing&) {
    // already reported
  } catch (const std::bad_alloc&) {
    sink.error(Code::SyntaxError, source, {0, 0}, "out of memory while parsing this file");
  } catch (const std::exception& e) {
    sink.error(Code::SyntaxError, source, {0, 0}, std::string("internal parser error: ") + e.what());
  }
  return file;
}

namespace {

enum class Standalone { Literal, Expression };

std::optional<ast::Expr> parse_standalone(diag::SourceFilePtr source, diag::DiagnosticSink& sink, Standalone mode) {
  if (!source) return std::nullopt;
  const std::string& text = source->text();
  const char* what = mode == Standalone::Literal
                         ? "a value (number, duration, percent, date, quoted text, true, false or a list)"
                         : "expression";
  try {
    if (text.size() >= std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
    ParseState st(source, sink, text);
    if (!detail::check_encoding(st)) return std::nullopt;
    st.item_kind = mode == Standalone::Literal ? "value" : "expression";
    const char* p = detail::skip_space(text_start(st), st.end);
    ast::Expr value;
    Failure failure;
    if (!detail::parse_expression_at(st, p, st.end, value, failure)) {
      if (failure.kind == Failure::Kind::Expected) {
        detail::report_expected(st, failure.where ? failure.where : p, st.end,
                                failure.expected.empty() ? what : failure.expected);
      } else {
        detail::report_too_deep(st, failure.where, st.end, failure.kind == Failure::Kind::TooLong);
      }
      return std::nullopt;
    }
    p = detail::skip_space(p, st.end);
    if (p < st.end) {
      detail::FoundToken found = detail::found_token(st, p, st.end);
      st.error(Code::SyntaxError, found.span,
               std::string("unexpected ") + found.shown +
                   (mode == Standalone::Literal ? " after the value" : " after the expression"));
    }
    if (mode == Standalone::Literal) detail::check_literal(st, value);
    if (st.item_errors > 0) return std::nullopt;
    return value;
  } catch (const detail::StopParsing&) {
    // already reported
  } catch (const std::exception& e) {
    sink.error(Code::SyntaxError, source, {0, 0}, std::string("internal parser error: ") + e.what());
  }
  return std::nullopt;
}

}  // namespace

std::optional<ast::Expr> parse_literal(diag::SourceFilePtr source, diag::DiagnosticSink& sink) {
  return parse_standalone(std::move(source), sink, Standalone::Literal);
}

std::optional<ast::Expr> parse_expression(diag::SourceFilePtr source, diag::DiagnosticSink& sink) {
  return parse_standalone(std::move(source), sink, Standalone::Expression);
}

}  // namespace rapport::dsl
