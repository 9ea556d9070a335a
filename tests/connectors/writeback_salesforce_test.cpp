// `rapport apply` against a loopback Salesforce kept in memory: a dry run writes nothing and
// prints every change; --apply sends the documented PATCHes (sObject rows, tasks upserted on an
// external id); a re-run writes nothing; faults on a large share of requests (a reset after the
// server applied a write among them) leave each change applied once; a refused record gives exit
// 4 and a re-run completes it; conflicts are left alone; no secret reaches output or journal.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>

#include "connectors/writeback/apply.hpp"
#include "connectors/writeback/change_set.hpp"
#include "support/rapport_process.hpp"
#include "writeback_test_support.hpp"

namespace rapport {
namespace {

using namespace writeback_test;
using writeback::Outcome;

const std::vector<Move> kMoves = {
    {"mv-aaaa", "001A", "005X", "005Y"},
    {"mv-bbbb", "001B", "005X", "005Z"},
    {"mv-cccc", "001C", "", "005Y"},  // had no owner
};

void seed(FakeCrm& crm) {
  crm.put("Account", "001A", {{"Id", "001A"}, {"OwnerId", "005X"}});
  crm.put("Account", "001B", {{"Id", "001B"}, {"OwnerId", "005X"}});
  crm.put("Account", "001C", {{"Id", "001C"}, {"OwnerId", nullptr}});
}

TEST(WritebackSalesforceTest, DryRunReadsButWritesNothingAndPrintsEachChange) {
  set_credentials();
  FakeCrm crm(Vendor::Salesforce);
  seed(crm);
  fs::path dir = temp_dir("wb_sf_dry");
  writeback::ApplyReport report = writeback::apply(options_for(dir, Vendor::Salesforce, crm, plan_json(kMoves), false));
  ASSERT_EQ(report.exit_code, writeback::kApplyOk) << report.error;
  EXPECT_TRUE(crm.writes().empty());
  EXPECT_FALSE(fs::exists(dir / "journal.jsonl"));  // a dry run journals nothing
  std::string text = writeback::render_apply_text(report, false);
  EXPECT_NE(text.find("would set   Account 001A OwnerId: 005X -> 005Y  (move mv-aaaa, Account 001A)"), std::string::npos) << text;
  EXPECT_NE(text.find("would set   Account 001C OwnerId: (empty) -> 005Y"), std::string::npos) << text;
  EXPECT_NE(text.find("dry run: 3 change(s) to make"), std::string::npos) << text;
  EXPECT_NE(text.find("add --apply"), std::string::npos) << text;
  auto requests = crm.requests();
  ASSERT_EQ(requests.size(), 4u);  // the token, then one read per record
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[1].target, "/services/data/v59.0/sobjects/Account/001A?fields=OwnerId");
  EXPECT_EQ(requests[1].header("Authorization"), std::string("Bearer ") + kAccessToken);
}

TEST(WritebackSalesforceTest, ApplySendsTheDocumentedRequestsAndARerunWritesNothing) {
  set_credentials();
  FakeCrm crm(Vendor::Salesforce);
  seed(crm);
  crm.put("Opportunity", "006Q", {{"Id", "006Q"}, {"OwnerId", "005Y"}});
  fs::path dir = temp_dir("wb_sf_apply");
  std::vector<FindingSpec> findings = {{"R05", "high", "accounts", "001A", "Acme", "f00dfeed00000001"},
                                       {"R07", "low", "accounts", "001A", "Acme", "f00dfeed00000002"}};
  writeback::ApplyOptions options = options_for(dir, Vendor::Salesforce, crm, plan_json(kMoves, findings), true);
  options.findings.flag_field = "Rapport_Flags__c";
  options.findings.tasks = true;
  writeback::ApplyReport report = writeback::apply(options);
  ASSERT_EQ(report.exit_code, writeback::kApplyOk) << report.error << writeback::render_apply_text(report, false);

  auto writes = crm.writes();
  ASSERT_EQ(writes.size(), 6u);
  EXPECT_EQ(writes[0].method, "PATCH");
  EXPECT_EQ(writes[0].target, "/services/data/v59.0/sobjects/Account/001A");
  EXPECT_EQ(writes[0].body, R"({"OwnerId":"005Y"})");
  EXPECT_EQ(writes[0].header("Content-Type"), "application/json");
  EXPECT_EQ(writes[1].target, "/services/data/v59.0/sobjects/Account/001A");
  EXPECT_EQ(writes[1].body, R"({"Rapport_Flags__c":"R05;R07"})");
  EXPECT_EQ(writes[2].method, "PATCH");
  EXPECT_EQ(writes[2].target, "/services/data/v59.0/sobjects/Task/Rapport_Key__c/f00dfeed00000001");
  EXPECT_EQ(writes[2].body,
            R"x({"Subject":"Rapport R05: Title of R05 (Acme)","Description":"Message of R05\n\nRemedy: Remedy of R05\n\nb2b-core/R05 (high), finding f00dfeed00000001",)x"
            R"x("Priority":"High","Status":"Not Started","ActivityDate":"2026-03-01","OwnerId":"005Y","WhatId":"001A"})x");
  EXPECT_EQ(writes[3].target, "/services/data/v59.0/sobjects/Task/Rapport_Key__c/f00dfeed00000002");
  EXPECT_EQ(writes[4].body, R"({"OwnerId":"005Z"})");
  EXPECT_EQ(writes[5].target, "/services/data/v59.0/sobjects/Account/001C");
  EXPECT_EQ(crm.field("Account", "001A", "OwnerId"), json::value("005Y"));
  EXPECT_EQ(crm.tasks_created().size(), 2u);
  // The owner read before the task: the record was read once with every field it needs.
  EXPECT_EQ(crm.requests()[1].target, "/services/data/v59.0/sobjects/Account/001A?fields=OwnerId,Rapport_Flags__c");

  // The journal has one line per change; a re-run skips them all without a request.
  std::string journal = read(dir / "journal.jsonl");
  EXPECT_EQ(std::count(journal.begin(), journal.end(), '\n'), 6);
  EXPECT_NE(journal.find(R"("kind":"move","key":"mv-aaaa","entity":"accounts","record":"001A","object":"Account","field":"OwnerId","old":"005X","new":"005Y","outcome":"applied")"),
            std::string::npos) << journal;
  std::size_t before = crm.requests().size();
  writeback::ApplyReport again = writeback::apply(options);
  EXPECT_EQ(again.exit_code, writeback::kApplyOk);
  EXPECT_EQ(again.count(Outcome::Journaled), 6u);
  EXPECT_EQ(crm.requests().size(), before + 0);

  // Without the journal, looking before writing finds everything done: reads, no writes.
  fs::remove(dir / "journal.jsonl");
  writeback::ApplyReport looked = writeback::apply(options);
  EXPECT_EQ(looked.exit_code, writeback::kApplyOk);
  EXPECT_EQ(looked.count(Outcome::Unchanged), 6u);
  EXPECT_EQ(crm.writes().size(), 6u);
  for (const auto& [key, times] : crm.tasks_created()) EXPECT_EQ(times, 1) << key;
  expect_no_secret(journal + writeback::render_apply_text(report, false));
}

TEST(WritebackSalesforceTest, FaultsOnManyRequestsLeaveEveryChangeAppliedOnce) {
  set_credentials();
  FakeCrm crm(Vendor::Salesforce);
  std::vector<Move> moves;
  std::vector<FindingSpec> findings;
  for (int i = 0; i < 12; ++i) {
    std::string id = "001" + std::to_string(10 + i);
    crm.put("Account", id, {{"Id", id}, {"OwnerId", "005X"}});
    moves.push_back({"mv-" + id, id, "005X", i % 2 ? "005Y" : "005Z"});
    if (i % 3 == 0) findings.push_back({"R0" + std::to_string(i % 9), "medium", "accounts", id, "", "feedf00d000000" + std::to_string(10 + i)});
  }
  crm.inject_faults(0.4);
  fs::path dir = temp_dir("wb_sf_faults");
  writeback::ApplyOptions options = options_for(dir, Vendor::Salesforce, crm, plan_json(moves, findings), true);
  options.findings.flag_field = "Rapport_Flags__c";
  options.findings.tasks = true;
  std::vector<int> codes = apply_until_done(options, 8);
  ASSERT_EQ(codes.back(), writeback::kApplyOk);
  EXPECT_GT(crm.faults(), 10);
  for (const Move& m : moves) {
    EXPECT_EQ(crm.field("Account", m.record, "OwnerId"), json::value(m.to)) << m.record;
    EXPECT_EQ(crm.changes("Account", m.record, "OwnerId"), 1) << m.record;
  }
  auto created = crm.tasks_created();
  EXPECT_EQ(created.size(), findings.size());
  for (const auto& [key, times] : created) EXPECT_EQ(times, 1) << key;
  crm.inject_faults(0);
  std::size_t writes = crm.writes().size();
  EXPECT_EQ(writeback::apply(options).exit_code, writeback::kApplyOk);
  EXPECT_EQ(crm.writes().size(), writes);
}

TEST(WritebackSalesforceTest, ARefusedRecordIsAPartialFailureThatARerunCompletes) {
  set_credentials();
  FakeCrm crm(Vendor::Salesforce);
  seed(crm);
  crm.refuse("001B");
  fs::path dir = temp_dir("wb_sf_partial");
  writeback::ApplyOptions options = options_for(dir, Vendor::Salesforce, crm, plan_json(kMoves), true);
  writeback::ApplyReport report = writeback::apply(options);
  EXPECT_EQ(report.exit_code, writeback::kApplyPartial);
  EXPECT_EQ(report.count(Outcome::Applied), 2u);
  ASSERT_EQ(report.count(Outcome::Failed), 1u);
  std::string text = writeback::render_apply_text(report, false);
  EXPECT_NE(text.find("FAILED      Account 001B OwnerId: 005X -> 005Z"), std::string::npos) << text;
  EXPECT_NE(text.find("HTTP 400 FIELD_INTEGRITY_EXCEPTION: Owner ID: owner cannot be inactive user"), std::string::npos) << text;
  EXPECT_NE(text.find("run again to complete the rest"), std::string::npos) << text;

  crm.refuse("001B", false);
  std::size_t writes = crm.writes().size();
  writeback::ApplyReport rerun = writeback::apply(options);
  EXPECT_EQ(rerun.exit_code, writeback::kApplyOk);
  EXPECT_EQ(rerun.count(Outcome::Applied), 1u);
  EXPECT_EQ(rerun.count(Outcome::Journaled), 2u);
  ASSERT_EQ(crm.writes().size(), writes + 1);
  EXPECT_EQ(crm.writes().back().target, "/services/data/v59.0/sobjects/Account/001B");
  EXPECT_EQ(crm.field("Account", "001B", "OwnerId"), json::value("005Z"));
  expect_no_secret(read(dir / "journal.jsonl") + text);
}

TEST(WritebackSalesforceTest, ARecordChangedSinceThePlanIsAConflictLeftAlone) {
  set_credentials();
  FakeCrm crm(Vendor::Salesforce);
  seed(crm);
  crm.put("Account", "001B", {{"Id", "001B"}, {"OwnerId", "005W"}});  // someone moved it meanwhile
  fs::path dir = temp_dir("wb_sf_conflict");
  writeback::ApplyReport report = writeback::apply(options_for(dir, Vendor::Salesforce, crm, plan_json(kMoves), true));
  EXPECT_EQ(report.exit_code, writeback::kApplyPartial);
  EXPECT_EQ(report.count(Outcome::Conflict), 1u);
  EXPECT_EQ(crm.field("Account", "001B", "OwnerId"), json::value("005W"));
  EXPECT_EQ(crm.writes().size(), 2u);
  std::string text = writeback::render_apply_text(report, false);
  EXPECT_NE(text.find("the CRM has 005W, the plan moved it from 005X: re-plan"), std::string::npos) << text;
}

TEST(WritebackSalesforceTest, MistakesStopBeforeAnyRequest) {
  set_credentials();
  FakeCrm crm(Vendor::Salesforce);
  fs::path dir = temp_dir("wb_sf_mistakes");
  writeback::ApplyOptions options = options_for(dir, Vendor::Salesforce, crm, R"({"schema": "rapport.other/9"})", true);
  writeback::ApplyReport report = writeback::apply(options);
  EXPECT_EQ(report.exit_code, writeback::kApplyConfig);
  EXPECT_NE(report.error.find("unknown report schema `rapport.other/9`"), std::string::npos) << report.error;

  // A plan of a field the mapping reads from a constant can't be written back.
  write(dir / "report.json", plan_json(kMoves));
  write(dir / "mapping.yaml", "objects:\n  accounts:\n    fields:\n      owner_id: { const: \"005X\" }\n");
  write(dir / "source.yaml", read(dir / "source.yaml") + "mapping: mapping.yaml\n");
  report = writeback::apply(options);
  EXPECT_EQ(report.exit_code, writeback::kApplyConfig);
  EXPECT_NE(report.error.find("move mv-aaaa: accounts.owner_id is a constant in the mapping"), std::string::npos) << report.error;

  ::unsetenv("RAPPORT_WB_SECRET");
  report = writeback::apply(options);
  EXPECT_EQ(report.exit_code, writeback::kApplyConfig);
  EXPECT_NE(report.error.find("RAPPORT_WB_SECRET"), std::string::npos) << report.error;
  EXPECT_TRUE(crm.requests().empty());
}

/// Runs the rapport binary; its exit code and standard output, then standard error.
std::pair<int, std::string> run_rapport(const std::string& arguments) {
  auto result = testing::run_rapport(arguments + " --color never");
  return {result.exit_code, result.out + result.err};
}

TEST(WritebackSalesforceTest, TheCommandLineDryRunsByDefaultAndExits4OnAPartialFailure) {
  set_credentials();
  FakeCrm crm(Vendor::Salesforce);
  seed(crm);
  crm.refuse("001B");
  fs::path dir = temp_dir("wb_sf_cli");
  writeback::ApplyOptions options = options_for(dir, Vendor::Salesforce, crm, plan_json(kMoves), false);
  const std::string arguments = "apply --source " + options.source_path + " --plan " + options.report_path + " --journal " +
                                options.journal_path;
  auto [dry_code, dry] = run_rapport(arguments);
  EXPECT_EQ(dry_code, 0) << dry;
  EXPECT_NE(dry.find("would set   Account 001B OwnerId: 005X -> 005Z"), std::string::npos) << dry;
  EXPECT_TRUE(crm.writes().empty());

  auto [code, out] = run_rapport(arguments + " --apply");
  EXPECT_EQ(code, 4) << out;
  EXPECT_NE(out.find("FAILED      Account 001B"), std::string::npos) << out;
  EXPECT_EQ(crm.writes().size(), 3u);  // the refused PATCH is not retried: a 400 is final
  expect_no_secret(dry + out + read(dir / "journal.jsonl"));
}

TEST(WritebackChangeSetTest, FindingsBecomeOneFlagsChangePerRecordAndOneTaskPerFinding) {
  writeback::FindingOptions options;
  options.flag_field = "Rapport_Flags__c";
  options.tasks = true;
  options.min_severity = "low";
  writeback::ChangeSet set = writeback::read_change_set(
      findings_json({{"R07", "low", "accounts", "001A", "Acme", "fp1"},
                     {"R05", "critical", "accounts", "001A", "Acme", "fp2"},
                     {"R01", "info", "accounts", "001B", "Beta", "fp3"}}),  // below low: left out
      options);
  ASSERT_EQ(set.changes.size(), 3u);
  EXPECT_EQ(set.changes[0].kind, writeback::ChangeKind::Flags);
  EXPECT_EQ(set.changes[0].key, "flags:accounts:001A");
  EXPECT_EQ(set.changes[0].value, "R05;R07");
  EXPECT_EQ(set.changes[1].kind, writeback::ChangeKind::Task);
  EXPECT_EQ(set.changes[1].key, "fp1");
  EXPECT_FALSE(set.changes[1].task.high_priority);
  EXPECT_TRUE(set.changes[2].task.high_priority);
  EXPECT_EQ(set.changes[2].task.due, "2026-03-01");
  EXPECT_THROW(writeback::read_change_set("{", options), writeback::ChangeSetError);
}

}  // namespace
}  // namespace rapport
