#include "dsl/lexer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "diag/suggest.hpp"
#include "model/time.hpp"

namespace rapport::dsl::detail {

namespace {

using diag::Code;
using diag::Span;

constexpr double kHour = 3600.0;
constexpr double kDay = 86400.0;
constexpr double kWeek = 7 * 86400.0;
constexpr std::size_t kMaxIntegerDigits = 15;  // doubles hold every integer up to 9.0e15 exactly
constexpr std::size_t kShownCodePoints = 32;

const char* line_end(const char* p, const char* end) {
  const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
  return nl ? static_cast<const char*>(nl) : end;
}

/// The end of a line without its `\r`.
const char* trimmed_line_end(const char* p, const char* end) {
  const char* e = line_end(p, end);
  while (e > p && e[-1] == '\r') --e;
  return e;
}

std::size_t utf8_length(const char* p, const char* end) {
  auto c = static_cast<unsigned char>(*p);
  std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  if (p + length > end) return 1;
  for (std::size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(p[k]) & 0xC0) != 0x80) return 1;
  }
  return length;
}

/// At most kShownCodePoints code points of a token, for messages.
std::string shorten(std::string_view text) {
  std::size_t count = 0;
  std::size_t i = 0;
  while (i < text.size() && count < kShownCodePoints) {
    i += utf8_length(text.data() + i, text.data() + text.size());
    ++count;
  }
  if (i >= text.size()) return std::string(text);
  return std::string(text.substr(0, i)) + "…";
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string format_integer(double value) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, static_cast<long long>(value));
  return std::string(buffer, result.ptr);
}

bool is_whole(double value) { return std::isfinite(value) && std::floor(value) == value && std::fabs(value) < 1e15; }

/// `129600` seconds -> "36h"; empty when it is not a whole number of hours.
std::string duration_spelling(double seconds) {
  if (!is_whole(seconds / kHour)) return {};
  if (is_whole(seconds / kWeek) && seconds >= kWeek) return format_integer(seconds / kWeek) + "w";
  if (is_whole(seconds / kDay)) return format_integer(seconds / kDay) + "d";
  return format_integer(seconds / kHour) + "h";
}

const char* const kMonthNames[] = {"January", "February", "March",     "April",   "May",      "June",
                                   "July",    "August",   "September", "October", "November", "December"};

unsigned to_unsigned(std::string_view digits) {
  unsigned value = 0;
  for (char c : digits) {
    if (value > 100000) break;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

std::string pad2(std::string_view digits) {
  std::string out(digits);
  while (out.size() < 2) out.insert(out.begin(), '0');
  return out;
}

enum class Unit { None, Hours, Days, Weeks, Months, Years, Minutes, Seconds };

Unit classify_unit(std::string_view word) {
  std::string w = lower(word);
  static const std::array<std::pair<const char*, Unit>, 34> kUnits{{
      {"h", Unit::Hours},      {"hr", Unit::Hours},      {"hrs", Unit::Hours},       {"hour", Unit::Hours},
      {"hours", Unit::Hours},  {"d", Unit::Days},        {"day", Unit::Days},        {"days", Unit::Days},
      {"w", Unit::Weeks},      {"wk", Unit::Weeks},      {"wks", Unit::Weeks},       {"week", Unit::Weeks},
      {"weeks", Unit::Weeks},  {"m", Unit::Months},      {"mo", Unit::Months},       {"mos", Unit::Months},
      {"mon", Unit::Months},   {"month", Unit::Months},  {"months", Unit::Months},   {"mth", Unit::Months},
      {"y", Unit::Years},      {"yr", Unit::Years},      {"yrs", Unit::Years},       {"year", Unit::Years},
      {"years", Unit::Years},  {"min", Unit::Minutes},   {"mins", Unit::Minutes},    {"minute", Unit::Minutes},
      {"minutes", Unit::Minutes}, {"s", Unit::Seconds},  {"sec", Unit::Seconds},     {"secs", Unit::Seconds},
      {"second", Unit::Seconds},  {"seconds", Unit::Seconds},
  }};
  for (const auto& [name, unit] : kUnits) {
    if (w == name) return unit;
  }
  return Unit::None;
}

ast::Expr make_literal(ast::ExprKind kind, Span span, double value, std::string_view text) {
  ast::Expr e;
  e.kind = kind;
  e.span = span;
  e.op_span = span;
  e.number = value;
  e.text = std::string(text);
  return e;
}

/// Reports a bad duration unit after the number `amount` (spelled `number_text`).
void report_unit(ParseState& st, Span at, std::string_view written, std::string_view number_text, double amount,
                 Unit unit, bool spaced) {
  std::string n(number_text);
  std::string shown = "`" + shorten(written) + "`";
  switch (unit) {
    case Unit::Hours:
    case Unit::Days:
    case Unit::Weeks: {
      char letter = unit == Unit::Hours ? 'h' : unit == Unit::Days ? 'd' : 'w';
      std::string message = spaced ? shown + " is not a duration: write it without a space"
                                   : shown + " is not a duration";
      st.error(Code::BadDuration, at, message).help("write " + n + letter);
      return;
    }
    case Unit::Months:
      if (written.substr(written.find_last_of("0123456789 \t") + 1) == "m") {  // minutes or months? guess neither
        st.error(Code::BadDuration, at, shown + " is not a duration: `m` could mean minutes or months")
            .help("durations use h, d or w: write " + format_integer(amount * 30) + "d for " + n +
                  " months, or hours for minutes (2h = 120 minutes)");
        return;
      }
      st.error(Code::BadDuration, at, shown + " is not a duration: months have no fixed length")
          .help("use " + format_integer(amount * 30) + "d; months have no fixed length");
      return;
    case Unit::Years:
      st.error(Code::BadDuration, at, shown + " is not a duration: years have no fixed length")
          .help("use " + format_integer(amount * 365) + "d; years have no fixed length");
      return;
    case Unit::Minutes:
    case Unit::Seconds: {
      double seconds = amount * (unit == Unit::Minutes ? 60.0 : 1.0);
      auto& d = st.error(Code::BadDuration, at,
                         shown + " is not a duration: durations are counted in hours (h), days (d) or weeks (w)");
      std::string spelled = duration_spelling(seconds);
      if (!spelled.empty()) d.help("write " + spelled);
      else d.help("round it to whole hours, such as 1h");
      return;
    }
    case Unit::None: break;
  }
}

void report_bad_date(ParseState& st, Span at, std::string_view shown, unsigned year, unsigned month, unsigned day) {
  std::string text = "`" + shorten(shown) + "` is not a date on the calendar";
  if (month < 1 || month > 12) {
    st.error(Code::BadDateLiteral, at, text).help("months run from 01 to 12");
    return;
  }
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  unsigned limit = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  if (day < 1 || day > limit) {
    st.error(Code::BadDateLiteral, at, text)
        .help(std::string(kMonthNames[month - 1]) + " " + std::to_string(year) + " has " + std::to_string(limit) +
              " days");
    return;
  }
  st.error(Code::BadDateLiteral, at, text).help("write dates as YYYY-MM-DD, such as 2026-03-01");
}

/// A date `dddd-d?d-d?d` whose parts are [s,s+4) [m,me) [d,de), optionally a timestamp.
ast::Expr lex_date(ParseState& st, const char*& p, const char* end, const char* m, const char* me, const char* d,
                   const char* de) {
  const char* s = p;
  const char* q = de;
  unsigned year = to_unsigned({s, 4});
  unsigned month = to_unsigned({m, static_cast<std::size_t>(me - m)});
  unsigned day = to_unsigned({d, static_cast<std::size_t>(de - d)});
  bool shape_ok = me - m == 2 && de - d == 2;
  std::string canonical = std::string(s, 4) + "-" + pad2({m, static_cast<std::size_t>(me - m)}) + "-" +
                          pad2({d, static_cast<std::size_t>(de - d)});
  bool date_ok = me - m <= 2 && de - d <= 2 && model::parse_date(canonical).has_value();

  if (q + 1 < end && *q == 'T' && is_digit(q[1])) {
    const char* t = q + 1;
    const char* te = t;
    while (te < end && (is_digit(*te) || *te == ':' || *te == '.')) ++te;
    enum class Zone { None, Utc, Offset } zone = Zone::None;
    const char* z = te;
    double offset_seconds = 0;
    if (z < end && *z == 'Z') {
      zone = Zone::Utc;
      ++z;
    } else if (z + 1 < end && (*z == '+' || *z == '-') && is_digit(z[1])) {
      zone = Zone::Offset;
      const char* o = z + 1;
      const char* oe = o;
      while (oe < end && (is_digit(*oe) || *oe == ':')) ++oe;
      std::string digits;
      for (const char* c = o; c < oe; ++c) {
        if (is_digit(*c)) digits += *c;
      }
      unsigned hh = digits.size() >= 2 ? to_unsigned(std::string_view(digits).substr(0, 2)) : to_unsigned(digits);
      unsigned mm = digits.size() >= 4 ? to_unsigned(std::string_view(digits).substr(2, 2)) : 0;
      offset_seconds = (*z == '-' ? -1.0 : 1.0) * (hh * 3600.0 + mm * 60.0);
      z = oe;
    }
    bool trailing = z < end && is_ident_char(*z);
    if (trailing) z = scan_word(z, end);
    p = z;
    Span at = st.span(s, z);
    std::string_view written(s, static_cast<std::size_t>(z - s));
    std::string local = canonical + "T" + std::string(t, te) + "Z";
    auto value = model::parse_timestamp(local);
    ast::Expr literal = make_literal(ast::ExprKind::Timestamp, at, value.value_or(0), written);
    if (!shape_ok || !date_ok) {
      if (date_ok) {
        st.error(Code::BadDateLiteral, at, "write dates as YYYY-MM-DD").help("write " + canonical);
      } else {
        report_bad_date(st, at, written, year, month, day);
      }
    } else if (!value || trailing) {
      st.error(Code::BadDateLiteral, at, "`" + shorten(written) + "` is not a valid timestamp")
          .help("write hours 00-23 and minutes 00-59, as in " + canonical + "T09:30:00Z");
    } else if (zone == Zone::None) {
      st.error(Code::TimestampNotUtc, at, "timestamps must be in UTC and end with Z").help("write " + local);
    } else if (zone == Zone::Offset) {
      auto& diagnostic = st.error(Code::TimestampNotUtc, at, "timestamps must be in UTC and end with Z");
      if (offset_seconds == 0) {
        diagnostic.help("write " + local);
      } else {
        diagnostic.help("write " + model::format_timestamp(*value - offset_seconds) + " (the same moment in UTC)");
      }
    }
    return literal;
  }

  bool trailing = q < end && is_ident_char(*q);
  if (trailing) q = scan_word(q, end);
  p = q;
  Span at = st.span(s, q);
  std::string_view written(s, static_cast<std::size_t>(q - s));
  auto value = date_ok ? model::parse_date(canonical) : std::nullopt;
  ast::Expr literal = make_literal(ast::ExprKind::Date, at, value.value_or(0), written);
  if (!date_ok) {
    report_bad_date(st, at, written, year, month, day);
  } else if (!shape_ok) {
    st.error(Code::BadDateLiteral, at, "write dates as YYYY-MM-DD").help("write " + canonical);
  } else if (trailing) {
    st.error(Code::BadDateLiteral, at, "`" + shorten(written) + "` is not a date")
        .help("write dates as YYYY-MM-DD and timestamps as " + canonical + "T09:30:00Z");
  }
  return literal;
}

double to_double(std::string_view digits) {
  double value = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), value, std::chars_format::fixed);
  return value;
}

/// The first `#` that starts a comment in [line, stop), or nullptr.
const char* comment_start(const char* line, const char* stop) {
  char quote = 0;
  for (const char* c = line; c < stop; ++c) {
    if (quote) {
      if (*c == '\\' && quote != '`') ++c;
      else if (*c == quote) quote = 0;
    } else if (*c == '"' || *c == '\'' || *c == '`') {
      quote = *c;
    } else if (*c == '#') {
      return c;
    }
  }
  return nullptr;
}

const std::vector<std::string>& clause_keywords() {
  static const std::vector<std::string> kWords{
      "pack",     "param",  "rule",    "plan",    "end",      "for",       "each",       "in",
      "let",      "when",   "where",   "of",      "as",       "and",       "or",         "not",
      "has",      "is",     "within",  "escalate", "true",    "false",     "now",        "today",
      "version",  "title",  "description", "rationale", "severity", "tags", "enabled",   "message",
      "remedy",   "assign", "to",      "by",      "keep",     "limit",     "prefer",     "move",
      "first",    "overflow", "ascending", "descending", "any", "all",     "missing",    "last",
      "next"};
  return kWords;
}

/// A rule's clauses in the order they must be written; -1 for words that are not clause heads.
int rule_clause_rank(std::string_view word) {
  if (word == "title" || word == "rationale" || word == "severity" || word == "tags" || word == "enabled") return 0;
  if (word == "for") return 1;
  if (word == "let") return 2;
  if (word == "when") return 3;
  if (word == "escalate") return 4;
  if (word == "message" || word == "remedy") return 5;
  return -1;
}

int plan_clause_rank(std::string_view word) {
  if (word == "title" || word == "rationale" || word == "severity" || word == "tags" || word == "enabled") return 0;
  if (word == "assign") return 1;
  if (word == "keep" || word == "limit" || word == "prefer" || word == "move" || word == "overflow") return 4;
  if (word == "message" || word == "remedy") return 5;
  return -1;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }
bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

/// Keywords the parser could have accepted where `expected` was wanted, for "did you mean".
std::vector<std::string> candidates_for(std::string_view expected, std::string_view item_kind) {
  if (expected == kExpectItem) return {"rule", "plan", "param", "pack", "version", "title", "description"};
  if (starts_with(expected, "`for each`")) return {"for", "title", "rationale", "severity", "tags", "enabled"};
  if (starts_with(expected, "`assign`")) return {"assign", "title", "rationale", "severity", "tags", "enabled"};
  if (starts_with(expected, "`let` or `when`")) return {"let", "when"};
  if (starts_with(expected, "`message` or `remedy`")) return {"message", "remedy", "escalate"};
  if (starts_with(expected, "a plan clause")) return {"keep", "limit", "prefer", "move", "overflow", "message", "remedy"};
  if (starts_with(expected, "`end`")) {
    if (item_kind == "plan") return {"end", "message", "remedy"};
    return {"end", "message", "remedy", "escalate"};
  }
  if (starts_with(expected, "`each`")) return {"each"};
  if (starts_with(expected, "`in` ")) return {"in"};
  if (starts_with(expected, "`to` ") || starts_with(expected, "`to`")) return {"to"};
  if (starts_with(expected, "`when` ")) return {"when"};
  if (starts_with(expected, "`first` ")) return {"first"};
  if (starts_with(expected, "`by` ")) return {"by"};
  if (starts_with(expected, "`missing`")) return {"missing", "not"};
  if (starts_with(expected, "`last`")) return {"last", "next"};
  if (starts_with(expected, "`true`")) return {"true", "false"};
  return {};
}

/// The character after a word, skipping blanks on the same line.
char char_after(const char* p, const char* end) {
  while (p < end && is_blank(*p)) ++p;
  return p < end ? *p : '\0';
}

/// True when the token at `offset` is on the same line as the token before it.
bool follows_on_same_line(const ParseState& st, std::uint32_t offset) {
  const char* p = st.base + offset;
  while (p > st.base && is_blank(p[-1])) --p;
  return p > st.base && p[-1] != '\n';
}

void add_hints(ParseState& st, diag::Diagnostic& d, std::string_view expected, const FoundToken& found,
               const char* token_end) {
  const std::string& word = found.word;
  const bool quote = found.first == '"' || found.first == '\'';
  bool suggested = false;

  if (!word.empty()) {
    std::string low = lower(word);
    const auto& keywords = clause_keywords();
    bool is_keyword = std::find(keywords.begin(), keywords.end(), word) != keywords.end();
    auto candidates = candidates_for(expected, st.item_kind);
    if (!is_keyword && low != word && std::find(keywords.begin(), keywords.end(), low) != keywords.end()) {
      d.help("keywords are written in lower case: `" + low + "`");
      suggested = true;
    } else if (!is_keyword && !candidates.empty()) {
      if (auto guess = diag::closest(word, candidates)) {
        d.help("did you mean `" + *guess + "`?");
        suggested = true;
      }
    }
    int rank = st.item_kind == "plan" ? plan_clause_rank(word) : rule_clause_rank(word);
    bool clause_position = starts_with(expected, "`end`") || starts_with(expected, "`message` or") ||
                           starts_with(expected, "`let` or") || starts_with(expected, "a plan clause");
    if (rank >= 0 && clause_position && (st.item_kind == "rule" || st.item_kind == "plan")) {
      suggested = true;
      if (st.item_kind == "plan") {
        d.help("a plan is written in this order: attributes, assign, to, by, keep/limit/prefer/move first "
               "by/overflow to, message and remedy, end");
      } else {
        d.help("a rule is written in this order: attributes, for each, let, when, escalate, message and remedy, end");
      }
    }
    if (is_reserved(word) && word != "true" && word != "false" && word != "now" && word != "today" &&
        word != "not" && (contains(expected, "name") || contains(expected, "expression") ||
                          contains(expected, "condition") || contains(expected, "entity"))) {
      char next = char_after(token_end, st.end);
      if (next != '\0' && std::strchr(".=<>!+-*/([", next) != nullptr) {
        d.code = Code::ReservedWord;
        d.message = "`" + word + "` is a reserved word and can't be used as a name";
        d.help("to use it as a name anyway, put backquotes around it: `" + word + "`");
        suggested = true;
      }
    }
    if (expected == kExpectItem && word == "end") d.help("this `end` doesn't close a rule or plan; remove it");
    if (starts_with(expected, "quoted key")) d.help("put the key in quotes: \"" + word + "\"");
    if (starts_with(expected, "`let` or `when`") && !suggested) {
      d.help("a rule needs `when <condition>` after its `let` lines");
    }
  }

  if (quote) {
    if (starts_with(expected, "`}` to close")) {
      if (char_after(token_end, st.end) == ':') d.help("separate the entries with commas");
      else d.help("close the key map with `}` before the description");
    }
    else if (starts_with(expected, "`)` to close") || starts_with(expected, "`]` to close"))
      d.help("separate the items with commas");
    else if (contains(expected, "name") || contains(expected, "severity") || contains(expected, "entity"))
      d.help("write names without quotes");
    else if (starts_with(expected, "`message` or `remedy`")) d.help("start the text with `message` or `remedy`");
  } else if (static_cast<unsigned char>(found.first) >= 0x80 && found.span.begin > 0 &&
             is_ident_char(st.base[found.span.begin - 1]) && found.shown.rfind("an invalid byte", 0) != 0) {
    const char* word_begin = st.base + found.span.begin;
    while (word_begin > st.base && is_ident_char(word_begin[-1])) --word_begin;
    const char* word_end = st.base + found.span.begin;
    while (word_end < st.end && (is_ident_char(*word_end) || static_cast<unsigned char>(*word_end) >= 0x80)) ++word_end;
    std::string name = shorten({word_begin, static_cast<std::size_t>(word_end - word_begin)});
    d.message = "`" + name + "` can't be a name: names use only the letters a-z and A-Z, digits and `_`";
    d.span = st.span(word_begin, word_end);
    d.help("to use it anyway, put backquotes around it: `" + name + "`");
  } else if (found.first == '%') {
    d.help("write the percent sign right after the number, as in 10%");
  } else if (found.first == '/' && contains(expected, "after `/`")) {
    d.help("comments start with `#`");
  } else if ((is_digit(found.first) || !word.empty()) &&
             (starts_with(expected, "`)` to close") || starts_with(expected, "`]` to close")) &&
             follows_on_same_line(st, found.span.begin) && !is_reserved(word)) {
    d.help("separate the items with commas");
  }

  if (contains(expected, "quoted text") && !quote) d.help("put the text in quotes: \"...\"");
  if (starts_with(expected, "`:` and a type") || starts_with(expected, "`=` and a default")) {
    d.help("write `param <name> : <type> = <value>`, such as `param dunbar_limit : count = 150`");
  }
  if (starts_with(expected, "`=` after the name")) d.help("write `let <name> = <expression>`");
  if (starts_with(expected, "`each` after `for`") || starts_with(expected, "`in` after `for each") ||
      starts_with(expected, "name after `for each`")) {
    d.help("write `for each <name> in <entity>`, such as `for each account in accounts`");
  }
  if (starts_with(expected, "`for each`") && (word == "let" || word == "when")) {
    d.help("every rule first says what it checks: `for each <name> in <entity>`");
  }
  if (starts_with(expected, "`to` after `escalate`") || starts_with(expected, "severity after `escalate") ||
      starts_with(expected, "`when` after the severity")) {
    d.help("write `escalate to <severity> when <condition>`, such as `escalate to critical when rate > 0.5`");
  }
  if (starts_with(expected, "`missing` or `not missing`") || starts_with(expected, "`missing` after")) {
    d.help("write `is missing` or `is not missing`");
  }
  if (starts_with(expected, "`last` or `next`")) {
    d.help("write `within last <duration>` or `within next <duration>`, such as `within last 90d`");
  }
  if (starts_with(expected, "`to` after the `assign`") || starts_with(expected, "`by` and the field") ||
      starts_with(expected, "`assign`")) {
    d.help("a plan reads `assign <rows> to <candidates> by <field>`, such as "
           "`assign accounts as account to users as manager by account.owner_id`");
  }
}

}  // namespace

// ---- words -------------------------------------------------------------------------------------

const std::vector<std::string>& reserved_words() {
  static const std::vector<std::string> kReserved{
      "pack", "param", "rule", "plan", "end", "for", "each", "in", "let", "when", "where", "of",
      "as",   "and",   "or",   "not",  "has", "is",  "within", "escalate", "true", "false", "now", "today"};
  return kReserved;
}

bool is_reserved(std::string_view word) {
  if (word.size() < 2 || word.size() > 8) return false;
  const auto& words = reserved_words();
  return std::find(words.begin(), words.end(), word) != words.end();
}

const char* skip_space(const char* p, const char* end) {
  while (p < end) {
    char c = *p;
    if (is_space(c)) {
      ++p;
    } else if (c == '#') {
      p = line_end(p, end);
    } else {
      break;
    }
  }
  return p;
}

const char* scan_word(const char* p, const char* end) {
  if (p >= end || !is_ident_start(*p)) return p;
  ++p;
  while (p < end && is_ident_char(*p)) ++p;
  return p;
}

bool keyword_at(const char* p, const char* end, std::string_view word) {
  auto length = static_cast<std::size_t>(end - p);
  if (length < word.size() || *p != word[0] || std::memcmp(p, word.data(), word.size()) != 0) return false;
  return length == word.size() || !is_ident_char(p[word.size()]);
}

const char* next_item_start(const char* base, const char* from, const char* floor, const char* end) {
  const char* line = from;
  while (line > base && line[-1] != '\n') --line;
  while (line < end) {
    const char* q = line;
    while (q < end && is_blank(*q)) ++q;
    if (q >= from && q > floor &&
        (keyword_at(q, end, "rule") || keyword_at(q, end, "plan") || keyword_at(q, end, "param"))) {
      return q;
    }
    const char* nl = line_end(q, end);
    if (nl >= end) return end;
    line = nl + 1;
  }
  return end;
}

// ---- state -------------------------------------------------------------------------------------

ParseState::ParseState(diag::SourceFilePtr source_file, diag::DiagnosticSink& diagnostics, std::string_view text)
    : source(std::move(source_file)), sink(&diagnostics), base(text.data()), end(text.data() + text.size()) {}

diag::Diagnostic& ParseState::error(Code code, Span at, std::string message, bool drops_item) {
  if (drops_item) ++item_errors;
  std::uint64_t key = (static_cast<std::uint64_t>(code) << 32) | at.begin;
  if (reported_.count(key) != 0) {
    scratch_ = diag::Diagnostic{};
    return scratch_;
  }
  if (++errors_ > kMaxErrorsPerFile) {
    sink->error(Code::SyntaxError, source, at,
                "too many errors in this file (more than " + std::to_string(kMaxErrorsPerFile) +
                    "); the parser stopped here")
        .help("fix the errors above and run again");
    throw StopParsing{};
  }
  if (sink->dropped() == 0) {  // past the sink's limit nothing is kept, so nothing needs remembering
    reported_.insert(key);
    error_places_.insert(at.begin);
  }
  return sink->error(code, source, at, std::move(message));
}

bool check_encoding(ParseState& st) {
  std::string_view text(st.base, static_cast<std::size_t>(st.end - st.base));
  if (text.size() >= 2 && ((text[0] == '\xFF' && text[1] == '\xFE') || (text[0] == '\xFE' && text[1] == '\xFF'))) {
    st.error(Code::InvalidUtf8, {0, 2}, "this file is UTF-16; rule files must be UTF-8")
        .help("save the file as UTF-8");
    return false;
  }
  bool bad_reported = false;
  bool nul_reported = false;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n && !(bad_reported && nul_reported)) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == 0 && !nul_reported) {
        nul_reported = true;
        st.error(Code::InvalidUtf8, {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i + 1)},
                 "the file contains a NUL byte")
            .help("a rule file is plain UTF-8 text; was it saved as UTF-16 or as a binary file?");
      }
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
      code_point = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      code_point = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      code_point = c & 0x07;
    }
    bool ok = length != 0 && i + length <= n;
    for (std::size_t k = 1; ok && k < length; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      code_point = (code_point << 6) | (cc & 0x3F);
    }
    if (ok && length == 3 && (code_point < 0x800 || (code_point >= 0xD800 && code_point <= 0xDFFF))) ok = false;
    if (ok && length == 4 && (code_point < 0x10000 || code_point > 0x10FFFF)) ok = false;
    if (!ok) {
      if (!bad_reported) {
        bad_reported = true;
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", c);
        st.error(Code::InvalidUtf8, {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i + 1)},
                 std::string("the file is not valid UTF-8: byte ") + hex + " can't start a character here")
            .help("save the file as UTF-8 (files saved as Latin-1 or Windows-1252 must be converted)");
      }
      ++i;
      continue;
    }
    i += length;
  }
  return true;
}

// ---- lexemes -----------------------------------------------------------------------------------

ast::Expr lex_scalar(ParseState& st, const char*& p, const char* end) {
  const char* s = p;
  const char* q = p;
  while (q < end && is_digit(*q)) ++q;
  auto integer_digits = static_cast<std::size_t>(q - s);

  // A date: four digits, a dash, digits, a dash, digits, with no spaces (2026-3-1 is rejected, not subtracted).
  if (integer_digits == 4 && q + 1 < end && *q == '-' && is_digit(q[1])) {
    const char* m = q + 1;
    const char* me = m;
    while (me < end && is_digit(*me)) ++me;
    if (me + 1 < end && *me == '-' && is_digit(me[1])) {
      const char* d = me + 1;
      const char* de = d;
      while (de < end && is_digit(*de)) ++de;
      return lex_date(st, p, end, m, me, d, de);
    }
  }

  bool fraction = false;
  if (q + 1 < end && *q == '.' && is_digit(q[1])) {
    fraction = true;
    ++q;
    while (q < end && is_digit(*q)) ++q;
  }
  std::string_view number_text(s, static_cast<std::size_t>(q - s));
  bool too_large = integer_digits > kMaxIntegerDigits;
  double value = too_large ? 0 : to_double(number_text);

  auto report_too_large = [&](Span at) {
    st.error(Code::BadNumber, at, "number is too large")
        .help("numbers can have at most 15 digits before the decimal point");
  };

  if (q < end && *q == '%') {
    ++q;
    p = q;
    Span at = st.span(s, q);
    if (too_large) report_too_large(at);
    return make_literal(ast::ExprKind::Percent, at, value / 100.0, {s, static_cast<std::size_t>(q - s)});
  }

  if (q < end && is_ident_start(*q)) {
    const char* w = q;
    const char* we = scan_word(q, end);
    std::string_view unit(w, static_cast<std::size_t>(we - w));
    bool exponent = false;
    if (unit[0] == 'e' || unit[0] == 'E') {
      if (unit.size() > 1 && std::all_of(unit.begin() + 1, unit.end(), is_digit)) {
        exponent = true;
      } else if (unit.size() == 1 && we + 1 < end && (*we == '+' || *we == '-') && is_digit(we[1])) {
        exponent = true;
        ++we;
        while (we < end && is_digit(*we)) ++we;
      }
    }
    p = we;
    Span at = st.span(s, we);
    std::string_view written(s, static_cast<std::size_t>(we - s));
    if (too_large) {
      report_too_large(at);
      return make_literal(ast::ExprKind::Number, at, 0, written);
    }
    if (exponent) {
      const char* digits = w + 1;
      int sign = 1;
      if (*digits == '+' || *digits == '-') {
        sign = *digits == '-' ? -1 : 1;
        ++digits;
      }
      int power = static_cast<int>(std::min<unsigned>(to_unsigned({digits, static_cast<std::size_t>(we - digits)}), 400));
      double full = value * std::pow(10.0, sign * power);
      auto& d = st.error(Code::BadNumber, at, "`" + shorten(written) + "` uses an exponent; numbers are written out in full");
      if (is_whole(full)) d.help("write " + format_integer(full));
      else d.help("write the number out in full, without `e`");
      return make_literal(ast::ExprKind::Number, at, full, written);
    }
    if (unit == "h" || unit == "d" || unit == "w") {
      double seconds = value * (unit == "h" ? kHour : unit == "d" ? kDay : kWeek);
      if (fraction) {
        auto& d = st.error(Code::BadDuration, at,
                           "`" + std::string(written) + "` is not a duration: durations are whole hours, days or weeks");
        std::string spelled = duration_spelling(seconds);
        if (!spelled.empty()) d.help("write " + spelled);
      }
      return make_literal(ast::ExprKind::Duration, at, seconds, written);
    }
    Unit kind = classify_unit(unit);
    if (kind != Unit::None) {
      report_unit(st, at, written, number_text, value, kind, false);
      return make_literal(ast::ExprKind::Duration, at, 0, written);
    }
    st.error(Code::BadNumber, at, "`" + shorten(written) + "` is not a number, and a name can't start with a digit");
    return make_literal(ast::ExprKind::Number, at, value, written);
  }

  // A plain number. `90 d`, `3 months` and `10 %` are mistakes with an obvious fix.
  p = q;
  Span at = st.span(s, q);
  if (too_large) report_too_large(at);
  const char* a = q;
  while (a < end && (*a == ' ' || *a == '\t')) ++a;
  if (a > q && a < end && is_ident_start(*a)) {
    const char* we = scan_word(a, end);
    Unit kind = classify_unit({a, static_cast<std::size_t>(we - a)});
    if (kind != Unit::None && !fraction) {
      p = we;
      Span whole = st.span(s, we);
      report_unit(st, whole, {s, static_cast<std::size_t>(we - s)}, number_text, value, kind, true);
      return make_literal(ast::ExprKind::Duration, whole, 0, {s, static_cast<std::size_t>(we - s)});
    }
  } else if (a > q && a < end && *a == '%') {
    p = a + 1;
    Span whole = st.span(s, a + 1);
    st.error(Code::BadNumber, whole, "a percent is written without a space before `%`")
        .help("write " + std::string(number_text) + "%");
    return make_literal(ast::ExprKind::Percent, whole, value / 100.0, {s, static_cast<std::size_t>(a + 1 - s)});
  }
  return make_literal(ast::ExprKind::Number, at, value, number_text);
}

namespace {

void report_unterminated(ParseState& st, const char* open, const char* p, const char* end) {
  const char* stop = trimmed_line_end(p < end ? p : end, end);
  if (stop < p) stop = p;
  std::string quote(1, *open);
  st.error(Code::UnterminatedString, st.span(open, std::max(stop, open + 1)),
           "quoted text is not closed on this line")
      .help("end it with " + quote + " before the end of the line; quoted text can't continue on the next line");
}

/// Decodes the escape at p (a backslash) into `out`; reports unknown ones. Returns false when the
/// backslash ends the line (the string is unterminated).
bool decode_escape(ParseState& st, const char*& p, const char* end, std::string& out) {
  if (p + 1 >= end || p[1] == '\n' || p[1] == '\r') return false;
  char e = p[1];
  switch (e) {
    case '"': case '\'': case '\\': case '{': case '}': out += e; break;
    case 'n': out += '\n'; break;
    case 't': out += '\t'; break;
    default: {
      std::size_t length = utf8_length(p + 1, end);
      std::string written(p, 1 + length);
      st.error(Code::BadEscape, st.span(p, p + 1 + length), "unknown escape `" + written + "` in quoted text")
          .help("the escapes are \\\" \\' \\\\ \\n \\t \\{ \\}; write \\\\ for a backslash");
      out += written;
      p += 1 + length;
      return true;
    }
  }
  p += 2;
  return true;
}

}  // namespace

StringToken lex_string(ParseState& st, const char*& p, const char* end) {
  const char* open = p;
  char quote = *p++;
  StringToken token;
  while (true) {
    const char* run = p;
    while (p < end && *p != quote && *p != '\\' && *p != '\n') ++p;
    token.value.append(run, p);
    if (p >= end || *p == '\n') {
      report_unterminated(st, open, p, end);
      if (p > open + 1 && p[-1] == '\r') token.value.pop_back();
      p = trimmed_line_end(open, end);
      break;
    }
    if (*p == quote) {
      ++p;
      break;
    }
    if (!decode_escape(st, p, end, token.value)) {
      report_unterminated(st, open, p, end);
      p = trimmed_line_end(open, end);
      break;
    }
  }
  token.span = st.span(open, p);
  return token;
}

RawTemplate lex_template(ParseState& st, const char*& p, const char* end) {
  const char* open = p;
  const char quote = *p++;
  const char other = quote == '"' ? '\'' : '"';
  const std::string quote_hint = quote == '"' ? "use 'single quotes' inside \"…\"" : "use \"double quotes\" inside '…'";
  RawTemplate result;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) {
      RawPiece piece;
      piece.text = std::move(literal);
      result.pieces.push_back(std::move(piece));
      literal.clear();
    }
  };
  while (true) {
    if (p >= end || *p == '\n') {
      report_unterminated(st, open, p, end);
      p = trimmed_line_end(open, end);
      break;
    }
    char c = *p;
    if (c == quote) {
      ++p;
      break;
    }
    if (c == '\\') {
      if (!decode_escape(st, p, end, literal)) {
        report_unterminated(st, open, p, end);
        p = trimmed_line_end(open, end);
        break;
      }
      continue;
    }
    if (c == '}') {
      st.error(Code::InterpolationError, st.span(p, p + 1), "a `}` without a matching `{`")
          .help("write \\} for a literal brace");
      literal += '}';
      ++p;
      continue;
    }
    if (c != '{') {
      literal += c;
      ++p;
      continue;
    }
    flush();
    const char* brace = p++;
    const char* slice = p;
    bool broken = false;
    bool closed = false;
    while (p < end && *p != '\n') {
      c = *p;
      if (c == '}') {
        closed = true;
        break;
      }
      if (c == other) {  // a string inside the expression
        ++p;
        while (p < end && *p != '\n' && *p != other) p += (*p == '\\' && p + 1 < end && p[1] != '\n') ? 2 : 1;
        if (p < end && *p == other) ++p;
        continue;
      }
      if (c == quote) {
        // Either the text really ends here (the `{` is unclosed) or a nested quote of the same kind
        // was meant as a string inside the expression; the rest of the line tells them apart.
        const char* eol = line_end(p + 1, end);
        const char* close_brace = static_cast<const char*>(std::memchr(p + 1, '}', static_cast<std::size_t>(eol - p - 1)));
        const char* final_quote =
            close_brace ? static_cast<const char*>(std::memchr(close_brace + 1, quote, static_cast<std::size_t>(eol - close_brace - 1)))
                        : nullptr;
        if (close_brace && final_quote) {
          const char* nested_end = static_cast<const char*>(std::memchr(p + 1, quote, static_cast<std::size_t>(eol - p - 1)));
          const char* stop = nested_end ? nested_end + 1 : p + 1;
          st.error(Code::InterpolationError, st.span(p, stop),
                   std::string("a `") + quote + "` inside `{…}` ends the text early")
              .help(quote_hint);
          broken = true;
          p = stop;
          continue;
        }
        break;
      }
      if (c == '{') {  // the previous `{` was never closed; start over at this one
        st.error(Code::InterpolationError, st.span(brace, brace + 1), "this `{` is not closed")
            .help("close it with `}`, or write \\{ for a literal brace");
        brace = p++;
        slice = p;
        broken = false;
        continue;
      }
      if (c == '\\') {
        std::size_t length = (p + 1 < end && p[1] != '\n') ? 2 : 1;
        auto& d = st.error(Code::InterpolationError, st.span(p, p + length), "a backslash can't be used inside `{…}`");
        if (length == 2 && p[1] == quote) d.help(quote_hint);
        broken = true;
        p += length;
        continue;
      }
      ++p;
    }
    if (closed) {
      if (!broken && skip_space(slice, p) == p) {
        st.error(Code::InterpolationError, st.span(brace, p + 1), "empty `{}` in the text")
            .help("put a name or an expression inside, or write \\{\\} for literal braces");
        broken = true;
      }
      RawPiece piece;
      piece.is_expr = true;
      piece.begin = slice;
      piece.stop = p;
      piece.broken = broken;
      result.pieces.push_back(std::move(piece));
      ++p;
      continue;
    }
    if (p < end && *p == quote) {
      st.error(Code::InterpolationError, st.span(brace, brace + 1), "this `{` is not closed")
          .help("close it with `}`, or write \\{ for a literal brace");
      ++p;
      break;
    }
    report_unterminated(st, open, p, end);
    p = trimmed_line_end(open, end);
    break;
  }
  flush();
  result.span = st.span(open, p);
  return result;
}

bool lex_name(ParseState& st, const char*& p, const char* end, NameToken& out) {
  if (p < end && *p == '`') {
    const char* q = p + 1;
    while (q < end && *q != '`' && *q != '\n') ++q;
    if (q >= end || *q != '`') {
      const char* stop = trimmed_line_end(p, end);
      st.error(Code::SyntaxError, st.span(p, std::max(stop, p + 1)), "a backquoted name is not closed")
          .help("end it with ` on the same line");
      out.id = {st.span(p, stop), std::string(p + 1, stop)};
      out.reserved = false;
      p = stop;
      return true;
    }
    if (q == p + 1) {
      st.error(Code::SyntaxError, st.span(p, q + 1), "a backquoted name can't be empty");
    }
    out.id = {st.span(p, q + 1), std::string(p + 1, q)};
    out.reserved = false;
    p = q + 1;
    return true;
  }
  if (p < end && is_ident_start(*p)) {
    const char* q = scan_word(p, end);
    out.id = {st.span(p, q), std::string(p, q)};
    out.reserved = is_reserved(out.id.name);
    p = q;
    return true;
  }
  return false;
}

// ---- error wording -----------------------------------------------------------------------------

FoundToken found_token(const ParseState& st, const char* p, const char* limit) {
  FoundToken found;
  p = skip_space(p, limit);
  if (p >= limit) {
    if (limit < st.end && *limit == '}') {
      found.span = st.span(limit, limit + 1);
      found.shown = "`}`";
      found.first = '}';
    } else {
      found.span = st.span(limit, limit);
      found.shown = limit == st.end ? "the end of the file" : "the end of the text";
    }
    return found;
  }
  const char* q = p;
  char c = *p;
  found.first = c;
  if (is_ident_start(c)) {
    q = scan_word(p, limit);
    found.word.assign(p, q);
  } else if (is_digit(c)) {
    while (q < limit && (is_ident_char(*q) || *q == '.' || *q == '%' || *q == ':' ||
                         (*q == '-' && q + 1 < limit && is_digit(q[1])))) {
      ++q;
    }
  } else if (c == '"' || c == '\'' || c == '`') {
    q = p + 1;
    const char* stop = trimmed_line_end(p, limit);
    while (q < stop && *q != c) q += (*q == '\\' && c != '`' && q + 1 < stop) ? 2 : 1;
    if (q < stop) ++q;
    if (q > stop) q = stop;
    std::string_view text(p, static_cast<std::size_t>(q - p));
    found.span = st.span(p, q);
    found.shown = c == '`' ? "`" + shorten(text) + "`" : "quoted text " + shorten(text);
    return found;
  } else if (c == '\0') {
    found.span = st.span(p, p + 1);
    found.shown = "a NUL byte";
    return found;
  } else if (static_cast<unsigned char>(c) >= 0x80) {
    std::size_t length = utf8_length(p, limit);
    if (length == 1) {  // a lone lead or continuation byte: not a character
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(c));
      found.span = st.span(p, p + 1);
      found.shown = std::string("an invalid byte ") + hex;
      return found;
    }
    q = p + length;
  } else if (static_cast<unsigned char>(c) < 0x20) {
    found.span = st.span(p, p + 1);
    found.shown = "a control character";
    return found;
  } else {
    static const char* const kPairs[] = {"<=", ">=", "!=", "==", "=>", "=<", "<>", "&&", "||"};
    q = p + 1;
    for (const char* pair : kPairs) {
      if (limit - p >= 2 && p[0] == pair[0] && p[1] == pair[1]) {
        q = p + 2;
        break;
      }
    }
  }
  found.span = st.span(p, q);
  found.shown = "`" + shorten({p, static_cast<std::size_t>(q - p)}) + "`";
  return found;
}

const char* previous_token_end(const ParseState& st, const char* p, const char* floor) {
  while (true) {
    const char* q = p;
    while (q > floor && is_space(q[-1])) --q;
    if (q <= floor) return floor;
    const char* line = q - 1;
    while (line > st.base && line[-1] != '\n') --line;
    const char* comment = comment_start(line, q);
    if (!comment) return q;
    p = comment;
  }
}

void report_expected(ParseState& st, const char* where, const char* limit, std::string_view expected, Code code,
                     std::string_view context) {
  FoundToken found = found_token(st, where, limit);
  ++st.item_errors;
  if (st.has_error_at(found.span.begin)) return;  // a lexical error already explains this place
  bool closing = starts_with(expected, "`)` to close") || starts_with(expected, "`]` to close") ||
                 starts_with(expected, "`}` to close");
  bool operand = contains(expected, " after `");  // "condition after `when`", "`=` after the name in `let`"
  bool on_later_line = found.span.begin == found.span.end || !follows_on_same_line(st, found.span.begin);
  if ((closing || operand) && on_later_line) {
    // What is missing belongs at the end of the previous line: point there, not at the next line.
    const char* at = previous_token_end(st, st.base + found.span.begin, st.base);
    if (!st.has_error_at(static_cast<std::uint32_t>(at - st.base))) {
      auto& d = st.error(code, st.span(at, at), "expected " + std::string(expected) + std::string(context), false);
      if (closing) d.help("add " + std::string(expected.substr(0, 3)) + " at the end of this line");
      else add_hints(st, d, expected, FoundToken{}, at);
    }
    return;
  }
  std::string message = "expected " + std::string(expected) + std::string(context) + ", found " + found.shown;
  if (found.first == '\0' && found.shown == "a NUL byte") code = Code::InvalidUtf8;
  auto& d = st.error(code, found.span, std::move(message), false);
  const char* token_end = st.base + found.span.end;
  add_hints(st, d, expected, found, token_end);
  if (found.shown.rfind("an invalid byte", 0) == 0) d.help("save the file as UTF-8");
}

void report_too_deep(ParseState& st, const char* where, const char* limit, bool chain) {
  FoundToken found = found_token(st, where, limit);
  ++st.item_errors;
  if (chain) {
    st.error(Code::NestingTooDeep, found.span,
             "this expression is too long: more than " + std::to_string(kMaxChain) + " operators in a row", false)
        .help("split it into several `let` steps");
  } else {
    st.error(Code::NestingTooDeep, found.span,
             "this expression is nested too deeply: more than " + std::to_string(kMaxNesting) + " levels", false)
        .help("split it into several `let` steps");
  }
}

}  // namespace rapport::dsl::detail
