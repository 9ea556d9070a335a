// The command line as users and schedulers see it: exit codes, formats, files, help.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include "support/rapport_process.hpp"

namespace rapport {
namespace {

namespace fs = std::filesystem;

using Result = testing::ProcessResult;
using testing::slurp;

/// Runs `rapport ARGS` with stdout and stderr captured.
Result rapport(const std::string& args) { return testing::run_rapport(args); }

std::string eval_case(const std::string& name) {
  return (fs::path(RAPPORT_TEST_DATA) / "golden" / "eval" / name).string();
}

using testing::TempDir;

TEST(Cli, VersionAndHelp) {
  Result version = rapport("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("rapport ", 0), 0u);
  for (const char* command : {"check", "lint", "params", "codes", "test", "doc", "explain"}) {
    Result help = rapport(std::string(command) + " --help");
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_NE(help.out.find("usage: rapport " + std::string(command)), std::string::npos) << command;
  }
  Result none = rapport("");
  EXPECT_EQ(none.exit_code, 2);
  Result unknown = rapport("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command `frobnicate`"), std::string::npos);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(rapport("check " + eval_case("dunbar_edges")).exit_code, 2);  // --data or --source is required
  Result format = rapport("check " + eval_case("dunbar_edges") + " --data x --format xml");
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_NE(format.err.find("--format must be text, json or csv"), std::string::npos);
  Result as_of = rapport("check " + eval_case("dunbar_edges") + " --data x --as-of 2026-13-01");
  EXPECT_EQ(as_of.exit_code, 2);
  EXPECT_NE(as_of.err.find("--as-of takes a date"), std::string::npos);
}

TEST(Cli, FailOnDecidesTheExitCode) {
  std::string base = "check " + eval_case("dunbar_edges") + " --data " + eval_case("dunbar_edges") + "/data --as-of 2026-11-01";
  EXPECT_EQ(rapport(base).exit_code, 0);  // default: --fail-on none
  EXPECT_EQ(rapport(base + " --fail-on high").exit_code, 1);
  EXPECT_EQ(rapport(base + " --fail-on critical").exit_code, 0);
  EXPECT_EQ(rapport(base + " --fail-on bogus").exit_code, 2);
}

// `-o` naming a device or a pipe writes into it: the report used to go to a temporary file renamed
// over the target, which replaced `-o /dev/null` with a regular file. A FIFO stands in for the
// device here (a test must not risk the machine's /dev/null).
TEST(Cli, OutputToAPipeWritesIntoItAndLeavesItAPipe) {
  TempDir dir;
  const fs::path fifo = dir.path() / "report.pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] {
    std::ifstream in(fifo, std::ios::binary);  // blocks until rapport opens the pipe for writing
    received.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  });
  Result run = rapport("check " + eval_case("dunbar_edges") + " --data " + eval_case("dunbar_edges") +
                       "/data --as-of 2026-11-01 --format json -q -o " + fifo.string());
  reader.join();
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_NE(received.find("\"findings\""), std::string::npos) << received.substr(0, 200);
  for (const auto& entry : fs::directory_iterator(dir.path())) EXPECT_EQ(entry.path(), fifo);  // no temporary left
}

TEST(Cli, TextReportGroupsByRule) {
  Result run = rapport("check " + eval_case("dunbar_edges") + " --data " + eval_case("dunbar_edges") +
                    "/data --as-of 2026-11-01 --color never");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("HIGH dunbar_portfolio_limit — No account manager owns more accounts than a Dunbar-sized portfolio (1 finding, portfolio@1.2.0)"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("Dana Ortiz owns 151 accounts; a Dunbar-sized portfolio is at most 150 (1 over)."), std::string::npos);
  EXPECT_NE(run.out.find("2 findings (2 high) from 2 rules"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("\033["), std::string::npos);  // no colour when not a TTY
}

TEST(Cli, JsonReportHasTheVersionedSchema) {
  Result run = rapport("check " + eval_case("dunbar_edges") + " --data " + eval_case("dunbar_edges") +
                    "/data --as-of 2026-11-01 --format json");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("\"schema\": \"rapport.findings/1\""), std::string::npos);
  EXPECT_NE(run.out.find("\"as_of\": \"2026-11-01T00:00:00Z\""), std::string::npos);
  EXPECT_NE(run.out.find("\"subject\": {\"entity\": \"users\", \"id\": \"u2\", \"name\": \"Dana Ortiz\"}"), std::string::npos);
  EXPECT_NE(run.out.find("\"evidence\": {\"portfolio\": 151}"), std::string::npos);
  EXPECT_NE(run.out.find("\"fingerprint\": \""), std::string::npos);
}

TEST(Cli, CsvReportQuotesCells) {
  Result run = rapport("check " + eval_case("csv_input") + " --data " + eval_case("csv_input") + "/data --format csv");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  // The whole report: the messages are rendered as the rows are written (deferred texts).
  EXPECT_EQ(run.out,
            "severity,pack,pack_version,rule,subject_entity,subject_id,subject_name,message,remedy,tags,fingerprint\n"
            "high,csvpack,0.1.0,big_portfolio,users,u1,\"Müller, Zoë\",\"Müller, Zoë owns 3\",,,80444a0255d90ab3\n"
            "medium,csvpack,0.1.0,mixed_topics,activities,x1,,"
            "\"Terms, \"\"final\"\" with Acme Labs, Inc. 0: discount and sla\",,,7f3e6fd7e1436c34\n");
}

TEST(Cli, OutputFileIsWrittenWhole) {
  TempDir dir;
  fs::path report = dir.path() / "report.json";
  Result run = rapport("check " + eval_case("dunbar_edges") + " --data " + eval_case("dunbar_edges") +
                    "/data --as-of 2026-11-01 --format json --output " + report.string());
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_TRUE(run.out.empty());
  std::string json = slurp(report);
  EXPECT_EQ(json.rfind("{", 0), 0u);
  EXPECT_EQ(json.substr(json.size() - 2), "}\n");
  for (const auto& entry : fs::directory_iterator(dir.path())) EXPECT_EQ(entry.path().filename(), "report.json");
  // A failed run leaves the previous report as it was.
  Result broken = rapport("check " + eval_case("missing_column") + " --data " + eval_case("missing_column") +
                       "/data --format json --output " + report.string());
  EXPECT_EQ(broken.exit_code, 3);
  EXPECT_EQ(slurp(report), json);
}

TEST(Cli, DataErrorsExitThree) {
  Result run = rapport("check " + eval_case("missing_column") + " --data " + eval_case("missing_column") + "/data");
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(run.err.find("error[DAT6004]: rule capacity uses users.capacity_hours_week"), std::string::npos) << run.err;
  Result bad = rapport("check " + eval_case("bad_records_fail") + " --data " + eval_case("bad_records_fail") + "/data");
  EXPECT_EQ(bad.exit_code, 3);
  Result skipped = rapport("check " + eval_case("bad_records_fail") + " --data " + eval_case("bad_records_fail") +
                        "/data --on-bad-record skip --color never");
  EXPECT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_NE(skipped.out.find("bad record(s) skipped"), std::string::npos) << skipped.out;
}

TEST(Cli, DisabledRulesNeedNoData) {
  TempDir dir;
  std::ofstream(dir.path() / "off.yaml") << "rules:\n  capacity: { enabled: false }\n";
  Result run = rapport("check " + eval_case("missing_column") + " --data " + eval_case("missing_column") +
                       "/data --params " + (dir.path() / "off.yaml").string() + " --color never");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("0 findings (none) from 0 rules"), std::string::npos) << run.out;
}

TEST(Cli, CheckFromASourceEqualsCheckFromFiles) {
  TempDir dir;
  std::string data = std::string(RAPPORT_SOURCE_DIR) + "/examples/data";
  std::ofstream(dir.path() / "source.yaml") << "kind: files\npath: " << data
                                            << "\nobjects: [users, accounts, contacts, opportunities, activities, cases, contracts]\n";
  std::string pack = std::string(RAPPORT_SOURCE_DIR) + "/examples/rules";
  Result files = rapport("check " + pack + " --data " + data + " --as-of 2026-11-01 --format json");
  Result source = rapport("check " + pack + " --source " + (dir.path() / "source.yaml").string() +
                          " --as-of 2026-11-01 --format json -q");
  ASSERT_EQ(source.exit_code, 0) << source.err;
  EXPECT_EQ(files.out, source.out);
  EXPECT_NE(source.out.find("\"rule\": \"neglected_long_tail\""), std::string::npos);
  Result both = rapport("check " + pack + " --data " + data + " --source " + (dir.path() / "source.yaml").string());
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("exactly one of --data DIR or --source"), std::string::npos) << both.err;
  std::ofstream(dir.path() / "bad.yaml") << "kind: files\npaht: " << data << "\n";
  Result bad = rapport("check " + pack + " --source " + (dir.path() / "bad.yaml").string() + " --color never");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

TEST(Cli, RuleErrorsExitTwoWithDiagnostics) {
  TempDir dir;
  std::ofstream(dir.path() / "bad.rules") << "pack p\n\nrule r\n  title \"T\"\n  for each a in acounts\n  when a.x\n  message \"m\"\nend\n";
  Result text = rapport("lint " + (dir.path() / "bad.rules").string() + " --color never");
  EXPECT_EQ(text.exit_code, 2);
  EXPECT_NE(text.err.find("bad.rules:5:17: error[DSL2001]: unknown entity `acounts`"), std::string::npos) << text.err;
  EXPECT_NE(text.err.find("= help: did you mean `accounts`?"), std::string::npos);
  Result json = rapport("lint " + (dir.path() / "bad.rules").string() + " --diagnostics json");
  EXPECT_EQ(json.exit_code, 2);
  EXPECT_NE(json.err.find("\"code\":\"DSL2001\""), std::string::npos) << json.err;
}

TEST(Cli, LintAcceptsGoodPacks) {
  Result run = rapport("lint " + eval_case("dunbar_edges"));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("ok: 1 pack, 2 rules"), std::string::npos) << run.err;
}

TEST(Cli, ParamsShowsEffectiveValuesAndOrigins) {
  Result run = rapport("params " + eval_case("param_overrides") + " --params " + eval_case("param_overrides") +
                    "/acme.yaml --set inner_circle=6");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("dunbar_limit = 120    # " + eval_case("param_overrides") + "/acme.yaml:4"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("inner_circle = 6    # --set"), std::string::npos) << run.out;
}

TEST(Cli, BadOverridesPointIntoTheYaml) {
  TempDir dir;
  std::ofstream(dir.path() / "o.yaml") << "pack: portfolio\nparams:\n  dunbar_limt: 120\n  inner_circle: 5%\n";
  Result run = rapport("params " + eval_case("dunbar_edges") + " --params " + (dir.path() / "o.yaml").string() + " --color never");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("o.yaml:3:3: error[PAR5002]: pack portfolio has no parameter `dunbar_limt`"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("did you mean `dunbar_limit`?"), std::string::npos);
  EXPECT_NE(run.err.find("o.yaml:4:17: error[PAR5003]"), std::string::npos) << run.err;
  Result set = rapport("params " + eval_case("dunbar_edges") + " --set dunbar_limit=lots --color never");
  EXPECT_EQ(set.exit_code, 2);
  EXPECT_NE(set.err.find("--set:1:14:"), std::string::npos) << set.err;
  Result unknown = rapport("params " + eval_case("dunbar_edges") + " --set dunbar=3 --color never");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no loaded pack has a parameter `dunbar`"), std::string::npos) << unknown.err;
}

TEST(Cli, ABrokenOverrideFileIsReportedOnceWhateverTheNumberOfPacks) {
  TempDir dir;
  std::ofstream(dir.path() / "broken.yaml") << "pack: portfolio\nparams: { dunbar_limit: 120\n";
  Result run = rapport("params " + eval_case("dunbar_edges") + " " + eval_case("lists_and_keys") + " --params " +
                       (dir.path() / "broken.yaml").string() + " --color never");
  EXPECT_EQ(run.exit_code, 2);
  std::size_t reports = 0;
  for (auto at = run.err.find("error[PAR5001]"); at != std::string::npos; at = run.err.find("error[PAR5001]", at + 1)) ++reports;
  EXPECT_EQ(reports, 1u) << run.err;
}

TEST(Cli, CodesListsTheTable) {
  Result run = rapport("codes");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("DSL2002  unknown field of an entity"), std::string::npos);
}

}  // namespace
}  // namespace rapport

namespace rapport {
namespace {

/// The whole catalog over generated data: the same input gives the same bytes, and the CSV
/// export of the same data gives the same findings as the JSONL one.
TEST(CliEndToEnd, DeterministicAndFormatIndependent) {
  TempDir dir;
  std::string generator = std::string(RAPPORT_SHARED_DIR) + "/datagen/gen_crm.py";
  ASSERT_TRUE(fs::exists(generator)) << generator;
  for (const char* format : {"jsonl", "csv"}) {
    std::string command = "python3 " + generator + " --out " + (dir.path() / format).string() +
                          " --accounts 300 --seed 3 --as-of 2026-11-01 --jobs 1 --quiet --format " + format;
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  std::string pack = std::string(RAPPORT_SOURCE_DIR) + "/bench/packs/catalog.rules";
  auto check = [&](const char* format) {
    return rapport("check " + pack + " --data " + (dir.path() / format).string() + " --as-of 2026-11-01 --format json");
  };
  Result first = check("jsonl");
  Result second = check("jsonl");
  Result csv = check("csv");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(first.out, second.out);
  EXPECT_EQ(first.out, csv.out);
  EXPECT_NE(first.out.find("\"rule\": \"dunbar_portfolio_limit\""), std::string::npos);
}

}  // namespace
}  // namespace rapport

namespace rapport {
namespace {

std::string pack_fixture(const std::string& name) {
  return (fs::path(RAPPORT_TEST_DATA) / "data" / "packs" / name).string();
}

TEST(CliPacks, TestRunnerPassesAndCloses) {
  Result run = rapport("test " + pack_fixture("sample") + " --color never");
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("portfolio@1.0.0"), std::string::npos);
  EXPECT_NE(run.out.find("    PASS  one over fires\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("    PASS  records from a fixtures folder\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\n5 passed, 0 failed\n"), std::string::npos) << run.out;
}

TEST(CliPacks, TestRunnerShowsADiffForEachFailure) {
  Result run = rapport("test " + pack_fixture("failing") + " --color never");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.out.find("FAIL  wrong message"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("~ high dunbar_portfolio_limit u1\n          expected message: \"nope\""), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("no pack here has a parameter `dunbar_limt`"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\n3 passed, 2 failed\n"), std::string::npos) << run.out;
  Result filtered = rapport("test " + pack_fixture("failing") + " --filter 'one over' --color never");
  EXPECT_EQ(filtered.exit_code, 0);
  EXPECT_NE(filtered.out.find("\n1 passed, 0 failed\n"), std::string::npos) << filtered.out;
  EXPECT_EQ(rapport("test " + eval_case("dunbar_edges")).exit_code, 2);  // not a pack folder
}

TEST(CliPacks, ExplainWorksOnAShippedPackFolder) {
  std::string packs = std::string(RAPPORT_SOURCE_DIR) + "/rulesets/portfolio";
  std::string data = std::string(RAPPORT_SOURCE_DIR) + "/examples/data";
  Result run = rapport("explain dunbar_portfolio_limit " + packs + " --data " + data +
                       " --subject usr-000010 --as-of 2026-11-01 --records 3 --color never");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("    107 > 150 → false"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("… and 104 more"), std::string::npos) << run.out;
}

TEST(CliPacks, DocWritesTheMarkdownReference) {
  Result run = rapport("doc " + pack_fixture("sample"));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.rfind("# Portfolio\n", 0), 0u) << run.out;
  EXPECT_NE(run.out.find("| `dunbar_limit` | count | 150 | Most accounts one account manager can know well |"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("- Severity: high; escalates to critical when `portfolio > dunbar_limit + 50`"), std::string::npos);
  EXPECT_NE(run.out.find("> Ana Ruiz owns 3 accounts"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace rapport
