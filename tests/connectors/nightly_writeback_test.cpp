// `rapport run` with write-back: the nightly run flags overloaded account managers in the CRM, as
// its nightly.yaml says (off / dry-run / apply), against a loopback Salesforce org.

#include <gtest/gtest.h>

#include "support/rapport_process.hpp"
#include "writeback_test_support.hpp"

namespace rapport {
namespace {

using namespace writeback_test;

class NightlyWriteback : public ::testing::Test {
 protected:
  void SetUp() override {
    set_credentials();
    dir_ = temp_dir("nightly_wb");
    write_source(dir_, Vendor::Salesforce, crm_);
    // The example data's two managers over the tier-weighted load limit, as the org has them.
    crm_.put("User", "usr-000010", {{"Id", "usr-000010"}, {"Rapport_Flags__c", nullptr}});
    crm_.put("User", "usr-000011", {{"Id", "usr-000011"}, {"Rapport_Flags__c", "tier_weighted_load"}});
  }

  void configure(const std::string& mode) {
    write(dir_ / "nightly.yaml",
          "data: " + std::string(RAPPORT_SOURCE_DIR) + "/examples/data\nas_of: 2026-11-01\npacks: [" +
              std::string(RAPPORT_SOURCE_DIR) + "/rulesets/portfolio]\nstate: state\noutputs: { dir: out, formats: [json] }\n"
              "writeback:\n  mode: " + mode + "\n  source: source.yaml\n  flag_field: Rapport_Flags__c\n"
              "  min_severity: medium\n  rules: [tier_weighted_load]\n");
  }

  testing::ProcessResult run() { return testing::run_rapport("run " + (dir_ / "nightly.yaml").string() + " --color never"); }

  FakeCrm crm_{Vendor::Salesforce};
  fs::path dir_;
};

TEST_F(NightlyWriteback, DryRunReadsTheCrmAndReportsWhatItWouldWrite) {
  configure("dry-run");
  auto result = run();
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(crm_.writes().empty());
  std::string report = read(dir_ / "out" / "writeback.txt");
  EXPECT_NE(report.find("would set   User usr-000010 Rapport_Flags__c"), std::string::npos) << report;
  EXPECT_NE(report.find("unchanged   User usr-000011 Rapport_Flags__c: tier_weighted_load"), std::string::npos) << report;
  EXPECT_NE(report.find("nothing was written: set `writeback.mode: apply` in " + (dir_ / "nightly.yaml").string() +
                        " to make these changes"),
            std::string::npos)
      << report;
  EXPECT_NE(result.err.find("\nwriteback "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("dry run: nothing written"), std::string::npos) << result.err;
  expect_no_secret(result.out + result.err + report);
}

TEST_F(NightlyWriteback, ApplyFlagsTheManagersOnceAndAPartialFailureExits4) {
  configure("apply");
  auto result = run();
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(crm_.field("User", "usr-000010", "Rapport_Flags__c"), "tier_weighted_load");
  ASSERT_EQ(crm_.writes().size(), 1u);
  EXPECT_EQ(crm_.writes()[0].body, R"({"Rapport_Flags__c":"tier_weighted_load"})");
  EXPECT_TRUE(fs::exists(dir_ / "state" / "writeback-journal.jsonl"));

  // The next night: nothing left to write.
  ASSERT_EQ(run().exit_code, 0);
  EXPECT_EQ(crm_.writes().size(), 1u);

  // A CRM that refuses one record: reports and state are written, the run exits 4.
  crm_.put("User", "usr-000010", {{"Id", "usr-000010"}, {"Rapport_Flags__c", nullptr}});
  fs::remove(dir_ / "state" / "writeback-journal.jsonl");
  crm_.refuse("usr-000010");
  auto partial = run();
  EXPECT_EQ(partial.exit_code, 4) << partial.err;
  EXPECT_NE(partial.err.find("writeback FAILED"), std::string::npos) << partial.err;
  EXPECT_TRUE(fs::exists(dir_ / "out" / "findings.json"));
  expect_no_secret(partial.out + partial.err);
}

TEST_F(NightlyWriteback, WritebackWithoutACrmIsAConfigurationError) {
  write(dir_ / "nightly.yaml", "data: data\npacks: [p]\noutputs: { dir: out }\nwriteback: { mode: apply, flag_field: F }\n");
  auto result = run();
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("write-back needs a CRM: this run reads `data` files"), std::string::npos) << result.err;
  EXPECT_TRUE(crm_.requests().empty());
}

}  // namespace
}  // namespace rapport
