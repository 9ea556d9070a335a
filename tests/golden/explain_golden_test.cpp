// Golden cases for `rapport explain`: tests/golden/explain/<case>/ holds an `args` file (the
// command line after `rapport explain`, one argument or `--option value` per line; paths are
// relative to the case folder, and may reach the data of tests/golden/eval/<case>/), usually a
// pack and data, and the expectation: `expected.txt` (standard output, then standard error and
// the exit code) or, with `--format json`, `expected.json` (standard output alone; the run must
// exit 0 and print nothing on standard error). The command runs in-process, as the CLI runs it.
//
// Below the cases: the command's errors, and a check that an explanation always agrees with
// `check` (every catalog rule over the example data).

#include <iostream>
#include <map>
#include <sstream>

#include "cli/pipeline.hpp"
#include "engine/explain.hpp"
#include "golden/golden_support.hpp"
#include "model/time.hpp"

namespace rapport::cli {
int command_explain(const std::vector<std::string>& args);  // cli/explain_command.cpp
}  // namespace rapport::cli

namespace rapport {
namespace {

namespace fs = std::filesystem;

struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `rapport explain ARGS` in-process with standard output and error captured.
CommandRun explain(std::vector<std::string> args) {
  args.push_back("--color");
  args.push_back("never");
  std::ostringstream out, err;
  std::streambuf* old_out = std::cout.rdbuf(out.rdbuf());
  std::streambuf* old_err = std::cerr.rdbuf(err.rdbuf());
  CommandRun run;
  run.exit_code = cli::command_explain(args);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

/// The arguments of a case: `--option value` lines split at the first space, other lines taken
/// whole. The first positional argument is the rule; the other positionals (packs) and the
/// values of --data and --params are paths relative to the case folder. Every option takes a value.
std::vector<std::string> case_args(const fs::path& dir) {
  std::vector<std::string> args;
  std::istringstream lines(testing::read_text(dir / "args"));
  std::string line;
  bool value_next = false, path_next = false, rule_seen = false;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> words{line};
    auto space = line.find(' ');
    if (line.rfind("-", 0) == 0 && space != std::string::npos) words = {line.substr(0, space), line.substr(space + 1)};
    for (auto& word : words) {
      if (value_next) {
        if (path_next) word = (dir / word).string();
        value_next = path_next = false;
      } else if (word.rfind("-", 0) == 0) {
        value_next = word != "--help" && word != "-h";
        path_next = word == "--data" || word == "-d" || word == "--params" || word == "-p";
      } else if (rule_seen) {
        word = (dir / word).string();
      } else {
        rule_seen = true;
      }
      args.push_back(word);
    }
  }
  return args;
}

/// Removes the case folder from paths in the output, so expectations don't depend on the checkout.
std::string relative(std::string text, const fs::path& dir) {
  std::string prefix = dir.string() + "/";
  for (auto at = text.find(prefix); at != std::string::npos; at = text.find(prefix)) text.erase(at, prefix.size());
  return text;
}

bool wants_json(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if ((args[i] == "--format" || args[i] == "-f") && args[i + 1] == "json") return true;
  }
  return false;
}

class ExplainGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ExplainGolden, OutputMatches) {
  fs::path dir = fs::path(RAPPORT_TEST_DATA) / "golden" / "explain" / GetParam();
  std::vector<std::string> args = case_args(dir);
  CommandRun run = explain(args);
  if (wants_json(args)) {
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.err, "");
    testing::expect_golden(dir / "expected.json", relative(run.out, dir));
    return;
  }
  std::string actual = run.out;
  if (!run.err.empty()) actual += "-- stderr\n" + run.err;
  actual += "-- exit " + std::to_string(run.exit_code) + "\n";
  testing::expect_golden(dir / "expected.txt", relative(actual, dir));
}

INSTANTIATE_TEST_SUITE_P(Cases, ExplainGolden, ::testing::ValuesIn(testing::golden_cases("explain", "", true)),
                         testing::test_name);

// ---------------------------------------------------------------------------------------------
// Errors

std::string eval_case(const std::string& name, const std::string& file) {
  return (fs::path(RAPPORT_TEST_DATA) / "golden" / "eval" / name / file).string();
}

std::vector<std::string> dunbar(const std::string& rule, const std::string& subject) {
  return {rule, eval_case("dunbar_edges", "pack.rules"), "--data", eval_case("dunbar_edges", "data"),
          "--subject", subject, "--as-of", "2026-11-01"};
}

TEST(ExplainErrors, UnknownRuleSuggestsTheClosest) {
  CommandRun run = explain(dunbar("dunbar_portfolio_limt", "u2"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("no loaded pack has a rule `dunbar_portfolio_limt`"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("did you mean `dunbar_portfolio_limit`?"), std::string::npos) << run.err;
}

TEST(ExplainErrors, UnknownSubjectNamesTheEntity) {
  CommandRun run = explain(dunbar("dunbar_portfolio_limit", "u9"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("no users record has the id \"u9\""), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("did you mean \"u1\"?"), std::string::npos) << run.err;
}

TEST(ExplainErrors, UnknownSubjectSuggestsAZeroPaddedId) {
  std::string examples = std::string(RAPPORT_SOURCE_DIR) + "/examples";
  CommandRun run = explain({"dunbar_portfolio_limit", examples + "/rules", "--data", examples + "/data", "--subject",
                     "usr-10", "--as-of", "2026-11-01"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("did you mean \"usr-000010\"?"), std::string::npos) << run.err;
}

TEST(ExplainErrors, UnknownValueSubjectSuggestsAValue) {
  CommandRun run = explain({"service_unit_capacity_band", eval_case("units_and_ranks", "pack.rules"), "--data",
                     eval_case("units_and_ranks", "data"), "--subject", "Support-EMA", "--as-of", "2026-11-01"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("no users record has \"Support-EMA\" as its team"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("did you mean \"Support-EMEA\"?"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("the rule's subjects are: "), std::string::npos) << run.err;
}

TEST(ExplainErrors, UsageMistakes) {
  auto args = dunbar("dunbar_portfolio_limit", "u2");
  auto without = [&](const std::string& option) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (args[i] == option) ++i;
      else out.push_back(args[i]);
    }
    return out;
  };
  EXPECT_EQ(explain(without("--subject")).exit_code, 2);
  EXPECT_EQ(explain(without("--data")).exit_code, 2);
  auto bad_format = args;
  bad_format.insert(bad_format.end(), {"--format", "xml"});
  CommandRun format = explain(bad_format);
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_NE(format.err.find("--format must be text or json"), std::string::npos) << format.err;
  auto bad_date = args;
  bad_date.back() = "yesterday";
  EXPECT_EQ(explain(bad_date).exit_code, 2);
  CommandRun help = explain({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: rapport explain RULE PACK..."), std::string::npos);
}

TEST(ExplainErrors, MissingDataIsADataError) {
  auto args = dunbar("dunbar_portfolio_limit", "u2");
  args[3] = eval_case("dunbar_edges", "no-such-directory");
  CommandRun run = explain(args);
  EXPECT_EQ(run.exit_code, 3) << run.err;
}

TEST(ExplainErrors, APlanIsNotARule) {
  CommandRun run = explain({"rebalance_portfolios", std::string(RAPPORT_SOURCE_DIR) + "/bench/packs/catalog.rules", "--data",
                     std::string(RAPPORT_SOURCE_DIR) + "/examples/data", "--subject", "usr-000010"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("`rebalance_portfolios` is a plan"), std::string::npos) << run.err;
}

// ---------------------------------------------------------------------------------------------
// An explanation agrees with `check`

TEST(ExplainAgreesWithCheck, EveryCatalogRuleOverTheExampleData) {
  cli::PipelineOptions options;
  options.pack_paths = {std::string(RAPPORT_SOURCE_DIR) + "/bench/packs/catalog.rules"};
  options.data_dir = std::string(RAPPORT_SOURCE_DIR) + "/examples/data";
  cli::Pipeline pipeline;
  cli::prepare(options, pipeline);
  ASSERT_EQ(pipeline.exit_code, cli::kExitClean);
  cli::load_data(options, pipeline);
  ASSERT_EQ(pipeline.exit_code, cli::kExitClean);
  double as_of = *model::parse_date("2026-11-01");
  engine::EvalOptions eval;
  eval.as_of = as_of;
  engine::EvalResult result = cli::evaluate_all(pipeline, eval);
  std::map<std::pair<std::string, std::string>, const engine::Finding*> findings;
  for (const auto& f : result.findings) findings[{f.rule, f.subject_id}] = &f;

  const auto& configured = pipeline.packs.front();
  engine::ExplainOptions explain_options;
  explain_options.as_of = as_of;
  explain_options.max_records = 3;
  std::size_t explained = 0;
  for (const auto& rule : configured.pack.rules) {
    // Candidates: the first rows of the subject entity (some left out by the `where`), and every
    // subject with a finding (at most 10).
    std::vector<std::string> subjects;
    if (rule.subject_kind == dsl::SubjectKind::Rows) {
      const model::Table* table = pipeline.dataset.table(rule.subject_entity);
      ASSERT_NE(table, nullptr) << rule.id;
      for (std::size_t r = 0; r < table->size() && r < 12; ++r) subjects.emplace_back(pipeline.dataset.strings.view(table->ids[r]));
    }
    std::size_t with_finding = 0;
    for (const auto& f : result.findings) {
      if (f.rule == rule.id && with_finding++ < 10) subjects.push_back(f.subject_id);
    }
    for (const auto& subject : subjects) {
      engine::ExplainError error;
      auto explanation = engine::explain(configured.pack, configured.params, pipeline.dataset, rule, subject,
                                         explain_options, error);
      ASSERT_TRUE(explanation) << rule.id << " " << subject << ": " << error.message;
      ++explained;
      if (explanation->selection.where) {
        // The `where` shown part by part agrees with the subjects the rule really looks at.
        EXPECT_EQ(explanation->included, explanation->selection.where->result == engine::Truth::True)
            << rule.id << " " << subject;
      }
      auto found = findings.find({rule.id, subject});
      if (found == findings.end()) {
        EXPECT_NE(explanation->outcome, engine::Outcome::Finding) << rule.id << " " << subject;
        continue;
      }
      EXPECT_TRUE(explanation->included) << rule.id << " " << subject;
      ASSERT_EQ(explanation->outcome, engine::Outcome::Finding) << rule.id << " " << subject;
      EXPECT_EQ(explanation->finding->message, found->second->message) << rule.id << " " << subject;
      EXPECT_EQ(explanation->finding->remedy, found->second->remedy) << rule.id << " " << subject;
      EXPECT_EQ(explanation->finding->severity, found->second->severity) << rule.id << " " << subject;
      EXPECT_EQ(explanation->finding->fingerprint(), found->second->fingerprint()) << rule.id << " " << subject;
      // Both renderings work on every catalog rule.
      EXPECT_FALSE(engine::render_explanation_text(*explanation, false).empty());
      EXPECT_FALSE(engine::render_explanation_json(*explanation).empty());
    }
  }
  EXPECT_GT(explained, 200u);
}

}  // namespace
}  // namespace rapport
