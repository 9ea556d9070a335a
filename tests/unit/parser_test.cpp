// Unit tests for the rule-language parser (dsl/parser.hpp): tree shapes, literals, names,
// templates, spans, error recovery and hostile input.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "diag/render.hpp"
#include "dsl/parser.hpp"
#include "model/time.hpp"

namespace {

using namespace rapport;
using dsl::ast::Expr;
using dsl::ast::ExprKind;

diag::SourceFilePtr source_of(std::string text, std::string path = "test.rules") {
  return std::make_shared<diag::SourceFile>(std::move(path), std::move(text));
}

std::string rendered(const diag::DiagnosticSink& sink) { return diag::render_text(sink.sorted()); }

/// A compact S-expression of a tree, for readable shape assertions.
std::string shape(const Expr& e) {
  auto join = [&](std::string head) {
    for (const auto& arg : e.args) head += " " + shape(arg);
    return "(" + head + ")";
  };
  switch (e.kind) {
    case ExprKind::Number:
    case ExprKind::Percent:
    case ExprKind::Duration:
    case ExprKind::Date:
    case ExprKind::Timestamp:
    case ExprKind::Bool:
    case ExprKind::Now:
    case ExprKind::Today:
    case ExprKind::Name: return e.text;
    case ExprKind::String: return "\"" + e.text + "\"";
    case ExprKind::Member: return "(. " + shape(e.args[0]) + " " + e.text + ")";
    case ExprKind::Index: return join("[]");
    case ExprKind::Call: return join("call " + e.text);
    case ExprKind::List: {
      std::string out = "[";
      for (std::size_t i = 0; i < e.args.size(); ++i) out += (i ? " " : "") + shape(e.args[i]);
      return out + "]";
    }
    case ExprKind::Negate: return join("neg");
    case ExprKind::Not: return join("not");
    case ExprKind::Filter: {
      std::string out = "(where " + shape(e.args[0]);
      if (e.alias) out += " as " + e.alias->name;
      if (e.args.size() > 1) out += " " + shape(e.args[1]);
      return out + ")";
    }
    case ExprKind::Of: return join("of");
    default: return join(e.text);  // Binary, Compare, In, NotIn, Has*, Is*, Within*
  }
}

Expr expr_of(const std::string& text) {
  diag::DiagnosticSink sink;
  auto e = dsl::parse_expression(source_of(text), sink);
  EXPECT_TRUE(e.has_value()) << text << "\n" << rendered(sink);
  EXPECT_EQ(sink.diagnostics().size(), 0u) << rendered(sink);
  return e.value_or(Expr{});
}

std::string shape_of(const std::string& text) { return shape(expr_of(text)); }

Expr literal_of(const std::string& text) {
  diag::DiagnosticSink sink;
  auto e = dsl::parse_literal(source_of(text), sink);
  EXPECT_TRUE(e.has_value()) << text << "\n" << rendered(sink);
  EXPECT_EQ(sink.diagnostics().size(), 0u) << rendered(sink);
  return e.value_or(Expr{});
}

/// The diagnostics of a literal that must fail.
diag::DiagnosticSink literal_errors(const std::string& text) {
  diag::DiagnosticSink sink;
  auto e = dsl::parse_literal(source_of(text), sink);
  EXPECT_FALSE(e.has_value()) << text;
  return sink;
}

bool has_code(const diag::DiagnosticSink& sink, diag::Code code) {
  for (const auto& d : sink.diagnostics()) {
    if (d.code == code) return true;
  }
  return false;
}

bool has_help(const diag::DiagnosticSink& sink, const std::string& help) {
  for (const auto& d : sink.diagnostics()) {
    for (const auto& h : d.helps) {
      if (h == help) return true;
    }
  }
  return false;
}

std::string slice(const std::string& text, diag::Span span) { return text.substr(span.begin, span.end - span.begin); }

struct ParsedFile {
  std::string text;
  diag::DiagnosticSink sink;
  dsl::ast::File file;
};

std::unique_ptr<ParsedFile> parse(std::string text) {
  auto parsed = std::make_unique<ParsedFile>();
  parsed->text = text;
  parsed->file = dsl::parse_file(source_of(std::move(text)), parsed->sink);
  return parsed;
}

/// A small rule around one condition.
std::string rule_with(const std::string& when, const std::string& extra = "") {
  return "pack t\nrule r\n  for each a in accounts\n" + extra + "  when " + when + "\n  message \"m\"\nend\n";
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// ---- precedence --------------------------------------------------------------------------------

TEST(ParserPrecedence, AndBindsTighterThanOr) {
  EXPECT_EQ(shape_of("a or b and c"), "(or a (and b c))");
  EXPECT_EQ(shape_of("a and b or c"), "(or (and a b) c)");
  EXPECT_EQ(shape_of("a or b or c"), "(or (or a b) c)");
}

TEST(ParserPrecedence, NotSitsBelowComparisons) {
  EXPECT_EQ(shape_of("not a = b"), "(not (= a b))");
  EXPECT_EQ(shape_of("not a and b"), "(and (not a) b)");
  EXPECT_EQ(shape_of("not not a"), "(not (not a))");
  EXPECT_EQ(shape_of("not x in list"), "(not (in x list))");
}

TEST(ParserPrecedence, ArithmeticAndUnaryMinus) {
  EXPECT_EQ(shape_of("a + b * c - d"), "(- (+ a (* b c)) d)");
  EXPECT_EQ(shape_of("a / b / c"), "(/ (/ a b) c)");
  EXPECT_EQ(shape_of("-a * b"), "(* (neg a) b)");
  EXPECT_EQ(shape_of("-(a + b)"), "(neg (+ a b))");
  EXPECT_EQ(shape_of("a - -3"), "(- a -3)");
  EXPECT_EQ(shape_of("2 * -x.y"), "(* 2 (neg (. x y)))");
}

TEST(ParserPrecedence, ExceptIsAdditive) {
  EXPECT_EQ(shape_of("buying_center except reached"), "(except buying_center reached)");
  EXPECT_EQ(shape_of("a except b + c"), "(+ (except a b) c)");
  EXPECT_EQ(shape_of("a except b * c"), "(except a (* b c))");
}

TEST(ParserPrecedence, WhereBindsLooserThanOr) {
  EXPECT_EQ(shape_of("recent where (a > 1) or (b < 2)"), "(where recent (or (> a 1) (< b 2)))");
  EXPECT_EQ(shape_of("accounts where owner_id = manager.id"), "(where accounts (= owner_id (. manager id)))");
  EXPECT_EQ(shape_of("price_talks as d"), "(where price_talks as d)");
}

TEST(ParserPrecedence, OfTakesAValueAndAFilteredSet) {
  EXPECT_EQ(shape_of("distinct(role of contacts where account_id = account.id and active)"),
            "(call distinct (of role (where contacts (and (= account_id (. account id)) active))))");
  EXPECT_EQ(shape_of("sum(c.effort_hours of cases as c where c.assignee.team = unit)"),
            "(call sum (of (. c effort_hours) (where cases as c (= (. (. c assignee) team) unit))))");
  EXPECT_EQ(shape_of("count(accounts where owner_id = manager.id)"),
            "(call count (where accounts (= owner_id (. manager id))))");
  EXPECT_EQ(shape_of("sum(tier_weight[tier] of portfolio)"), "(call sum (of ([] tier_weight tier) portfolio))");
}

TEST(ParserPrecedence, NestedFiltersWithAliases) {
  EXPECT_EQ(shape_of("count(price_talks as d where exists(sla_talks as s where abs(s.started_at - d.started_at) <= "
                     "separation_window))"),
            "(call count (where price_talks as d (call exists (where sla_talks as s (<= (call abs (- (. s "
            "started_at) (. d started_at))) separation_window)))))");
}

TEST(ParserPrecedence, ComparisonTails) {
  EXPECT_EQ(shape_of("a <= b"), "(<= a b)");
  EXPECT_EQ(shape_of("a != b"), "(!= a b)");
  EXPECT_EQ(shape_of("a >= b + 1"), "(>= a (+ b 1))");
  EXPECT_EQ(shape_of("a in [1, 2]"), "(in a [1 2])");
  EXPECT_EQ(shape_of("a not in b"), "(not in a b)");
  EXPECT_EQ(shape_of("topics has \"sla\""), "(has topics \"sla\")");
  EXPECT_EQ(shape_of("topics has any commercial_topics"), "(has any topics commercial_topics)");
  EXPECT_EQ(shape_of("topics has all required"), "(has all topics required)");
  EXPECT_EQ(shape_of("x is missing or y is not missing"), "(or (is missing x) (is not missing y))");
  EXPECT_EQ(shape_of("t within last 90d"), "(within last t 90d)");
  EXPECT_EQ(shape_of("t within next delivery_window"), "(within next t delivery_window)");
  EXPECT_EQ(expr_of("a not in b").kind, ExprKind::NotIn);
  EXPECT_EQ(expr_of("x has any y").kind, ExprKind::HasAny);
  EXPECT_EQ(expr_of("x is not missing").kind, ExprKind::IsNotMissing);
  EXPECT_EQ(expr_of("x within next 2w").kind, ExprKind::WithinNext);
}

TEST(ParserPrecedence, ComparisonsDoNotChain) {
  diag::DiagnosticSink sink;
  auto e = dsl::parse_expression(source_of("0 < load < 1"), sink);
  EXPECT_FALSE(e.has_value());
  ASSERT_EQ(sink.diagnostics().size(), 1u) << rendered(sink);
  EXPECT_EQ(sink.diagnostics()[0].code, diag::Code::ChainedComparison);
  EXPECT_TRUE(has_help(sink, "write `0 < load and load < 1`")) << rendered(sink);
}

// ---- literals ----------------------------------------------------------------------------------

TEST(ParserLiterals, Numbers) {
  EXPECT_EQ(literal_of("0").kind, ExprKind::Number);
  EXPECT_DOUBLE_EQ(literal_of("0").number, 0);
  EXPECT_DOUBLE_EQ(literal_of("0.5").number, 0.5);
  EXPECT_DOUBLE_EQ(literal_of("150").number, 150);
  Expr negative = literal_of("-3");
  EXPECT_EQ(negative.kind, ExprKind::Number);
  EXPECT_DOUBLE_EQ(negative.number, -3);
  EXPECT_EQ(negative.span.begin, 0u);
  EXPECT_EQ(negative.span.end, 2u);
}

TEST(ParserLiterals, PercentsAndDurations) {
  Expr percent = literal_of("10%");
  EXPECT_EQ(percent.kind, ExprKind::Percent);
  EXPECT_DOUBLE_EQ(percent.number, 0.10);
  EXPECT_DOUBLE_EQ(literal_of("110%").number, 1.10);
  Expr days = literal_of("90d");
  EXPECT_EQ(days.kind, ExprKind::Duration);
  EXPECT_DOUBLE_EQ(days.number, 90 * 86400.0);
  EXPECT_DOUBLE_EQ(literal_of("21d").number, 21 * 86400.0);
  EXPECT_DOUBLE_EQ(literal_of("4w").number, 4 * 7 * 86400.0);
  EXPECT_DOUBLE_EQ(literal_of("12h").number, 12 * 3600.0);
  EXPECT_DOUBLE_EQ(literal_of("-2h").number, -2 * 3600.0);
}

TEST(ParserLiterals, DatesAndTimestamps) {
  Expr date = literal_of("2026-02-28");
  EXPECT_EQ(date.kind, ExprKind::Date);
  EXPECT_DOUBLE_EQ(date.number, *model::parse_date("2026-02-28"));
  Expr stamp = literal_of("2026-03-01T09:30:00Z");
  EXPECT_EQ(stamp.kind, ExprKind::Timestamp);
  EXPECT_DOUBLE_EQ(stamp.number, *model::parse_timestamp("2026-03-01T09:30:00Z"));
  EXPECT_DOUBLE_EQ(literal_of("2026-03-01T09:30Z").number, *model::parse_timestamp("2026-03-01T09:30:00Z"));
  EXPECT_DOUBLE_EQ(literal_of("2024-02-29").number, *model::parse_date("2024-02-29"));
}

TEST(ParserLiterals, StringsBooleansAndLists) {
  Expr single = literal_of("'x'");
  EXPECT_EQ(single.kind, ExprKind::String);
  EXPECT_EQ(single.text, "x");
  EXPECT_EQ(literal_of(R"("a\"b\'c\\d\ne\tf\{g\}")").text, "a\"b'c\\d\ne\tf{g}");
  EXPECT_EQ(literal_of("\"caf\xC3\xA9\"").text, "caf\xC3\xA9");
  Expr yes = literal_of("true");
  EXPECT_EQ(yes.kind, ExprKind::Bool);
  EXPECT_DOUBLE_EQ(yes.number, 1);
  EXPECT_DOUBLE_EQ(literal_of("false").number, 0);
  Expr list = literal_of("[\"a\", \"b\"]");
  EXPECT_EQ(shape(list), "[\"a\" \"b\"]");
  EXPECT_EQ(literal_of("[]").args.size(), 0u);
  EXPECT_EQ(shape(literal_of("  # a comment\n [1, 10%, 90d] ")), "[1 10% 90d]");
}

TEST(ParserLiterals, MalformedDurationsGetHints) {
  auto days = literal_errors("90days");
  EXPECT_TRUE(has_code(days, diag::Code::BadDuration));
  EXPECT_TRUE(has_help(days, "write 90d")) << rendered(days);
  auto spaced = literal_errors("90 d");
  EXPECT_TRUE(has_help(spaced, "write 90d")) << rendered(spaced);
  auto months = literal_errors("3mo");
  EXPECT_TRUE(has_help(months, "use 90d; months have no fixed length")) << rendered(months);
  auto fraction = literal_errors("1.5d");
  EXPECT_TRUE(has_help(fraction, "write 36h")) << rendered(fraction);
}

TEST(ParserLiterals, DatesMustExistAndTimestampsMustBeUtc) {
  auto impossible = literal_errors("2026-02-30");
  EXPECT_TRUE(has_code(impossible, diag::Code::BadDateLiteral));
  EXPECT_TRUE(has_help(impossible, "February 2026 has 28 days")) << rendered(impossible);
  auto local = literal_errors("2026-03-01T09:30:00");
  EXPECT_TRUE(has_code(local, diag::Code::TimestampNotUtc));
  EXPECT_TRUE(has_help(local, "write 2026-03-01T09:30:00Z")) << rendered(local);
  auto hour = literal_errors("2026-03-01T25:00:00Z");
  EXPECT_TRUE(has_code(hour, diag::Code::BadDateLiteral));
}

TEST(ParserLiterals, ExponentsAndHugeNumbersAreRejected) {
  auto exponent = literal_errors("1e3");
  EXPECT_TRUE(has_code(exponent, diag::Code::BadNumber));
  EXPECT_TRUE(has_help(exponent, "write 1000")) << rendered(exponent);
  auto huge = literal_errors(std::string(400, '7'));
  ASSERT_TRUE(has_code(huge, diag::Code::BadNumber));
  EXPECT_EQ(huge.diagnostics()[0].message, "number is too large");
}

TEST(ParserLiterals, InfAndNanAreNames) {
  EXPECT_EQ(expr_of("inf").kind, ExprKind::Name);
  EXPECT_EQ(expr_of("nan_flag").kind, ExprKind::Name);
  auto computed = literal_errors("inf");
  EXPECT_TRUE(has_code(computed, diag::Code::NotConstant));
  auto sum = literal_errors("1 + 2");
  EXPECT_TRUE(has_code(sum, diag::Code::NotConstant));
  auto trailing = literal_errors("5 6");
  EXPECT_TRUE(has_code(trailing, diag::Code::SyntaxError));
}

// ---- names -------------------------------------------------------------------------------------

TEST(ParserNames, KeywordPrefixesAreIdentifiers) {
  for (const char* word : {"industry", "order_id", "notes", "android", "endpoint", "format", "island", "asset",
                           "nothing", "hash", "isolated", "within_sla", "lettuce", "wherever"}) {
    Expr e = expr_of(word);
    EXPECT_EQ(e.kind, ExprKind::Name) << word;
    EXPECT_EQ(e.text, word);
  }
}

TEST(ParserNames, AnyWordIsAFieldAfterDot) {
  EXPECT_EQ(shape_of("x.end"), "(. x end)");
  EXPECT_EQ(shape_of("activity.type"), "(. activity type)");
  EXPECT_EQ(shape_of("a.in.where"), "(. (. a in) where)");
  Expr quoted = expr_of("`end` = x.`when`");
  EXPECT_EQ(shape(quoted), "(= end (. x when))");
  EXPECT_EQ(quoted.args[0].span.begin, 0u);
  EXPECT_EQ(quoted.args[0].span.end, 5u);  // the backquotes belong to the name's span
}

TEST(ParserNames, ReservedWordAsNameIsReportedWithABackquoteHint) {
  auto parsed = parse(rule_with("x > 1", "  let end = 5\n"));
  ASSERT_TRUE(has_code(parsed->sink, diag::Code::ReservedWord)) << rendered(parsed->sink);
  EXPECT_TRUE(has_help(parsed->sink, "pick another name, or put backquotes around it to use it anyway: `end`"));
  EXPECT_EQ(parsed->sink.error_count(), 1u) << rendered(parsed->sink);
  EXPECT_TRUE(parsed->file.rules.empty());
}

// ---- the sketch pack ---------------------------------------------------------------------------

TEST(ParserSketch, WholeExamplePackParsesCleanly) {
  auto path = std::filesystem::path(RAPPORT_TEST_DATA) / "golden" / "parse" / "ok_sketch_pack.rules";
  auto parsed = parse(read_file(path));
  EXPECT_EQ(parsed->sink.diagnostics().size(), 0u) << rendered(parsed->sink);
  const auto& file = parsed->file;
  ASSERT_TRUE(file.header.has_value());
  EXPECT_EQ(file.header->name.name, "b2b_cx");
  EXPECT_EQ(file.header->version->value, "0.1");
  EXPECT_EQ(file.params.size(), 16u);
  EXPECT_EQ(file.rules.size(), 5u);
  EXPECT_EQ(file.plans.size(), 1u);

  const auto& tier_weight = file.params[3];
  EXPECT_EQ(tier_weight.name.name, "tier_weight");
  EXPECT_EQ(tier_weight.type.name.name, "number");
  EXPECT_EQ(tier_weight.by_entity->name, "accounts");
  EXPECT_EQ(tier_weight.by_field->name, "tier");
  ASSERT_EQ(tier_weight.keymap.size(), 3u);
  EXPECT_EQ(tier_weight.keymap[0].key.value, "strategic");
  EXPECT_DOUBLE_EQ(tier_weight.keymap[0].value.number, 8);
  EXPECT_EQ(tier_weight.doc->value, "Load of one account, by tier (unlisted tiers: 1)");
  const auto& topics = file.params[4];
  EXPECT_EQ(topics.type.name.name, "list");
  ASSERT_TRUE(topics.type.element);
  EXPECT_EQ(topics.type.element->name.name, "text");
  EXPECT_EQ(shape(topics.default_value), "[\"discount\" \"pricing\"]");

  const auto& dunbar = file.rules[0];
  EXPECT_EQ(dunbar.id.name, "dunbar_portfolio_limit");
  EXPECT_EQ(dunbar.attributes.severity->name, "high");
  ASSERT_EQ(dunbar.attributes.tags.size(), 3u);
  EXPECT_EQ(dunbar.attributes.tags[2].name, "simplify");
  EXPECT_EQ(dunbar.subject_var.name, "manager");
  EXPECT_EQ(shape(dunbar.when), "(> portfolio dunbar_limit)");
  ASSERT_EQ(dunbar.texts.size(), 2u);
  EXPECT_FALSE(dunbar.texts[0].is_remedy);
  EXPECT_TRUE(dunbar.texts[1].is_remedy);

  const auto& coverage = file.rules[2];
  ASSERT_EQ(coverage.escalations.size(), 1u);
  EXPECT_EQ(coverage.escalations[0].severity.name, "critical");
  EXPECT_EQ(shape(coverage.lets[1].value), "(except buying_center reached)");

  const auto& capacity = file.rules[4];
  EXPECT_EQ(shape(capacity.subject_source), "(call distinct (of team (where users (and active (in role service_roles)))))");
  ASSERT_EQ(capacity.texts.size(), 3u);  // message, remedy when ..., remedy
  EXPECT_FALSE(capacity.texts[0].is_remedy);
  EXPECT_TRUE(capacity.texts[1].is_remedy);
  ASSERT_TRUE(capacity.texts[1].condition.has_value());
  EXPECT_EQ(shape(*capacity.texts[1].condition), "(> load capacity_max)");
  EXPECT_FALSE(capacity.texts[2].condition.has_value());

  const auto& plan = file.plans[0];
  EXPECT_EQ(plan.id.name, "rebalance_portfolios");
  EXPECT_EQ(plan.assign.entity.name, "accounts");
  EXPECT_EQ(plan.assign.alias->name, "account");
  EXPECT_EQ(plan.to.alias->name, "manager");
  ASSERT_TRUE(plan.to.where.has_value());
  EXPECT_EQ(shape(plan.by), "(. account owner_id)");
  EXPECT_EQ(plan.keeps.size(), 1u);
  EXPECT_EQ(plan.limits.size(), 3u);
  EXPECT_EQ(plan.prefers.size(), 2u);
  ASSERT_EQ(plan.move_first.size(), 1u);
  EXPECT_FALSE(plan.move_first[0].descending);
  ASSERT_TRUE(plan.overflow.has_value());
  EXPECT_EQ(plan.overflow->entity.name, "users");
  EXPECT_EQ(plan.texts.size(), 2u);
}

TEST(ParserSketch, WindowsLineEndingsAndByteOrderMark) {
  auto path = std::filesystem::path(RAPPORT_TEST_DATA) / "golden" / "parse" / "ok_sketch_pack.rules";
  std::string text = read_file(path);
  std::string crlf = "\xEF\xBB\xBF";
  for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  auto parsed = parse(crlf);
  EXPECT_EQ(parsed->sink.diagnostics().size(), 0u) << rendered(parsed->sink);
  EXPECT_EQ(parsed->file.rules.size(), 5u);
  EXPECT_EQ(parsed->file.params.size(), 16u);
  EXPECT_EQ(parsed->file.header->title->value, "B2B customer-experience guidance");
}

TEST(ParserSketch, ParsesQuickly) {
  auto path = std::filesystem::path(RAPPORT_TEST_DATA) / "golden" / "parse" / "ok_sketch_pack.rules";
  std::string text = read_file(path);
  std::string big = text;
  for (int copy = 0; copy < 3; ++copy) {  // about 600 lines
    std::string body = text.substr(text.find("\nrule "));
    for (std::string::size_type at = 0; (at = body.find("\nrule ", at)) != std::string::npos; at += 6) {
      body.insert(at + 6, "c" + std::to_string(copy) + "_");
    }
    body.replace(body.find("\nplan ") + 6, 0, "c" + std::to_string(copy) + "_");
    big += body;
  }
  auto start = std::chrono::steady_clock::now();
  auto parsed = parse(big);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(parsed->sink.diagnostics().size(), 0u) << rendered(parsed->sink);
  EXPECT_EQ(parsed->file.rules.size(), 20u);
  double milliseconds = std::chrono::duration<double, std::milli>(elapsed).count();
  EXPECT_LT(milliseconds, 50.0);  // about 2 ms when optimised
}

// ---- templates ---------------------------------------------------------------------------------

TEST(ParserTemplates, PiecesAndEscapes) {
  std::string text = "pack t\nrule r\n  for each a in accounts\n  when true\n"
                     "  message \"{a.name} has \\{braces\\}\\n{count(x) + 1}\"\nend\n";
  auto parsed = parse(text);
  ASSERT_EQ(parsed->sink.diagnostics().size(), 0u) << rendered(parsed->sink);
  const auto& pieces = parsed->file.rules.at(0).texts.at(0).text.pieces;
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_TRUE(pieces[0].is_expr);
  EXPECT_EQ(shape(pieces[0].expr), "(. a name)");
  EXPECT_EQ(slice(text, pieces[0].expr.span), "a.name");
  EXPECT_FALSE(pieces[1].is_expr);
  EXPECT_EQ(pieces[1].text, " has {braces}\n");
  EXPECT_EQ(shape(pieces[2].expr), "(+ (call count x) 1)");
  EXPECT_EQ(slice(text, pieces[2].expr.span), "count(x) + 1");
  const auto& whole = parsed->file.rules[0].texts[0].text;
  EXPECT_EQ(text[whole.span.begin], '"');
  EXPECT_EQ(text[whole.span.end - 1], '"');
}

TEST(ParserTemplates, OtherQuotesInsideInterpolation) {
  auto parsed = parse("pack t\nrule r\n  for each a in accounts\n  when true\n"
                      "  message \"from {if_missing(a.owner.name, 'nobody')}\"\n"
                      "  remedy 'call {if_missing(a.phone, \"-\")}'\nend\n");
  ASSERT_EQ(parsed->sink.diagnostics().size(), 0u) << rendered(parsed->sink);
  const auto& texts = parsed->file.rules.at(0).texts;
  EXPECT_EQ(shape(texts[0].text.pieces[1].expr), "(call if_missing (. (. a owner) name) \"nobody\")");
  EXPECT_EQ(shape(texts[1].text.pieces[1].expr), "(call if_missing (. a phone) \"-\")");
}

TEST(ParserTemplates, ErrorsPointInsideTheString) {
  std::string text = rule_with("true");
  text.replace(text.find("\"m\""), 3, "\"{a.name} owns {x - } accounts\"");
  auto parsed = parse(text);
  ASSERT_EQ(parsed->sink.diagnostics().size(), 1u) << rendered(parsed->sink);
  const auto& d = parsed->sink.diagnostics()[0];
  EXPECT_EQ(d.code, diag::Code::InterpolationError);
  EXPECT_EQ(slice(text, d.span), "}");
  EXPECT_EQ(d.span.begin, text.find("} accounts"));
}

TEST(ParserTemplates, UnclosedBraceAndNestedQuoteHints) {
  std::string unclosed = rule_with("true");
  unclosed.replace(unclosed.find("\"m\""), 3, "\"{a.name owns\"");
  auto first = parse(unclosed);
  EXPECT_TRUE(has_code(first->sink, diag::Code::InterpolationError)) << rendered(first->sink);
  EXPECT_TRUE(has_help(first->sink, "close it with `}`, or write \\{ for a literal brace"));

  std::string nested = rule_with("true");
  nested.replace(nested.find("\"m\""), 3, "\"from {if_missing(a.name, \"nobody\")} on\"");
  auto second = parse(nested);
  EXPECT_EQ(second->sink.error_count(), 1u) << rendered(second->sink);
  EXPECT_TRUE(has_help(second->sink, "use 'single quotes' inside \"…\"")) << rendered(second->sink);
}

// ---- spans -------------------------------------------------------------------------------------

TEST(ParserSpans, NodesSpanExactly) {
  std::string text = "pack t\nrule r\n  for each m in users where m.role = \"am\"\n"
                     "  let n = count(accounts as a where a.owner_id = m.id)\n"
                     "  when n > limit\n  message \"{m.name}\"\nend\n";
  auto parsed = parse(text);
  ASSERT_EQ(parsed->sink.diagnostics().size(), 0u) << rendered(parsed->sink);
  const auto& rule = parsed->file.rules.at(0);
  EXPECT_EQ(slice(text, rule.span), text.substr(text.find("rule r"), text.rfind("end") + 3 - text.find("rule r")));
  EXPECT_EQ(slice(text, rule.id.span), "r");
  EXPECT_EQ(slice(text, rule.subject_span), "for each m in users where m.role = \"am\"");
  EXPECT_EQ(slice(text, rule.subject_var.span), "m");

  const Expr& filter = rule.subject_source;
  EXPECT_EQ(filter.kind, ExprKind::Filter);
  EXPECT_EQ(slice(text, filter.span), "users where m.role = \"am\"");
  EXPECT_EQ(slice(text, filter.op_span), "where");
  const Expr& compare = filter.args[1];
  EXPECT_EQ(slice(text, compare.span), "m.role = \"am\"");
  EXPECT_EQ(slice(text, compare.op_span), "=");
  const Expr& member = compare.args[0];
  EXPECT_EQ(slice(text, member.span), "m.role");
  EXPECT_EQ(slice(text, member.op_span), "role");
  EXPECT_EQ(slice(text, member.args[0].span), "m");
  EXPECT_EQ(slice(text, compare.args[1].span), "\"am\"");

  const auto& let = rule.lets.at(0);
  EXPECT_EQ(slice(text, let.span), "let n = count(accounts as a where a.owner_id = m.id)");
  EXPECT_EQ(slice(text, let.name.span), "n");
  const Expr& call = let.value;
  EXPECT_EQ(slice(text, call.span), "count(accounts as a where a.owner_id = m.id)");
  EXPECT_EQ(slice(text, call.op_span), "count");
  const Expr& aliased = call.args[0];
  EXPECT_EQ(slice(text, aliased.span), "accounts as a where a.owner_id = m.id");
  ASSERT_TRUE(aliased.alias.has_value());
  EXPECT_EQ(slice(text, aliased.alias->span), "a");

  EXPECT_EQ(slice(text, rule.when.span), "n > limit");
  EXPECT_EQ(slice(text, rule.when.op_span), ">");
  EXPECT_EQ(slice(text, rule.texts.at(0).span), "message \"{m.name}\"");
}

TEST(ParserSpans, OperatorKeywordsAndParentheses) {
  std::string text = "(a or b) and x not in y";
  Expr e = expr_of(text);
  EXPECT_EQ(slice(text, e.op_span), "and");
  EXPECT_EQ(slice(text, e.args[0].span), "(a or b)");
  EXPECT_EQ(slice(text, e.args[0].op_span), "or");
  EXPECT_EQ(slice(text, e.args[1].op_span), "not in");
  std::string within = "t within  last 90d";
  EXPECT_EQ(slice(within, expr_of(within).op_span), "within  last");
  std::string index = "w[a.region]";
  EXPECT_EQ(slice(index, expr_of(index).op_span), "[a.region]");
}

// ---- items -------------------------------------------------------------------------------------

TEST(ParserItems, AttributesInAnyOrderAndDuplicatesRecorded) {
  auto parsed = parse("pack t\nrule r\n  severity low\n  enabled false\n  tags a, b\n  title \"T\"\n"
                      "  severity high\n  rationale \"R\"\n  for each x in accounts\n  when true\n"
                      "  message \"m\"\nend\n");
  ASSERT_EQ(parsed->sink.diagnostics().size(), 0u) << rendered(parsed->sink);
  const auto& attributes = parsed->file.rules.at(0).attributes;
  EXPECT_EQ(attributes.severity->name, "low");
  EXPECT_EQ(attributes.title->value, "T");
  EXPECT_EQ(attributes.rationale->value, "R");
  ASSERT_TRUE(attributes.enabled.has_value());
  EXPECT_EQ(attributes.enabled->kind, ExprKind::Bool);
  EXPECT_DOUBLE_EQ(attributes.enabled->number, 0);
  EXPECT_EQ(attributes.tags.size(), 2u);
  ASSERT_EQ(attributes.duplicates.size(), 1u);
  EXPECT_EQ(slice(parsed->text, attributes.duplicates[0]), "severity high");
}

TEST(ParserItems, BadRuleIdIsReportedButTheRuleIsKept) {
  auto parsed = parse("pack t\nrule DunbarLimit\n  for each x in accounts\n  when true\n  message \"m\"\nend\n");
  ASSERT_EQ(parsed->sink.error_count(), 1u);
  EXPECT_EQ(parsed->sink.diagnostics()[0].code, diag::Code::BadIdentifier);
  EXPECT_TRUE(has_help(parsed->sink, "write `dunbar_limit`"));
  ASSERT_EQ(parsed->file.rules.size(), 1u);
  EXPECT_EQ(parsed->file.rules[0].id.name, "DunbarLimit");
}

TEST(ParserItems, ParamsWithTypesKeysAndDocs) {
  auto parsed = parse("pack t\nparam w : duration by accounts.region = 180d { \"APAC\": 120d } \"Doc\"\n"
                      "param n : list of list of text = [[\"a\"], []]\nparam d : number = -0.5\n");
  ASSERT_EQ(parsed->sink.diagnostics().size(), 0u) << rendered(parsed->sink);
  const auto& params = parsed->file.params;
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params[0].keymap.at(0).key.value, "APAC");
  EXPECT_DOUBLE_EQ(params[0].keymap.at(0).value.number, 120 * 86400.0);
  EXPECT_EQ(slice(parsed->text, params[0].span), parsed->text.substr(7, parsed->text.find('\n', 7) - 7));
  EXPECT_EQ(params[1].type.element->element->name.name, "text");
  EXPECT_DOUBLE_EQ(params[2].default_value.number, -0.5);
}

TEST(ParserItems, MissingEndPointsAfterTheLastTokenWithANote) {
  std::string text = "pack t\nrule r\n  for each x in accounts\n  when true\n  message \"m\"\n\nrule s\n"
                     "  for each x in accounts\n  when true\n  message \"m\"\nend\n";
  auto parsed = parse(text);
  ASSERT_EQ(parsed->sink.diagnostics().size(), 1u) << rendered(parsed->sink);
  const auto& d = parsed->sink.diagnostics()[0];
  EXPECT_EQ(d.code, diag::Code::MissingEnd);
  EXPECT_EQ(d.message, "expected `end` to close rule `r`");
  EXPECT_EQ(d.span.begin, text.find("\"m\"") + 3);
  ASSERT_EQ(d.labels.size(), 1u);
  EXPECT_EQ(slice(text, d.labels[0].span), "rule r");
  ASSERT_EQ(parsed->file.rules.size(), 1u);
  EXPECT_EQ(parsed->file.rules[0].id.name, "s");
}

TEST(ParserItems, MissingHeaderStillParsesItems) {
  auto parsed = parse("rule r\n  for each x in accounts\n  when true\n  message \"m\"\nend\n");
  ASSERT_EQ(parsed->sink.diagnostics().size(), 1u);
  EXPECT_EQ(parsed->sink.diagnostics()[0].code, diag::Code::MissingHeader);
  EXPECT_EQ(parsed->file.rules.size(), 1u);
}

// ---- recovery ----------------------------------------------------------------------------------

TEST(ParserRecovery, ThreeBrokenRulesGiveThreeErrorsAndKeepTheGoodOnes) {
  std::string good_a = "rule good_a\n  for each x in accounts\n  when x.active\n  message \"ok\"\nend\n";
  std::string good_b = "rule good_b\n  for each x in users\n  when x.active\n  message \"ok\"\nend\n";
  std::string text = "pack t\n"
                     "rule broken_1\n  for each x in accounts\n  let n = count(cases where y = x.id\n  when n > 1\n"
                     "  message \"m\"\nend\n" +
                     good_a +
                     "rule broken_2\n  for each x in accounts\n  when n >\n  message \"m\"\nend\n"
                     "param p : count = 3\n"
                     "rule broken_3\n  for each x accounts\n  when true\n  message \"m\"\nend\n" +
                     good_b;
  auto parsed = parse(text);
  EXPECT_EQ(parsed->sink.error_count(), 3u) << rendered(parsed->sink);
  ASSERT_EQ(parsed->file.rules.size(), 2u);
  EXPECT_EQ(parsed->file.rules[0].id.name, "good_a");
  EXPECT_EQ(parsed->file.rules[1].id.name, "good_b");
  EXPECT_EQ(parsed->file.params.size(), 1u);
}

TEST(ParserRecovery, StrayTokensBetweenItems) {
  auto parsed = parse(rule_with("true") + "end\nbogus stuff here\n" +
                      "rule s\n  for each a in accounts\n  when true\n  message \"m\"\nend\n");
  EXPECT_EQ(parsed->sink.error_count(), 1u) << rendered(parsed->sink);
  EXPECT_EQ(parsed->file.rules.size(), 2u);
}

TEST(ParserRecovery, TooManyErrorsStopTheParse) {
  std::string text = "pack t\n";
  for (int i = 0; i < 500; ++i) text += "rule\n";
  auto parsed = parse(text);
  EXPECT_EQ(parsed->sink.error_count(), 101u);
  EXPECT_NE(parsed->sink.diagnostics().back().message.find("too many errors"), std::string::npos);
}

// ---- hostile input -----------------------------------------------------------------------------

class ParserHostile : public testing::Test {
 protected:
  /// Parses and checks the parse returned within a second.
  std::unique_ptr<ParsedFile> timed(std::string text) {
    auto start = std::chrono::steady_clock::now();
    auto parsed = parse(std::move(text));
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LT(std::chrono::duration<double>(elapsed).count(), 1.0);
    return parsed;
  }
};

TEST_F(ParserHostile, TenThousandNestedParentheses) {
  auto parsed = timed(rule_with(std::string(10000, '(') + "x" + std::string(10000, ')')));
  ASSERT_TRUE(has_code(parsed->sink, diag::Code::NestingTooDeep)) << rendered(parsed->sink);
  EXPECT_EQ(parsed->sink.error_count(), 1u);
  auto brackets = timed(rule_with(std::string(10000, '[') + std::string(10000, ']')));
  EXPECT_TRUE(has_code(brackets->sink, diag::Code::NestingTooDeep));
  auto nots = timed(rule_with([] {
    std::string s;
    for (int i = 0; i < 10000; ++i) s += "not ";
    return s + "x";
  }()));
  EXPECT_TRUE(has_code(nots->sink, diag::Code::NestingTooDeep));
  auto calls = timed(rule_with([] {
    std::string s;
    for (int i = 0; i < 10000; ++i) s += "f(";
    return s + std::string(10000, ')');
  }()));
  EXPECT_TRUE(has_code(calls->sink, diag::Code::NestingTooDeep));
  auto types = timed([] {
    std::string s = "pack t\nparam p : ";
    for (int i = 0; i < 10000; ++i) s += "list of ";
    return s + "text = 1\n";
  }());
  EXPECT_TRUE(has_code(types->sink, diag::Code::NestingTooDeep));
}

TEST_F(ParserHostile, NestingJustUnderTheLimitIsFine) {
  std::string nested(150, '(');
  nested += 'x';
  nested.append(150, ')');
  auto parsed = timed(rule_with(nested));
  EXPECT_EQ(parsed->sink.diagnostics().size(), 0u) << rendered(parsed->sink);
}

TEST_F(ParserHostile, VeryLongChainsAreRefused) {
  std::string chain = "x";
  for (int i = 0; i < 100000; ++i) chain += " + x";
  auto parsed = timed(rule_with(chain));
  EXPECT_TRUE(has_code(parsed->sink, diag::Code::NestingTooDeep));
  std::string members = "x";
  for (int i = 0; i < 100000; ++i) members += ".y";
  auto second = timed(rule_with(members));
  EXPECT_TRUE(has_code(second->sink, diag::Code::NestingTooDeep));
}

TEST_F(ParserHostile, TenMegabyteLines) {
  const std::size_t size = 10 * 1024 * 1024;
  auto comment = timed("pack t\n#" + std::string(size, 'c') + "\n" + rule_with("true").substr(7));
  EXPECT_EQ(comment->sink.diagnostics().size(), 0u);
  EXPECT_EQ(comment->file.rules.size(), 1u);
  std::string text = rule_with("true");
  text.replace(text.find("\"m\""), 3, "\"" + std::string(size, 'm') + "\"");
  auto message = timed(text);
  EXPECT_EQ(message->sink.diagnostics().size(), 0u);
  ASSERT_EQ(message->file.rules.size(), 1u);
  EXPECT_EQ(message->file.rules[0].texts[0].text.pieces[0].text.size(), size);
  auto name = timed("pack t\nparam " + std::string(size, 'n') + " : count = 1\n");
  EXPECT_EQ(name->file.params.size(), 1u);
  auto garbage = timed("pack t\n" + std::string(size, '}') + "\n");
  EXPECT_EQ(garbage->sink.error_count(), 1u);
  auto unterminated = timed("pack t\nparam p : text = \"" + std::string(size, 'x') + "\n");
  EXPECT_TRUE(has_code(unterminated->sink, diag::Code::UnterminatedString));
}

TEST_F(ParserHostile, InvalidUtf8IsReportedAtTheByteAndParsingGoesOn) {
  std::string text = "pack t\n# caf\xE9\n" + rule_with("true").substr(7) + "param \xFF\xFE : count = 1\n";
  auto parsed = timed(text);
  ASSERT_TRUE(has_code(parsed->sink, diag::Code::InvalidUtf8)) << rendered(parsed->sink);
  const auto& first = parsed->sink.diagnostics()[0];
  EXPECT_EQ(first.code, diag::Code::InvalidUtf8);
  EXPECT_EQ(first.span.begin, text.find('\xE9'));
  EXPECT_EQ(first.span.end, first.span.begin + 1);
  EXPECT_EQ(parsed->file.rules.size(), 1u);
  std::size_t utf8_errors = 0;
  for (const auto& d : parsed->sink.diagnostics()) utf8_errors += d.code == diag::Code::InvalidUtf8;
  EXPECT_EQ(utf8_errors, 1u);
}

TEST_F(ParserHostile, NulBytes) {
  std::string text = "pack t\n" + rule_with("true").substr(7);
  text.insert(text.find("when") + 4, std::string("\0\0\0", 3));
  auto parsed = timed(text);
  EXPECT_TRUE(has_code(parsed->sink, diag::Code::InvalidUtf8)) << rendered(parsed->sink);
  EXPECT_GE(parsed->sink.error_count(), 1u);
  auto all_nul = timed(std::string(1000, '\0'));
  EXPECT_TRUE(all_nul->sink.has_errors());
}

TEST_F(ParserHostile, HugeNumbers) {
  auto parsed = timed("pack t\nparam p : count = " + std::string(400, '9') + "\n");
  ASSERT_EQ(parsed->sink.error_count(), 1u);
  EXPECT_EQ(parsed->sink.diagnostics()[0].code, diag::Code::BadNumber);
  EXPECT_EQ(parsed->sink.diagnostics()[0].message, "number is too large");
  auto fraction = timed("pack t\nparam p : number = 0." + std::string(100000, '1') + "\n");
  EXPECT_EQ(fraction->sink.diagnostics().size(), 0u);
}

TEST_F(ParserHostile, EmptyAndCommentOnlyFiles) {
  auto empty = timed("");
  ASSERT_EQ(empty->sink.diagnostics().size(), 1u);
  EXPECT_EQ(empty->sink.diagnostics()[0].code, diag::Code::MissingHeader);
  auto comments = timed("# only\n# comments\n");
  ASSERT_EQ(comments->sink.diagnostics().size(), 1u);
  EXPECT_EQ(comments->sink.diagnostics()[0].code, diag::Code::MissingHeader);
  auto header_only = timed("pack t");
  EXPECT_EQ(header_only->sink.diagnostics().size(), 0u);
  EXPECT_TRUE(header_only->file.header.has_value());
}

TEST_F(ParserHostile, TruncatedFilesAtEveryByte) {
  auto path = std::filesystem::path(RAPPORT_TEST_DATA) / "golden" / "parse" / "ok_sketch_pack.rules";
  std::string text = read_file(path);
  for (std::size_t cut = 0; cut < text.size(); cut += 7) {
    diag::DiagnosticSink sink;
    auto file = dsl::parse_file(source_of(text.substr(0, cut)), sink);
    (void)file;
    for (const auto& d : sink.diagnostics()) {
      EXPECT_LE(d.span.begin, cut);
      EXPECT_LE(d.span.end, cut);
    }
  }
}

TEST_F(ParserHostile, NullSourceAndStandaloneGarbage) {
  diag::DiagnosticSink sink;
  auto file = dsl::parse_file(nullptr, sink);
  EXPECT_FALSE(file.header.has_value());
  EXPECT_FALSE(dsl::parse_expression(nullptr, sink).has_value());
  for (const char* garbage : {"", ")", "(((", "\"", "{", "a +", "- -", "[1,", "x.", "`", "\xFF", "1e", "'a"}) {
    diag::DiagnosticSink errors;
    EXPECT_FALSE(dsl::parse_expression(source_of(garbage), errors).has_value()) << garbage;
    EXPECT_TRUE(errors.has_errors()) << garbage;
  }
}

}  // namespace
