// `rapport run` end to end, through the binary as a scheduler starts it: every output from one
// run, new / still open / resolved across runs over changed data, waivers and their expiry,
// the lock, a failed run leaving the previous reports and state intact, the webhook on loopback,
// JSON logs and exit codes.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "connectors/loopback_server.hpp"
#include "nightly/state.hpp"
#include "support/rapport_process.hpp"

namespace rapport {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::run_rapport;
using testing::slurp;

const fs::path kSource = RAPPORT_SOURCE_DIR;

/// The four guidance packs (all 17 rules), as examples/nightly.yaml runs them.
std::string packs_yaml() {
  std::string out = "packs:\n";
  for (const char* pack : {"portfolio", "relationships", "service-gaps", "service-operations"}) {
    out += "  - " + (kSource / "rulesets" / pack).string() + "\n";
  }
  return out;
}

/// Fingerprints of `rapport check` over `data` (the unoptimised path the run must agree with).
std::set<std::string> check_fingerprints(const fs::path& data) {
  std::string packs;
  for (const char* pack : {"portfolio", "relationships", "service-gaps", "service-operations"}) {
    packs += " " + (kSource / "rulesets" / pack).string();
  }
  auto result = run_rapport("check" + packs + " --data " + data.string() + " --as-of 2026-11-01 --format json");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  std::set<std::string> out;
  json::value doc = json::parse(result.out);
  for (const auto& f : doc.at("findings").as_array()) out.insert(std::string(f.at("fingerprint").as_string()));
  return out;
}

struct RunJson {
  std::map<std::string, std::string> status;  // fingerprint -> new / open / waived
  std::set<std::string> resolved;
  json::value doc;
};

RunJson read_run_json(const fs::path& file) {
  RunJson out;
  out.doc = json::parse(slurp(file));
  EXPECT_EQ(out.doc.at("schema").as_string(), "rapport.run/1");
  for (const auto& f : out.doc.at("findings").as_array()) {
    out.status[std::string(f.at("fingerprint").as_string())] = std::string(f.at("status").as_string());
  }
  for (const auto& r : out.doc.at("resolved").as_array()) out.resolved.insert(std::string(r.at("fingerprint").as_string()));
  return out;
}

/// A work folder with its own copy of the example data and a nightly.yaml over it.
class NightlyRun : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() / "data";
    fs::copy(kSource / "examples" / "data", data_, fs::copy_options::recursive);
    config_ = dir_.path() / "nightly.yaml";
    write_config();
  }

  void write_config(const std::string& extra = "", const std::string& outputs = "") {
    std::ofstream(config_) << "version: 1\ntitle: Test nightly\nas_of: 2026-11-01\ndata: data\n" << packs_yaml()
                           << "state: state\nfail_on: high\n"
                           << (outputs.empty() ? "outputs:\n  dir: out\n  digests: { formats: [markdown, html] }\n" : outputs)
                           << extra;
  }

  testing::ProcessResult run(const std::string& options = "", const std::string& env = "") {
    return run_rapport("run " + config_.string() + " --color never " + options, env);
  }

  fs::path out(const std::string& name) const { return dir_.path() / "out" / name; }

  /// Appends a line to one of the data files.
  void append(const std::string& entity, const std::string& line) {
    std::ofstream(data_ / (entity + ".jsonl"), std::ios::app) << line << "\n";
  }
  /// Replaces the first occurrence of `from` in a data file.
  void replace(const std::string& entity, const std::string& from, const std::string& to) {
    fs::path file = data_ / (entity + ".jsonl");
    std::string text = slurp(file);
    auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    std::ofstream(file, std::ios::trunc) << text;
  }

  testing::TempDir dir_;
  fs::path data_;
  fs::path config_;
};

TEST_F(NightlyRun, FirstRunWritesEveryOutputAndReportsEveryFindingAsNew) {
  auto result = run();
  ASSERT_EQ(result.exit_code, 1) << result.err;  // high findings, fail_on: high
  for (const char* file : {"report.html", "findings.json", "findings.csv", "junit.xml", "findings.sarif", "findings.txt",
                           "digests/index.json"}) {
    EXPECT_TRUE(fs::is_regular_file(out(file))) << file;
  }
  EXPECT_TRUE(fs::is_regular_file(dir_.path() / "state" / "state.json"));

  std::set<std::string> expected = check_fingerprints(data_);
  RunJson run_json = read_run_json(out("findings.json"));
  ASSERT_EQ(run_json.status.size(), expected.size());
  for (const auto& [fingerprint, status] : run_json.status) {
    EXPECT_TRUE(expected.count(fingerprint)) << fingerprint;
    EXPECT_EQ(status, "new") << fingerprint;
  }
  EXPECT_TRUE(run_json.resolved.empty());

  // Every digest in the index exists, as Markdown and HTML, and names its owner's findings.
  json::value index = json::parse(slurp(out("digests/index.json")));
  EXPECT_EQ(index.at("schema").as_string(), "rapport.digests/1");
  const auto& digests = index.at("digests").as_array();
  ASSERT_FALSE(digests.empty());
  for (const auto& d : digests) {
    for (const auto& file : d.at("files").as_array()) {
      EXPECT_TRUE(fs::is_regular_file(out("digests/" + std::string(file.as_string())))) << file;
    }
  }
  std::string md = slurp(out("digests/" + std::string(digests[0].at("files").as_array()[0].as_string())));
  EXPECT_NE(md.find(std::string(digests[0].at("name").as_string())), std::string::npos) << md.substr(0, 400);

  // Progress on standard error: a line per stage, then the summary.
  for (const char* stage : {"compile ", "load ", "evaluate ", "compare ", "write "}) {
    EXPECT_NE(result.err.find(std::string("\n") + stage), std::string::npos) << stage << "\n" << result.err;
  }
  EXPECT_NE(result.err.find("rapport run: " + std::to_string(expected.size()) + " new, 0 still open, 0 resolved, 0 waived"),
            std::string::npos)
      << result.err;
}

TEST_F(NightlyRun, SecondRunOverChangedDataReportsNewStillOpenAndResolved) {
  auto first = run("--quiet");
  ASSERT_EQ(first.exit_code, 1) << first.err;
  std::set<std::string> before = check_fingerprints(data_);

  // Overnight: an unowned account gets an owner; an account without an owner appears; a meeting
  // mixes discount and SLA talks.
  replace("accounts", R"("id":"acc-00000361","name":"Umbrella Bank AG","owner_id":null)",
          R"("id":"acc-00000361","name":"Umbrella Bank AG","owner_id":"usr-000010")");
  std::string account = slurp(data_ / "accounts.jsonl");
  std::string line = account.substr(0, account.find('\n'));
  std::string id_field = line.substr(0, line.find(',') + 1);
  std::string fresh = R"({"id":"acc-09999999",)" + line.substr(id_field.size());
  auto owner = fresh.find("\"owner_id\":\"");
  ASSERT_NE(owner, std::string::npos) << fresh;
  fresh.replace(owner, fresh.find('"', owner + 12) + 1 - owner, "\"owner_id\":null");
  append("accounts", fresh);
  append("activities",
         R"({"id":"act-09999999","account_id":"acc-00000084","owner_id":"usr-000010","opportunity_id":null,"contact_id":null,"type":"meeting","subject":"Renewal","topics":["discount","sla"],"on_site":false,"started_at":"2026-10-20T10:00:00Z","duration_minutes":60})");
  std::set<std::string> after = check_fingerprints(data_);

  auto second = run("--quiet");
  ASSERT_EQ(second.exit_code, 1) << second.err;
  RunJson run_json = read_run_json(out("findings.json"));
  std::set<std::string> expect_new, expect_open, expect_resolved;
  for (const auto& f : after) (before.count(f) ? expect_open : expect_new).insert(f);
  for (const auto& f : before) {
    if (!after.count(f)) expect_resolved.insert(f);
  }
  ASSERT_FALSE(expect_new.empty());
  ASSERT_FALSE(expect_resolved.empty());
  std::set<std::string> got_new, got_open;
  for (const auto& [fingerprint, status] : run_json.status) {
    (status == "new" ? got_new : got_open).insert(fingerprint);
    EXPECT_NE(status, "waived");
  }
  EXPECT_EQ(got_new, expect_new);
  EXPECT_EQ(got_open, expect_open);
  EXPECT_EQ(run_json.resolved, expect_resolved);
  EXPECT_EQ(run_json.doc.at("trend").as_array().size(), 2u);
  EXPECT_NE(second.err.find("rapport run: " + std::to_string(expect_new.size()) + " new, " +
                            std::to_string(expect_open.size()) + " still open, " +
                            std::to_string(expect_resolved.size()) + " resolved"),
            std::string::npos)
      << second.err;

  // A third run over the same data: nothing new, nothing resolved.
  auto third = run("--quiet");
  ASSERT_EQ(third.exit_code, 1) << third.err;
  RunJson again = read_run_json(out("findings.json"));
  for (const auto& [fingerprint, status] : again.status) EXPECT_EQ(status, "open") << fingerprint;
  EXPECT_TRUE(again.resolved.empty());
}

TEST_F(NightlyRun, WaiversApplyUntilTheyExpireAndDoNotFailTheRun) {
  std::ofstream(dir_.path() / "waivers.yaml") << R"(waivers:
  - rule: onsite_presence_strategic
    subject: acc-00000084
    reason: Offices closed for renovation
    owner: maya.wright.1@provider.example
    expires: 2027-01-31
  - rule: discount_and_sla_same_window
    subject: opp-00000163-1
    reason: Old policy
    owner: elena.horvat.2@provider.example
    expires: 2026-10-15
)";
  write_config("waivers: waivers.yaml\n");
  auto result = run();
  ASSERT_EQ(result.exit_code, 1) << result.err;
  RunJson run_json = read_run_json(out("findings.json"));
  std::size_t waived_count = 0;
  for (const auto& f : run_json.doc.at("findings").as_array()) {
    std::string rule(f.at("rule").as_string());
    const json::value* id = f.at("subject").as_object().if_contains("id");
    std::string subject = id ? std::string(id->as_string()) : std::string();
    std::string status(f.at("status").as_string());
    if (rule == "onsite_presence_strategic" && subject == "acc-00000084") {
      EXPECT_EQ(status, "waived");
      ++waived_count;
    }
    if (rule == "discount_and_sla_same_window") {
      EXPECT_EQ(status, "new");  // its waiver expired
    }
  }
  EXPECT_EQ(waived_count, 1u);
  EXPECT_EQ(run_json.doc.at("summary").at("waived").as_int64(), 1);
  EXPECT_NE(result.err.find("warning[RUN7004]: this waiver of `discount_and_sla_same_window` for `opp-00000163-1` expired on 2026-10-15"),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("waivers.yaml:11:14"), std::string::npos) << result.err;

  // With every rule that has high or critical findings waived, the run passes `fail_on: high`.
  std::string waivers = "waivers:\n";
  for (const auto& f : run_json.doc.at("findings").as_array()) {
    std::string severity(f.at("severity").as_string());
    std::string rule(f.at("rule").as_string());
    std::string line = "  - { rule: " + rule + ", subject: \"*\", reason: Known, owner: ops, expires: 2027-01-01 }\n";
    if ((severity == "high" || severity == "critical") && waivers.find(line) == std::string::npos) waivers += line;
  }
  std::ofstream(dir_.path() / "waivers.yaml", std::ios::trunc) << waivers;
  auto all_waived = run("--quiet");
  EXPECT_EQ(all_waived.exit_code, 0) << all_waived.err;  // waived findings never fail the run
}

TEST_F(NightlyRun, ASecondConcurrentRunIsRefusedAndChangesNothing) {
  ASSERT_EQ(run("--quiet").exit_code, 1);
  std::string report = slurp(out("findings.json"));
  std::string state = slurp(dir_.path() / "state" / "state.json");
  nightly::RunLock held;
  std::string error;
  ASSERT_TRUE(held.acquire((dir_.path() / "state").string(), "pid 4711, started 2026-11-22T02:00:00Z", error)) << error;
  auto refused = run();
  EXPECT_EQ(refused.exit_code, 5) << refused.err;
  EXPECT_NE(refused.err.find("another run is using the state folder"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("(pid 4711, started 2026-11-22T02:00:00Z)"), std::string::npos) << refused.err;
  EXPECT_EQ(slurp(out("findings.json")), report);
  EXPECT_EQ(slurp(dir_.path() / "state" / "state.json"), state);
}

TEST_F(NightlyRun, ARunThatFailsHalfWayLeavesThePreviousReportsAndStateIntact) {
  ASSERT_EQ(run("--quiet").exit_code, 1);
  std::map<std::string, std::string> before;
  for (const auto& entry : fs::recursive_directory_iterator(dir_.path() / "out")) {
    if (entry.is_regular_file()) before[entry.path().string()] = slurp(entry.path());
  }
  std::string state = slurp(dir_.path() / "state" / "state.json");
  auto unchanged = [&](const char* what) {
    std::map<std::string, std::string> now;
    for (const auto& entry : fs::recursive_directory_iterator(dir_.path() / "out")) {
      if (entry.is_regular_file()) now[entry.path().string()] = slurp(entry.path());
    }
    EXPECT_EQ(now.size(), before.size()) << what;
    EXPECT_TRUE(now == before) << what;
    EXPECT_EQ(slurp(dir_.path() / "state" / "state.json"), state) << what;
  };

  // Bad data: the run stops at load.
  append("accounts", R"({"id": "acc-broken", "tier": )");
  auto bad_data = run();
  EXPECT_EQ(bad_data.exit_code, 3) << bad_data.err;
  EXPECT_NE(bad_data.err.find("accounts.jsonl:"), std::string::npos) << bad_data.err;
  unchanged("after bad data");

  // The reports are rendered but the digests folder cannot be made: nothing is replaced.
  std::string text = slurp(data_ / "accounts.jsonl");
  text.erase(text.rfind("{\"id\": \"acc-broken\""));
  std::ofstream(data_ / "accounts.jsonl", std::ios::trunc) << text;
  std::ofstream(dir_.path() / "blocker") << "a file where a folder should be";
  write_config("", "outputs:\n  dir: out\n  digests: { dir: blocker/digests }\n");
  auto blocked = run();
  EXPECT_EQ(blocked.exit_code, 3) << blocked.err;
  EXPECT_NE(blocked.err.find("the previous digests are left as they were"), std::string::npos) << blocked.err;
  unchanged("after an unwritable digests folder");
  for (const auto& entry : fs::recursive_directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".part."), std::string::npos) << entry.path();
  }
}

TEST_F(NightlyRun, DamagedStateStopsTheRunInsteadOfStartingAfresh) {
  fs::create_directories(dir_.path() / "state");
  std::ofstream(dir_.path() / "state" / "state.json") << "{\"schema\": \"rapport.state/1\", \"findings\": [";
  auto result = run();
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_NE(result.err.find("state.json is damaged"), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(out("findings.json")));
}

TEST_F(NightlyRun, ConfigurationErrorsExit2WithTheirPlace) {
  std::ofstream(config_, std::ios::trunc) << "data: data\n" << packs_yaml() << "outputs: { dir: out, formats: [htm] }\n";
  auto result = run();
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("nightly.yaml:7:32: error[RUN7001]: `outputs.formats` must be one of text, json, csv, junit, "
                            "sarif, html, got `htm`"),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("help: did you mean `html`?"), std::string::npos) << result.err;

  write_config("set: { dunbar_limt: 100 }\n");
  auto bad_param = run();
  EXPECT_EQ(bad_param.exit_code, 2) << bad_param.err;
  EXPECT_NE(bad_param.err.find("dunbar_limit"), std::string::npos) << bad_param.err;

  EXPECT_EQ(run_rapport("run").exit_code, 2);
  EXPECT_EQ(run_rapport("run " + config_.string() + " --log-format xml").exit_code, 2);
  EXPECT_EQ(run_rapport("run " + (dir_.path() / "missing.yaml").string()).exit_code, 2);
}

TEST_F(NightlyRun, JsonLogsHaveOneObjectALineWithStageTimingsAndCounts) {
  // An expired waiver: its warning is a JSON event too.
  std::ofstream(dir_.path() / "waivers.yaml")
      << "waivers:\n  - { rule: tier_weighted_load, subject: usr-000010, reason: r, owner: o, expires: 2026-01-01 }\n";
  write_config("waivers: waivers.yaml\n");
  auto result = run("--log-format json");
  ASSERT_EQ(result.exit_code, 1) << result.err;
  std::istringstream lines(result.err);
  std::string line;
  std::set<std::string> stages;
  std::string last_event;
  while (std::getline(lines, line)) {
    json::value event = json::parse(line);  // throws (fails the test) on anything that is not JSON
    last_event = std::string(event.at("event").as_string());
    EXPECT_TRUE(event.at("time").is_string()) << line;
    if (last_event == "stage") {
      stages.insert(std::string(event.at("stage").as_string()));
      EXPECT_TRUE(event.at("ok").as_bool()) << line;
      EXPECT_GE(event.at("seconds").as_double(), 0.0);
      if (event.at("stage") == "load") {
        EXPECT_GT(event.at("records").as_int64(), 10000) << line;
      }
    }
  }
  EXPECT_EQ(stages, (std::set<std::string>{"compile", "load", "evaluate", "compare", "write"}));
  EXPECT_EQ(last_event, "done");
  EXPECT_NE(result.err.find(R"("event": "diagnostic", "file":)"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(R"("code":"RUN7004")"), std::string::npos) << result.err;
}

TEST_F(NightlyRun, QuietPrintsOnlyTheSummary) {
  auto result = run("--quiet");
  ASSERT_EQ(result.exit_code, 1);
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_EQ(result.err.rfind("rapport run: ", 0), 0u) << result.err;
}

TEST_F(NightlyRun, WebhookPostsASlackSummaryAndNeverPrintsItsUrl) {
  testing::LoopbackServer chat({testing::respond(200, "ok")});
  write_config("notify:\n  webhook:\n    url_env: RAPPORT_TEST_WEBHOOK\n    format: slack\n    report_url: https://intranet.example/report.html\n");
  std::string url = chat.url("/services/T000/B000/SECRETxyz");
  auto result = run("", "RAPPORT_TEST_WEBHOOK=" + url);
  ASSERT_EQ(result.exit_code, 1) << result.err;
  auto requests = chat.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/services/T000/B000/SECRETxyz");
  EXPECT_EQ(requests[0].header("Content-Type"), "application/json; charset=utf-8");
  json::value body = json::parse(requests[0].body);
  EXPECT_TRUE(body.as_object().contains("text"));
  EXPECT_TRUE(body.at("blocks").is_array());
  EXPECT_NE(requests[0].body.find("https://intranet.example/report.html"), std::string::npos);
  EXPECT_NE(result.err.find("\nnotify "), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("SECRETxyz"), std::string::npos) << result.err;

  // Teams gets a MessageCard.
  testing::LoopbackServer teams({testing::respond(200, "1")});
  write_config("notify:\n  webhook: { url_env: RAPPORT_TEST_WEBHOOK, format: teams }\n");
  ASSERT_EQ(run("--quiet", "RAPPORT_TEST_WEBHOOK=" + teams.url("/webhookb2/SECRETabc")).exit_code, 1);
  ASSERT_EQ(teams.requests().size(), 1u);
  EXPECT_EQ(json::parse(teams.requests()[0].body).at("@type"), "MessageCard");
}

TEST_F(NightlyRun, AFailedWebhookIsReportedWithoutItsUrlAndDoesNotFailTheRun) {
  testing::LoopbackServer chat({testing::respond(403, "invalid_token")}, testing::respond(403, "invalid_token"));
  write_config("notify:\n  webhook: { url_env: RAPPORT_TEST_WEBHOOK, when: always }\n");
  auto result = run("", "RAPPORT_TEST_WEBHOOK=" + chat.url("/services/SECRETxyz"));
  EXPECT_EQ(result.exit_code, 1) << result.err;  // the findings decide, not the chat service
  EXPECT_NE(result.err.find("notify FAILED"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("the chat service answered HTTP 403: invalid_token"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("nightly.yaml:"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("SECRETxyz"), std::string::npos) << result.err;
  EXPECT_TRUE(fs::exists(dir_.path() / "state" / "state.json"));

  // No URL in the environment: said plainly.
  auto unset = run("--log-format json");
  EXPECT_NE(unset.err.find("the environment variable RAPPORT_TEST_WEBHOOK is not set"), std::string::npos) << unset.err;
  // --no-notify posts nothing.
  std::size_t before = chat.requests().size();
  run("--no-notify", "RAPPORT_TEST_WEBHOOK=" + chat.url("/services/SECRETxyz"));
  EXPECT_EQ(chat.requests().size(), before);
}

TEST_F(NightlyRun, ChangesWebhookStaysQuietWhenNothingChanged) {
  testing::LoopbackServer chat({testing::respond(200, "ok"), testing::respond(200, "ok")}, testing::respond(200, "ok"));
  write_config("notify:\n  webhook: { url_env: RAPPORT_TEST_WEBHOOK, when: changes }\n");
  std::string env = "RAPPORT_TEST_WEBHOOK=" + chat.url("/hook");
  run("--quiet", env);  // first run: everything is new
  run("--quiet", env);  // same data: nothing new, nothing resolved
  EXPECT_EQ(chat.requests().size(), 1u);
}

TEST(NightlyExample, TheBundledNightlyFileValidatesAndItsRunIsRepeatable) {
  // The shipped example, with its outputs redirected to a scratch folder.
  testing::TempDir dir;
  std::string text = slurp(kSource / "examples" / "nightly.yaml");
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"data: data", "data: " + (kSource / "examples" / "data").string()},
           {"../rulesets", (kSource / "rulesets").string()},
           {"waivers: waivers.yaml", "waivers: " + (kSource / "examples" / "waivers.yaml").string()}}) {
    for (std::size_t at; (at = text.find(from)) != std::string::npos;) text.replace(at, from.size(), to);
  }
  std::ofstream(dir.path() / "nightly.yaml") << text;
  auto first = run_rapport("run " + (dir.path() / "nightly.yaml").string() + " --quiet");
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("warning[RUN7004]"), std::string::npos) << first.err;  // the example's expired waiver
  auto second = run_rapport("run " + (dir.path() / "nightly.yaml").string() + " --quiet");
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("rapport run: 0 new, "), std::string::npos) << second.err;
  EXPECT_TRUE(fs::is_regular_file(dir.path() / "out" / "reports" / "report.html"));
}

}  // namespace
}  // namespace rapport
