#pragma once
// Internal to the parser: the hand-written lexical layer (whitespace, words, numbers, strings,
// templates), the parse state shared by the grammar and the driver, and the wording of syntax
// errors. Nothing here depends on Spirit, so it stays cheap to compile and easy to test through
// the parser's public API.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "diag/diagnostic.hpp"
#include "dsl/ast.hpp"

namespace rapport::dsl::detail {

/// How deep brackets, calls, `not` and unary minus may nest before the parser refuses (DSL1011).
/// It bounds the parser's recursion, so hostile input can't overflow the stack.
inline constexpr int kMaxNesting = 200;
/// How many operators one chain (`a + b + ...`, `x.y.z...`) may fold before the parser refuses:
/// left-deep chains make deep trees, and every later pass walks them recursively.
inline constexpr int kMaxChain = 1000;
/// After this many errors in one file the parser stops: the rest would be noise, and hostile
/// input could otherwise produce millions of diagnostics.
inline constexpr std::size_t kMaxErrorsPerFile = 100;

/// Thrown by ParseState::error past kMaxErrorsPerFile; the driver stops parsing the file.
struct StopParsing {};

inline bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }
inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }
inline bool is_space(char c) { return is_blank(c) || c == '\n'; }

/// True for the words that can never be names (see the language reference).
bool is_reserved(std::string_view word);
/// The reserved words, in the order the reference lists them.
const std::vector<std::string>& reserved_words();

/// Skips whitespace and `#` comments.
const char* skip_space(const char* p, const char* end);
/// End of the identifier starting at `p` (p itself when there is none).
const char* scan_word(const char* p, const char* end);
/// True when the keyword `word` starts at `p` as a whole word.
bool keyword_at(const char* p, const char* end, std::string_view word);

/// Where an item keyword (`rule`, `plan`, `param`) starts a line at or after `from` and strictly
/// after `floor`; `end` when there is none. The parser resumes there after a syntax error.
const char* next_item_start(const char* base, const char* from, const char* floor, const char* end);

/// The state of one parse: where errors go, the nesting counters, and per-item bookkeeping.
struct ParseState {
  ParseState(diag::SourceFilePtr source_file, diag::DiagnosticSink& diagnostics, std::string_view text);

  diag::SourceFilePtr source;
  diag::DiagnosticSink* sink;
  const char* base;  // start of the text spans are measured from
  const char* end;
  int depth = 0;     // open brackets, calls, `not`, unary minus
  int folds = 0;     // operators folded into the chains being built
  std::size_t item_errors = 0;  // errors that make the current item unusable
  std::string item_kind;        // "rule", "plan", "param", "pack" while one is parsed
  std::string item_name;
  diag::Span item_name_span;
  bool item_name_known = false;

  [[nodiscard]] diag::Span span(const char* begin, const char* stop) const {
    return {static_cast<std::uint32_t>(begin - base), static_cast<std::uint32_t>(stop - base)};
  }
  [[nodiscard]] std::string_view slice(diag::Span s) const {
    return {base + s.begin, static_cast<std::size_t>(s.end - s.begin)};
  }
  /// Reports an error once per (code, place): backtracking may lex a token twice. `drops_item`
  /// errors make the item being parsed unusable. Returns a scratch diagnostic for duplicates.
  /// Throws StopParsing (after saying so) once the file has too many errors.
  diag::Diagnostic& error(diag::Code code, diag::Span at, std::string message, bool drops_item = true);
  /// True when an error already points at this byte (a syntax error there would be a cascade).
  [[nodiscard]] bool has_error_at(std::uint32_t offset) const { return error_places_.count(offset) != 0; }

 private:
  std::size_t errors_ = 0;
  std::unordered_set<std::uint64_t> reported_;
  std::unordered_set<std::uint32_t> error_places_;
  diag::Diagnostic scratch_;
};

/// Reports the first invalid UTF-8 byte and the first NUL byte (DSL1012). Returns false when the
/// text is UTF-16, which is not worth parsing.
bool check_encoding(ParseState& state);

// ---- lexemes -----------------------------------------------------------------------------------

/// A number, percent, duration, date or timestamp at `p` (which must be a digit). Reports
/// malformed literals (90days, 3mo, 1e3, 2026-02-30, a timestamp without Z, 400 digits) and still
/// returns a literal spanning the bad text, so parsing goes on without a cascade.
ast::Expr lex_scalar(ParseState& state, const char*& p, const char* end);

/// A quoted string at `p` (a `"` or `'`): escapes decoded. An unterminated string ends at the end
/// of its line (reported); a bad escape is reported and kept as written.
struct StringToken {
  diag::Span span;  // including the quotes
  std::string value;
};
StringToken lex_string(ParseState& state, const char*& p, const char* end);

/// A message or remedy string split into literal text and `{expr}` slices (not yet parsed).
struct RawPiece {
  bool is_expr = false;
  std::string text;                 // decoded, when !is_expr
  const char* begin = nullptr;      // the slice inside the braces, when is_expr
  const char* stop = nullptr;
  bool broken = false;              // an error was reported for it: don't parse the slice
};
struct RawTemplate {
  diag::Span span;
  std::vector<RawPiece> pieces;
};
RawTemplate lex_template(ParseState& state, const char*& p, const char* end);

/// A name: an identifier or a backquoted word. `reserved` is set when it is a reserved word
/// written without backquotes. Returns false (p unchanged) when there is no name at p.
struct NameToken {
  ast::Identifier id;
  bool reserved = false;
};
bool lex_name(ParseState& state, const char*& p, const char* end, NameToken& out);

// ---- error wording -----------------------------------------------------------------------------

/// The token an error points at, for "found `x`".
struct FoundToken {
  diag::Span span;
  std::string shown;   // "`when`", "the end of the file", "quoted text \"abc\""
  std::string word;    // the identifier when the token is one
  char first = '\0';
};
FoundToken found_token(const ParseState& state, const char* p, const char* limit);

/// The end of the last token before `p` (skipping whitespace and comments back), not before `floor`.
const char* previous_token_end(const ParseState& state, const char* p, const char* floor);

/// Reports "expected <what>, found <token>" at the token after `where` (bounded by `limit`), with
/// the hints that fit (did you mean, lower-case keywords, quotes, commas...). `context` prefixes
/// the message for errors inside `{…}`.
void report_expected(ParseState& state, const char* where, const char* limit, std::string_view expected,
                     diag::Code code = diag::Code::SyntaxError, std::string_view context = {});

/// Reports DSL1011 at `where`.
void report_too_deep(ParseState& state, const char* where, const char* limit, bool chain);

/// Names of the expectations the driver treats specially.
inline constexpr const char* kExpectEnd = "`end` to close the item";
inline constexpr const char* kExpectItem = "`rule`, `plan` or `param`";

}  // namespace rapport::dsl::detail
