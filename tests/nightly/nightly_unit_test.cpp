// The pieces of `rapport run`: nightly.yaml, waivers, the state folder and its lock, and the
// comparison of one run with the previous one.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "diag/render.hpp"
#include "nightly/compare.hpp"
#include "nightly/config.hpp"
#include "nightly/state.hpp"
#include "nightly/waivers.hpp"

namespace rapport::nightly {
namespace {

namespace fs = std::filesystem;

class NightlyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rapport-nightly-unit-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }
  /// Diagnostics as a user reads them, with the temp folder shown as `DIR`.
  std::string rendered(const diag::DiagnosticSink& sink) {
    std::string text = diag::render_text(sink.sorted());
    std::string dir = dir_.string() + "/";
    for (std::size_t at; (at = text.find(dir)) != std::string::npos;) text.replace(at, dir.size(), "DIR/");
    return text;
  }
  fs::path dir_;
};

// ---------------------------------------------------------------------------------------------
// nightly.yaml

TEST_F(NightlyFiles, ConfigReadsEverySettingWithPathsRelativeToTheFile) {
  std::string path = write("nightly.yaml", R"(version: 1
title: Acme nightly
as_of: 2026-11-01
data: data
packs: [rules, /abs/pack]
params: params/acme.yaml
set: { dunbar_limit: 120 }
state: state
waivers: waivers.yaml
fail_on: high
on_bad_record: skip
outputs:
  dir: out
  formats: [html, sarif]
  digests: { formats: [markdown], min_severity: high }
dunbar_line: 140
history: 30
)");
  diag::DiagnosticSink sink;
  auto config = load_config(path, "/default/state", sink);
  ASSERT_TRUE(config) << rendered(sink);
  std::string d = dir_.string();
  EXPECT_EQ(config->title, "Acme nightly");
  EXPECT_EQ(config->as_of, "2026-11-01");
  EXPECT_EQ(config->data_dir, d + "/data");
  EXPECT_EQ(config->packs, (std::vector<std::string>{d + "/rules", "/abs/pack"}));
  EXPECT_EQ(config->param_files, (std::vector<std::string>{d + "/params/acme.yaml"}));
  EXPECT_EQ(config->sets, (std::vector<std::string>{"dunbar_limit=120"}));
  EXPECT_EQ(config->state_dir, d + "/state");
  EXPECT_EQ(config->waivers_file, d + "/waivers.yaml");
  EXPECT_EQ(config->fail_on, "high");
  EXPECT_EQ(config->on_bad_record, "skip");
  EXPECT_EQ(config->outputs_dir, d + "/out");
  EXPECT_EQ(config->formats, (std::vector<Format>{Format::Html, Format::Sarif}));
  EXPECT_TRUE(config->digests);
  EXPECT_EQ(config->digest_formats, (std::vector<std::string>{"markdown"}));
  EXPECT_EQ(config->digests_dir, "");  // <outputs>/digests
  EXPECT_EQ(config->digest_min_severity, "high");
  EXPECT_EQ(config->dunbar_line, 140);
  EXPECT_EQ(config->history, 30u);
  EXPECT_EQ(config->writeback.mode, WritebackMode::Off);
  EXPECT_EQ(config->writeback.journal, "");  // <state>/writeback-journal.jsonl
}

TEST_F(NightlyFiles, ConfigDefaultsToEveryFormatAndTheDefaultStateFolder) {
  std::string path = write("nightly.yaml", "data: data\npacks: rules\noutputs: { dir: out }\n");
  diag::DiagnosticSink sink;
  auto config = load_config(path, "/var/lib/rapport/nightly/nightly", sink);
  ASSERT_TRUE(config) << rendered(sink);
  EXPECT_EQ(config->formats.size(), 6u);
  EXPECT_EQ(config->state_dir, "/var/lib/rapport/nightly/nightly");
  EXPECT_FALSE(config->digests);
  EXPECT_FALSE(config->webhook);
  EXPECT_EQ(config->fail_on, "none");
}

TEST_F(NightlyFiles, ConfigMistakesAreReportedAtTheirPlaceWithAHint) {
  std::string path = write("nightly.yaml", R"(data: data
pakcs: rules
fail_on: hihg
outputs:
  dir: out
  formats: [html, pdf]
)");
  diag::DiagnosticSink sink;
  EXPECT_FALSE(load_config(path, "/state", sink));
  EXPECT_EQ(rendered(sink),
            "DIR/nightly.yaml:1:1: error[RUN7001]: name the rule packs to run: `packs: [rules/]`\n"
            " 1 | data: data\n"
            "   | ^\n"
            "DIR/nightly.yaml:2:1: error[PAR5007]: unknown key `pakcs` in the nightly run file\n"
            " 2 | pakcs: rules\n"
            "   | ^~~~~\n"
            "   = help: did you mean `packs`?\n"
            "DIR/nightly.yaml:3:10: error[RUN7001]: `fail_on` must be one of info, low, medium, high, critical, none, got `hihg`\n"
            " 3 | fail_on: hihg\n"
            "   |          ^~~~\n"
            "   = help: did you mean `high`?\n"
            "DIR/nightly.yaml:6:19: error[RUN7001]: `outputs.formats` must be one of text, json, csv, junit, sarif, html, got `pdf`\n"
            " 6 |   formats: [html, pdf]\n"
            "   |                   ^~~\n"
            "4 errors, 0 warnings\n");
}

TEST_F(NightlyFiles, ConfigRefusesAWebhookUrlWrittenInTheFile) {
  std::string path = write("nightly.yaml", R"(data: data
packs: rules
outputs: { dir: out }
notify:
  webhook:
    url: https://hooks.slack.com/services/T000/B000/XXXXSECRET
)");
  diag::DiagnosticSink sink;
  EXPECT_FALSE(load_config(path, "/state", sink));
  std::string text = rendered(sink);
  EXPECT_NE(text.find("error[RUN7001]: a webhook URL is a secret: do not write it in the config"), std::string::npos) << text;
  EXPECT_NE(text.find("help: put it in an environment variable and write `url_env: RAPPORT_WEBHOOK_URL`"), std::string::npos);
}

TEST_F(NightlyFiles, ConfigWritebackNeedsACrmAndSomethingToWrite) {
  std::string path = write("nightly.yaml", R"(data: data
packs: rules
outputs: { dir: out }
writeback: { mode: apply }
)");
  diag::DiagnosticSink sink;
  EXPECT_FALSE(load_config(path, "/state", sink));
  std::string text = rendered(sink);
  EXPECT_NE(text.find("write-back needs something to write: `flag_field: NAME`, `tasks: true`, or both"), std::string::npos) << text;
  EXPECT_NE(text.find("write-back needs a CRM: this run reads `data` files"), std::string::npos) << text;
}

TEST_F(NightlyFiles, ConfigNeedsDataOrSourceButNotBoth) {
  std::string path = write("nightly.yaml", "data: d\nsource: s.yaml\npacks: r\noutputs: { dir: o }\n");
  diag::DiagnosticSink sink;
  EXPECT_FALSE(load_config(path, "/state", sink));
  EXPECT_NE(rendered(sink).find("DIR/nightly.yaml:2:9: error[RUN7001]: give the data with one of `data`"), std::string::npos)
      << rendered(sink);
}

TEST_F(NightlyFiles, ConfigThatIsNotYamlGetsItsPosition) {
  std::string path = write("nightly.yaml", "packs: [rules\n");
  diag::DiagnosticSink sink;
  EXPECT_FALSE(load_config(path, "/state", sink));
  EXPECT_NE(rendered(sink).find("error[PAR5001]: the YAML cannot be parsed"), std::string::npos) << rendered(sink);
}

// ---------------------------------------------------------------------------------------------
// Waivers

constexpr double kNov1 = 1'793'491'200;  // 2026-11-01T00:00:00Z

TEST_F(NightlyFiles, WaiversApplyThroughTheirExpiryDay) {
  std::string path = write("waivers.yaml", R"(waivers:
  - { rule: r1, subject: acc-1, reason: because, owner: maya, expires: 2026-11-01 }
  - { rule: r2, subject: "*", reason: because, owner: maya, expires: 2026-10-31 }
)");
  diag::DiagnosticSink sink;
  auto waivers = load_waivers(path, sink);
  ASSERT_TRUE(waivers) << rendered(sink);
  ASSERT_EQ(waivers->size(), 2u);
  EXPECT_EQ((*waivers)[0].waiver.location, dir_.string() + "/waivers.yaml:2:5");

  // On 2026-11-01 the first still applies; the second expired at the end of 2026-10-31.
  auto split = split_waivers(*waivers, kNov1 + 3600, {"r1", "r2"}, sink);
  ASSERT_EQ(split.active.size(), 1u);
  EXPECT_EQ(split.active[0].waiver.rule, "r1");
  ASSERT_EQ(split.expired.size(), 1u);
  EXPECT_EQ(rendered(sink),
            "DIR/waivers.yaml:3:70: warning[RUN7004]: this waiver of `r2` for `*` expired on 2026-10-31: its findings are "
            "reported again\n"
            " 3 |   - { rule: r2, subject: \"*\", reason: because, owner: maya, expires: 2026-10-31 }\n"
            "   |                                                                      ^~~~~~~~~~\n"
            "   = help: renew it with a new date if the reason still holds (maya granted it), or delete it\n"
            "0 errors, 1 warning\n");

  // A day later the first has expired too.
  diag::DiagnosticSink later;
  auto next_day = split_waivers(*waivers, kNov1 + 86400, {"r1", "r2"}, later);
  EXPECT_TRUE(next_day.active.empty());
  EXPECT_EQ(next_day.expired.size(), 2u);

  EXPECT_EQ(match_waiver(split.active, "r1", "acc-1"), 0);
  EXPECT_EQ(match_waiver(split.active, "r1", "acc-2"), -1);
  EXPECT_EQ(match_waiver(split.active, "r2", "acc-1"), -1);
}

TEST_F(NightlyFiles, WildcardWaiverMatchesEverySubjectOfItsRule) {
  std::vector<LoadedWaiver> active(1);
  active[0].waiver.rule = "r2";
  active[0].waiver.subject = "*";
  EXPECT_EQ(match_waiver(active, "r2", "anything"), 0);
  EXPECT_EQ(match_waiver(active, "r1", "anything"), -1);
}

TEST_F(NightlyFiles, WaiverWithoutReasonOwnerOrDateIsAnError) {
  std::string path = write("waivers.yaml", R"(waivers:
  - rule: r1
    subject: acc-1
    expires: next week
)");
  diag::DiagnosticSink sink;
  EXPECT_FALSE(load_waivers(path, sink));
  EXPECT_EQ(rendered(sink),
            "DIR/waivers.yaml:2:5: error[RUN7002]: this waiver has no `reason`\n"
            " 2 |   - rule: r1\n"
            "   |     ^\n"
            "   = help: say why the finding is accepted: people reading the report need to know\n"
            "DIR/waivers.yaml:2:5: error[RUN7002]: this waiver has no `owner`\n"
            " 2 |   - rule: r1\n"
            "   |     ^\n"
            "   = help: say who granted the waiver (a name or an e-mail address)\n"
            "DIR/waivers.yaml:4:14: error[RUN7002]: `expires` must be a date (YYYY-MM-DD), got `next week`\n"
            " 4 |     expires: next week\n"
            "   |              ^~~~~~~~~\n"
            "3 errors, 0 warnings\n");
}

TEST_F(NightlyFiles, WaiverForAnUnknownRuleIsAWarningWithDidYouMean) {
  std::string path = write("waivers.yaml",
                           "waivers:\n  - { rule: dunbar_limt, subject: u1, reason: x, owner: y, expires: 2027-01-01 }\n");
  diag::DiagnosticSink sink;
  auto waivers = load_waivers(path, sink);
  ASSERT_TRUE(waivers);
  auto split = split_waivers(*waivers, kNov1, {"dunbar_limit"}, sink);
  EXPECT_EQ(split.active.size(), 1u);
  EXPECT_FALSE(sink.has_errors());
  EXPECT_NE(rendered(sink).find("warning[RUN7003]: no pack of this run has a rule `dunbar_limt`: the waiver matches nothing"),
            std::string::npos);
  EXPECT_NE(rendered(sink).find("help: did you mean `dunbar_limit`?"), std::string::npos);
}

TEST_F(NightlyFiles, EmptyWaiversFileWaivesNothing) {
  diag::DiagnosticSink sink;
  auto empty = load_waivers(write("a.yaml", ""), sink);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto none = load_waivers(write("b.yaml", "waivers:\n"), sink);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(load_waivers(write("c.yaml", "- rule: r\n"), sink));
}

// ---------------------------------------------------------------------------------------------
// State and lock

engine::Finding finding(const std::string& rule, const std::string& subject, dsl::Severity severity) {
  engine::Finding f;
  f.pack = "p";
  f.rule = rule;
  f.title = "Title of " + rule;
  f.severity = severity;
  f.subject_entity = "accounts";
  f.subject_id = subject;
  f.subject_name = "Name \"" + subject + "\"";
  return f;
}

TEST_F(NightlyFiles, StateRoundTripsThroughItsFile) {
  std::vector<engine::Finding> findings = {finding("r1", "a", dsl::Severity::High), finding("r2", "b", dsl::Severity::Low)};
  RunFacts facts{"run-1", "2026-11-02T02:00:00Z", "2026-11-01T00:00:00Z", 90};
  Comparison first = compare(findings, {"u1", ""}, State{}, {}, facts);
  std::string error;
  std::ofstream(dir_ / "state.json") << state_json(first.next);
  auto read = read_state(dir_.string(), error);
  ASSERT_TRUE(read) << error;
  EXPECT_TRUE(read->exists);
  EXPECT_EQ(state_json(*read), state_json(first.next));
  EXPECT_EQ(read->last_run_id, "run-1");
  ASSERT_EQ(read->findings.size(), 2u);
  ASSERT_EQ(read->history.size(), 1u);
  EXPECT_EQ(read->history[0].open, 2u);
  EXPECT_EQ(read->history[0].by_severity[static_cast<int>(dsl::Severity::High)], 1u);
}

TEST_F(NightlyFiles, MissingStateIsAFirstRunAndADamagedOneIsAnError) {
  std::string error;
  auto none = read_state(dir_.string(), error);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->exists);

  std::ofstream(dir_ / "state.json") << "{\"schema\": \"rapport.state/1\", \"last_run\": ";
  EXPECT_FALSE(read_state(dir_.string(), error));
  EXPECT_NE(error.find("state.json is damaged"), std::string::npos) << error;
  EXPECT_NE(error.find("move it away to start afresh"), std::string::npos) << error;

  std::ofstream(dir_ / "state.json", std::ios::trunc) << "{\"schema\": \"rapport.state/9\"}";
  EXPECT_FALSE(read_state(dir_.string(), error));
  EXPECT_NE(error.find("was written by another version of Rapport (schema rapport.state/9"), std::string::npos) << error;
}

TEST_F(NightlyFiles, SecondLockOnTheSameStateFolderIsRefusedUntilTheFirstIsReleased) {
  std::string error;
  auto first = std::make_unique<RunLock>();
  ASSERT_TRUE(first->acquire((dir_ / "state").string(), "pid 42, started 2026-11-22T02:00:00Z", error)) << error;
  RunLock second;
  EXPECT_FALSE(second.acquire((dir_ / "state").string(), "pid 43", error));
  EXPECT_NE(error.find("another run is using the state folder"), std::string::npos) << error;
  EXPECT_NE(error.find("(pid 42, started 2026-11-22T02:00:00Z)"), std::string::npos) << error;
  first.reset();
  RunLock third;
  EXPECT_TRUE(third.acquire((dir_ / "state").string(), "pid 44", error)) << error;
}

// ---------------------------------------------------------------------------------------------
// This run against the previous one

TEST(Compare, FirstRunReportsEveryFindingAsNew) {
  RunFacts facts{"run-1", "2026-11-02T02:00:00Z", "2026-11-01T00:00:00Z", 90};
  auto c = compare({finding("r1", "a", dsl::Severity::High)}, {"u1"}, State{}, {}, facts);
  ASSERT_EQ(c.findings.size(), 1u);
  EXPECT_EQ(c.findings[0].status, reports::Status::New);
  EXPECT_EQ(c.findings[0].first_seen, "2026-11-01T00:00:00Z");
  EXPECT_EQ(c.findings[0].owner_id, "u1");
  EXPECT_TRUE(c.resolved.empty());
  EXPECT_EQ(c.point.open, 1u);
  EXPECT_EQ(c.point.new_findings, 1u);
}

TEST(Compare, SecondRunTellsNewStillOpenAndResolvedApart) {
  RunFacts day1{"run-1", "2026-11-02T02:00:00Z", "2026-11-01T00:00:00Z", 90};
  auto first = compare({finding("r1", "a", dsl::Severity::High), finding("r1", "b", dsl::Severity::Medium),
                        finding("r2", "c", dsl::Severity::Critical)},
                       {"u1", "u2", ""}, State{}, {}, day1);
  RunFacts day2{"run-2", "2026-11-03T02:00:00Z", "2026-11-02T00:00:00Z", 90};
  auto second = compare({finding("r1", "a", dsl::Severity::Critical), finding("r3", "d", dsl::Severity::Low)},
                        {"u1", "u3"}, first.next, {}, day2);
  ASSERT_EQ(second.findings.size(), 2u);
  EXPECT_EQ(second.findings[0].status, reports::Status::Open);
  EXPECT_EQ(second.findings[0].first_seen, "2026-11-01T00:00:00Z");  // first seen the day before
  EXPECT_EQ(second.findings[1].status, reports::Status::New);
  EXPECT_EQ(second.findings[1].first_seen, "2026-11-02T00:00:00Z");
  ASSERT_EQ(second.resolved.size(), 2u);
  // Highest severity first.
  EXPECT_EQ(second.resolved[0].rule, "r2");
  EXPECT_EQ(second.resolved[0].severity, dsl::Severity::Critical);
  EXPECT_EQ(second.resolved[1].subject_id, "b");
  EXPECT_EQ(second.resolved[1].owner_id, "u2");
  EXPECT_EQ(second.point.open, 2u);
  EXPECT_EQ(second.point.new_findings, 1u);
  EXPECT_EQ(second.point.resolved, 2u);
  ASSERT_EQ(second.next.history.size(), 2u);
  EXPECT_EQ(second.next.history[0].run_at, "2026-11-02T02:00:00Z");
  EXPECT_EQ(second.next.history[1].run_at, "2026-11-03T02:00:00Z");
}

TEST(Compare, WaivedFindingsAreNotOpenAndUnusedWaiversAreListed) {
  std::vector<LoadedWaiver> active(2);
  active[0].waiver.rule = "r1";
  active[0].waiver.subject = "a";
  active[0].waiver.reason = "accepted";
  active[1].waiver.rule = "r9";
  active[1].waiver.subject = "*";
  RunFacts facts{"run-1", "2026-11-02T02:00:00Z", "2026-11-01T00:00:00Z", 90};
  auto c = compare({finding("r1", "a", dsl::Severity::High), finding("r1", "b", dsl::Severity::High)}, {"u1", "u1"},
                   State{}, active, facts);
  EXPECT_EQ(c.findings[0].status, reports::Status::Waived);
  EXPECT_EQ(c.findings[0].waiver, 0);
  EXPECT_EQ(c.findings[1].status, reports::Status::New);
  EXPECT_EQ(c.findings[1].waiver, -1);
  EXPECT_EQ(c.point.open, 1u);
  EXPECT_EQ(c.point.waived, 1u);
  ASSERT_EQ(c.unused_waivers.size(), 1u);
  EXPECT_EQ(c.unused_waivers[0].rule, "r9");

  // When the waiver expires, the finding is open again, and was seen before: still open.
  RunFacts next{"run-2", "2026-11-03T02:00:00Z", "2026-11-02T00:00:00Z", 90};
  auto after = compare({finding("r1", "a", dsl::Severity::High)}, {"u1"}, c.next, {}, next);
  EXPECT_EQ(after.findings[0].status, reports::Status::Open);
  EXPECT_EQ(after.findings[0].first_seen, "2026-11-01T00:00:00Z");
  EXPECT_EQ(after.point.resolved, 1u);  // r1/b went away
}

TEST(Compare, HistoryKeepsTheLastRunsOnly) {
  State state;
  for (int day = 1; day <= 5; ++day) {
    RunFacts facts{"run", "2026-11-0" + std::to_string(day) + "T02:00:00Z", "2026-11-0" + std::to_string(day), 3};
    state = compare({}, {}, state, {}, facts).next;
  }
  ASSERT_EQ(state.history.size(), 3u);
  EXPECT_EQ(state.history.front().run_at, "2026-11-03T02:00:00Z");
  EXPECT_EQ(state.history.back().run_at, "2026-11-05T02:00:00Z");
}

}  // namespace
}  // namespace rapport::nightly
