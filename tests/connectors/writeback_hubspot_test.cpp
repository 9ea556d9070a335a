// `rapport apply` against a loopback HubSpot kept in memory: the documented requests (PATCH
// /crm/v3/objects/companies/{id} with properties, tasks read by ?idProperty=, upserted through
// batch/upsert and linked with the v4 default association), a dry run and a re-run that write
// nothing, and faults on many requests that leave each change applied once and no task twice.

#include <gtest/gtest.h>

#include "connectors/writeback/apply.hpp"
#include "writeback_test_support.hpp"

namespace rapport {
namespace {

using namespace writeback_test;
using writeback::Outcome;

TEST(WritebackHubspotTest, ApplySendsTheDocumentedRequestsAndARerunWritesNothing) {
  set_credentials();
  FakeCrm crm(Vendor::Hubspot);
  crm.put("companies", "201", {{"hubspot_owner_id", "101"}, {"rapport_flags", ""}});
  crm.put("companies", "202", {{"hubspot_owner_id", "101"}});
  fs::path dir = temp_dir("wb_hs_apply");
  std::vector<Move> moves = {{"mv-1", "201", "101", "102"}, {"mv-2", "202", "101", "103"}};
  std::vector<FindingSpec> findings = {{"R05", "critical", "accounts", "201", "Acme", "ab00000000000001"}};
  writeback::ApplyOptions options = options_for(dir, Vendor::Hubspot, crm, plan_json(moves, findings), false);
  options.findings.flag_field = "rapport_flags";
  options.findings.tasks = true;

  writeback::ApplyReport dry = writeback::apply(options);
  ASSERT_EQ(dry.exit_code, writeback::kApplyOk) << dry.error;
  EXPECT_EQ(dry.count(Outcome::Pending), 4u);
  EXPECT_TRUE(crm.writes().empty());
  std::string text = writeback::render_apply_text(dry, false);
  EXPECT_NE(text.find("would set   companies 201 hubspot_owner_id: 101 -> 102"), std::string::npos) << text;
  EXPECT_NE(text.find("would create Task rapport_key=ab00000000000001 for 102 on companies 201"), std::string::npos) << text;

  options.apply = true;
  writeback::ApplyReport report = writeback::apply(options);
  ASSERT_EQ(report.exit_code, writeback::kApplyOk) << report.error << writeback::render_apply_text(report, false);
  auto writes = crm.writes();
  ASSERT_EQ(writes.size(), 5u);
  EXPECT_EQ(writes[0].method, "PATCH");
  EXPECT_EQ(writes[0].target, "/crm/v3/objects/companies/201");
  EXPECT_EQ(writes[0].body, R"({"properties":{"hubspot_owner_id":"102"}})");
  EXPECT_EQ(writes[0].header("Authorization"), std::string("Bearer ") + kAccessToken);
  EXPECT_EQ(writes[1].body, R"({"properties":{"rapport_flags":"R05"}})");
  EXPECT_EQ(writes[2].method, "POST");
  EXPECT_EQ(writes[2].target, "/crm/v3/objects/tasks/batch/upsert");
  EXPECT_EQ(writes[2].body,
            R"x({"inputs":[{"idProperty":"rapport_key","id":"ab00000000000001","properties":{"hs_task_subject":"Rapport R05: Title of R05 (Acme)",)x"
            R"x("hs_task_body":"Message of R05\n\nRemedy: Remedy of R05\n\nb2b-core/R05 (critical), finding ab00000000000001",)x"
            R"x("hs_task_status":"NOT_STARTED","hs_task_priority":"HIGH","hs_timestamp":"2026-03-01T00:00:00Z","hubspot_owner_id":"102"}}]})x");
  EXPECT_EQ(writes[3].method, "PUT");
  EXPECT_EQ(writes[3].target, "/crm/v4/objects/tasks/T100/associations/default/companies/201");
  EXPECT_EQ(writes[4].target, "/crm/v3/objects/companies/202");
  auto requests = crm.requests();
  EXPECT_EQ(requests[0].target, "/crm/v3/objects/companies/201?properties=hubspot_owner_id,rapport_flags");
  bool looked_for_task = false;
  for (const auto& r : requests) {
    looked_for_task |= r.target == "/crm/v3/objects/tasks/ab00000000000001?idProperty=rapport_key&properties=rapport_key&associations=companies";
  }
  EXPECT_TRUE(looked_for_task);

  fs::remove(dir / "journal.jsonl");  // look before writing, without the journal's help
  writeback::ApplyReport again = writeback::apply(options);
  EXPECT_EQ(again.exit_code, writeback::kApplyOk);
  EXPECT_EQ(again.count(Outcome::Unchanged), 4u);
  EXPECT_EQ(crm.writes().size(), 5u);
  expect_no_secret(read(dir / "journal.jsonl") + text + writeback::render_apply_text(report, false));
}

TEST(WritebackHubspotTest, FaultsOnManyRequestsLeaveEveryChangeAppliedOnceAndNoTaskTwice) {
  set_credentials();
  FakeCrm crm(Vendor::Hubspot);
  std::vector<Move> moves;
  std::vector<FindingSpec> findings;
  for (int i = 0; i < 10; ++i) {
    std::string id = std::to_string(300 + i);
    crm.put("companies", id, {{"hubspot_owner_id", "101"}});
    moves.push_back({"mv-" + id, id, "101", i % 2 ? "102" : "103"});
    findings.push_back({"R05", "high", "accounts", id, "", "cd0000000000" + id});
  }
  crm.inject_faults(0.4);
  fs::path dir = temp_dir("wb_hs_faults");
  writeback::ApplyOptions options = options_for(dir, Vendor::Hubspot, crm, plan_json(moves, findings), true);
  options.findings.tasks = true;
  std::vector<int> codes = apply_until_done(options, 8);
  ASSERT_EQ(codes.back(), writeback::kApplyOk);
  EXPECT_GT(crm.faults(), 10);
  for (const Move& m : moves) EXPECT_EQ(crm.changes("companies", m.record, "hubspot_owner_id"), 1) << m.record;
  auto created = crm.tasks_created();
  EXPECT_EQ(created.size(), findings.size());
  for (const auto& [key, times] : created) EXPECT_EQ(times, 1) << key;
  crm.inject_faults(0);
  std::size_t writes = crm.writes().size();
  fs::remove(dir / "journal.jsonl");
  EXPECT_EQ(writeback::apply(options).exit_code, writeback::kApplyOk);
  EXPECT_EQ(crm.writes().size(), writes);  // every task is linked to its company: nothing left to do
}

}  // namespace
}  // namespace rapport
