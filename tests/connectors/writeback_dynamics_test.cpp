// `rapport apply` against a loopback Dynamics 365 kept in memory: the documented requests (PATCH
// accounts({id}) with If-Match: * and "ownerid@odata.bind", tasks created under an alternate key
// with If-None-Match: *), a re-run that writes nothing, and faults on many requests that leave
// each change applied once and no task twice (a retried create meets 412 and counts as done).

#include <gtest/gtest.h>

#include "connectors/writeback/apply.hpp"
#include "writeback_test_support.hpp"

namespace rapport {
namespace {

using namespace writeback_test;
using writeback::Outcome;

const std::string kAda = "aaaaaaaa-0000-0000-0000-000000000001";
const std::string kBob = "bbbbbbbb-0000-0000-0000-000000000002";
const std::string kAcme = "11111111-0000-0000-0000-00000000000a";

TEST(WritebackDynamicsTest, ApplySendsTheDocumentedRequestsAndARerunWritesNothing) {
  set_credentials();
  FakeCrm crm(Vendor::Dynamics);
  crm.put("accounts", kAcme, {{"accountid", kAcme}, {"_ownerid_value", kAda}});
  fs::path dir = temp_dir("wb_dyn_apply");
  std::vector<FindingSpec> findings = {{"R05", "medium", "accounts", kAcme, "Acme", "ef00000000000001"}};
  writeback::ApplyOptions options = options_for(dir, Vendor::Dynamics, crm, plan_json({{"mv-1", kAcme, kAda, kBob}}, findings), true);
  options.findings.flag_field = "new_rapportflags";
  options.findings.tasks = true;
  writeback::ApplyReport report = writeback::apply(options);
  ASSERT_EQ(report.exit_code, writeback::kApplyOk) << report.error << writeback::render_apply_text(report, false);

  auto requests = crm.requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/contoso/oauth2/v2.0/token");
  EXPECT_EQ(requests[1].target, "/api/data/v9.2/accounts(" + kAcme + ")?$select=_ownerid_value,new_rapportflags");
  EXPECT_EQ(requests[1].header("Prefer"), "odata.include-annotations=\"Microsoft.Dynamics.CRM.lookuplogicalname\"");
  auto writes = crm.writes();
  ASSERT_EQ(writes.size(), 3u);
  EXPECT_EQ(writes[0].method, "PATCH");
  EXPECT_EQ(writes[0].target, "/api/data/v9.2/accounts(" + kAcme + ")");
  EXPECT_EQ(writes[0].header("If-Match"), "*");
  EXPECT_EQ(writes[0].header("OData-Version"), "4.0");
  EXPECT_EQ(writes[0].body, R"({"ownerid@odata.bind":"/systemusers()" + kBob + ")\"}");
  EXPECT_EQ(writes[1].body, R"({"new_rapportflags":"R05"})");
  EXPECT_EQ(writes[2].target, "/api/data/v9.2/tasks(new_rapportkey='ef00000000000001')");
  EXPECT_EQ(writes[2].header("If-None-Match"), "*");
  EXPECT_EQ(writes[2].body,
            R"x({"subject":"Rapport R05: Title of R05 (Acme)","description":"Message of R05\n\nRemedy: Remedy of R05\n\nb2b-core/R05 (medium), finding ef00000000000001",)x"
            R"x("prioritycode":1,"scheduledend":"2026-03-01T00:00:00Z","ownerid@odata.bind":"/systemusers()x" + kBob +
                R"x()","regardingobjectid_account_task@odata.bind":"/accounts()x" + kAcme + ")\"}");
  EXPECT_EQ(crm.field("accounts", kAcme, "_ownerid_value"), json::value(kBob));

  fs::remove(dir / "journal.jsonl");
  writeback::ApplyReport again = writeback::apply(options);
  EXPECT_EQ(again.exit_code, writeback::kApplyOk);
  EXPECT_EQ(again.count(Outcome::Unchanged), 3u);
  EXPECT_EQ(crm.writes().size(), 3u);
  expect_no_secret(read(dir / "journal.jsonl") + writeback::render_apply_text(report, false));
}

TEST(WritebackDynamicsTest, FaultsOnManyRequestsLeaveEveryChangeAppliedOnceAndNoTaskTwice) {
  set_credentials();
  FakeCrm crm(Vendor::Dynamics);
  std::vector<Move> moves;
  std::vector<FindingSpec> findings;
  for (int i = 0; i < 10; ++i) {
    std::string id = "22222222-0000-0000-0000-0000000000" + std::to_string(10 + i);
    crm.put("accounts", id, {{"accountid", id}, {"_ownerid_value", kAda}});
    moves.push_back({"mv-" + std::to_string(i), id, kAda, kBob});
    findings.push_back({"R05", "high", "accounts", id, "", "ef000000000000" + std::to_string(10 + i)});
  }
  crm.inject_faults(0.4);
  fs::path dir = temp_dir("wb_dyn_faults");
  writeback::ApplyOptions options = options_for(dir, Vendor::Dynamics, crm, plan_json(moves, findings), true);
  options.findings.tasks = true;
  std::vector<int> codes = apply_until_done(options, 8);
  ASSERT_EQ(codes.back(), writeback::kApplyOk);
  EXPECT_GT(crm.faults(), 10);
  for (const Move& m : moves) EXPECT_EQ(crm.changes("accounts", m.record, "_ownerid_value"), 1) << m.record;
  auto created = crm.tasks_created();
  EXPECT_EQ(created.size(), findings.size());
  for (const auto& [key, times] : created) EXPECT_EQ(times, 1) << key;
}

}  // namespace
}  // namespace rapport
