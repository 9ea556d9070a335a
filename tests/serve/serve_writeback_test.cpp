// Webhook write-back (serve.yaml `writeback:`): a Salesforce CDC notification that puts a manager
// over the portfolio limit flags that manager in a loopback fake Salesforce org, once, as the mode
// says (apply, dry-run), and a CRM that fails leaves the snapshot updated and the failure reported.
// Everything listens on 127.0.0.1 and stops with each test; every request has a timeout.

#include <gtest/gtest.h>

#include <cstdlib>

#include "connectors/writeback_test_support.hpp"
#include "diag/render.hpp"
#include "serve_test_support.hpp"

namespace rapport::serve {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace wt = writeback_test;
using test::body_of;
using test::Fixture;
using test::Running;
using test::send;

/// A Salesforce Change Data Capture event: `account` now belongs to `owner`. Each replay id is a
/// new delivery (a new event id and a new body) even when the change is the same.
std::string owner_change(const std::string& account, const std::string& owner, int replay_id) {
  const std::string id = std::to_string(replay_id);
  return R"({"data": {"schema": "x", "payload": {"ChangeEventHeader": {"entityName": "Account", "recordIds": [")" + account +
         R"("], "changeType": "UPDATE", "changedFields": ["OwnerId"], "transactionKey": "t)" + id +
         R"(", "sequenceNumber": 1}, "OwnerId": ")" + owner + R"("}, "event": {"replayId": )" + id +
         R"(}}, "channel": "/data/AccountChangeEvent"})";
}

/// serve.yaml additions: a portfolio limit of 1 (Ada, with three accounts, is over it; Bo, with
/// one, is not), the Salesforce bearer and write-back of the limit's flag in `mode`.
std::string writeback_yaml(const std::string& mode) {
  return "set: { portfolio_limit: 1 }\nauth:\n  salesforce: { bearer: env:RAPPORT_TEST_SF_TOKEN }\n"
         "writeback:\n  mode: " + mode + "\n  source: source.yaml\n  flag_field: Rapport_Flags__c\n"
         "  journal: state/journal.jsonl\n";
}

class ServeWriteback : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("RAPPORT_TEST_SF_TOKEN", "sf-token", 1);
    wt::set_credentials();
  }

  /// Starts the server of `fixture` writing back to the CRM at `crm_url`, with short retries.
  static std::unique_ptr<Running> start(const Fixture& fixture, const std::string& crm_url) {
    test::write(fixture.dir.path() / "source.yaml",
                "kind: salesforce\ninstance: " + crm_url + "\nauth:\n  client_id: env:RAPPORT_WB_ID\n"
                "  client_secret: env:RAPPORT_WB_SECRET\nobjects: [accounts]\n");
    diag::DiagnosticSink sink;
    auto config = load_config(fixture.config_path(), sink);
    EXPECT_TRUE(config) << diag::render_text(sink.sorted());
    if (!config) return nullptr;
    config->writeback_client = wt::fast_options();
    return std::make_unique<Running>(fixture, config);
  }

  static json::value post(Running& server, const std::string& body) {
    auto response = send("POST", server.url("/v1/webhooks/salesforce"), body, {{"Authorization", "Bearer sf-token"}});
    EXPECT_EQ(response.status, 200) << response.body;
    wt::expect_no_secret(response.body);
    return response.status == 200 ? body_of(response) : json::value();
  }

  static std::string metrics(Running& server) { return send("GET", server.url("/metrics")).body; }
};

TEST_F(ServeWriteback, ApplyFlagsTheManagerOnceEvenWhenTheChangeComesAgain) {
  wt::FakeCrm crm(wt::Vendor::Salesforce);
  crm.put("User", "u2", {{"Id", "u2"}, {"Rapport_Flags__c", nullptr}});
  Fixture fixture(writeback_yaml("apply"));
  auto server = start(fixture, crm.url());
  ASSERT_TRUE(server);

  // a1 goes to Bo: two accounts, over the limit of 1.
  json::value first = post(*server, owner_change("a1", "u2", 77));
  ASSERT_EQ(first.at("created").as_array().size(), 1u) << first;
  EXPECT_EQ(first.at("writeback"), json::parse(R"({"mode": "apply", "changes": 1, "written": 1, "unchanged": 0,
    "done_before": 0, "failed": 0, "failures": [], "error": null})"));
  ASSERT_EQ(crm.writes().size(), 1u);
  EXPECT_EQ(crm.writes()[0].method, "PATCH");
  EXPECT_EQ(crm.writes()[0].target, "/services/data/v59.0/sobjects/User/u2");
  EXPECT_EQ(crm.writes()[0].body, R"({"Rapport_Flags__c":"portfolio_limit"})");
  EXPECT_EQ(crm.field("User", "u2", "Rapport_Flags__c"), "portfolio_limit");

  // The same change as a new event: nothing is created, nothing is written.
  json::value again = post(*server, owner_change("a1", "u2", 78));
  EXPECT_TRUE(again.at("created").as_array().empty()) << again;
  EXPECT_EQ(again.at("writeback").at("changes").as_int64(), 0);
  // a1 back to Ada and to Bo again: the finding is created anew, and the journal knows the flag.
  post(*server, owner_change("a1", "u1", 79));
  json::value back = post(*server, owner_change("a1", "u2", 80));
  ASSERT_EQ(back.at("created").as_array().size(), 1u) << back;
  EXPECT_EQ(back.at("writeback").at("done_before").as_int64(), 1) << back;
  EXPECT_EQ(back.at("writeback").at("written").as_int64(), 0) << back;
  EXPECT_EQ(crm.writes().size(), 1u);
  EXPECT_EQ(crm.changes("User", "u2", "Rapport_Flags__c"), 1);
  EXPECT_TRUE(fs::exists(fixture.dir.path() / "state" / "journal.jsonl"));
  EXPECT_NE(metrics(*server).find("rapport_serve_writeback_total{result=\"written\"} 1\n"), std::string::npos);
}

TEST_F(ServeWriteback, DryRunListsThePlannedWriteAndSendsNothing) {
  wt::FakeCrm crm(wt::Vendor::Salesforce);
  Fixture fixture(writeback_yaml("dry-run"));
  auto server = start(fixture, crm.url());
  ASSERT_TRUE(server);
  json::value answer = post(*server, owner_change("a1", "u2", 77));
  EXPECT_EQ(answer.at("writeback"), json::parse(R"({"mode": "dry-run", "planned": [{"kind": "flags", "entity": "users",
    "record": "u2", "name": "Bo", "field": "Rapport_Flags__c", "value": "portfolio_limit"}], "notes": []})"));
  EXPECT_TRUE(crm.requests().empty());
  std::string text = metrics(*server);
  EXPECT_NE(text.find("rapport_serve_writeback_total{result=\"planned\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("rapport_serve_writeback_total{result=\"written\"} 0\n"), std::string::npos) << text;
}

/// A CRM that hands out tokens and answers everything else with `status`.
class FailingCrm {
 public:
  explicit FailingCrm(int status)
      : server_([status](const rapport::testing::ReceivedRequest& r) {
          if (r.target.find("token") != std::string::npos) {
            return rapport::testing::respond(200, std::string(R"({"access_token":")") + wt::kAccessToken +
                                                      R"(","instance_url":"https://example.my.salesforce.com","token_type":"Bearer"})");
          }
          return rapport::testing::respond(status, R"([{"errorCode":"FAILED","message":"the test's CRM fails"}])",
                                           {{"Content-Type", "application/json"}});
        }) {}
  [[nodiscard]] std::string url() const { return server_.url(""); }
  [[nodiscard]] std::size_t requests() const { return server_.requests().size(); }

 private:
  rapport::testing::LoopbackServer server_;
};

TEST_F(ServeWriteback, AFailingCrmKeepsTheSnapshotUpdateAndReportsTheFailure) {
  for (int status : {500, 403}) {
    SCOPED_TRACE(status);
    FailingCrm crm(status);
    Fixture fixture(writeback_yaml("apply"));
    auto server = start(fixture, crm.url());
    ASSERT_TRUE(server);
    json::value answer = post(*server, owner_change("a1", "u2", 77));
    ASSERT_EQ(answer.at("created").as_array().size(), 1u) << answer;
    const json::value& writeback = answer.at("writeback");
    EXPECT_EQ(writeback.at("written").as_int64(), 0) << writeback;
    EXPECT_EQ(writeback.at("failed").as_int64(), 1) << writeback;
    ASSERT_EQ(writeback.at("failures").as_array().size(), 1u) << writeback;
    EXPECT_EQ(writeback.at("failures").at(0).at("status").as_int64(), status) << writeback;
    EXPECT_EQ(writeback.at("failures").at(0).at("change").at("record").as_string(), "u2");
    EXPECT_GT(crm.requests(), 1u);
    // The snapshot took the change: Bo's finding is served.
    auto bo = body_of(send("GET", server->url("/v1/findings?owner=u2")));
    ASSERT_EQ(bo.at("findings").as_array().size(), 1u);
    EXPECT_EQ(bo.at("findings").at(0).at("message").as_string(), "Bo owns 2 accounts; the limit is 1.");
    EXPECT_NE(metrics(*server).find("rapport_serve_writeback_total{result=\"failed\"} 1\n"), std::string::npos);
  }
}

// ---- configuration ------------------------------------------------------------------------------

/// The rendered diagnostics of a serve.yaml holding `yaml`, its folder shown as DIR.
std::string diagnostics_of(const std::string& yaml) {
  rapport::testing::TempDir dir;
  test::write(dir.path() / "serve.yaml", yaml);
  diag::DiagnosticSink sink;
  EXPECT_FALSE(load_config((dir.path() / "serve.yaml").string(), sink));
  std::string text = diag::render_text(sink.sorted());
  const std::string folder = dir.path().string();
  for (auto at = text.find(folder); at != std::string::npos; at = text.find(folder, at)) text.replace(at, folder.size(), "DIR");
  return text;
}

TEST(ServeWritebackConfig, WritebackWithoutACrm) {
  EXPECT_EQ(diagnostics_of("data: data\npacks: [p]\nwriteback:\n  mode: apply\n  flag_field: Rapport_Flags__c\n"),
            "DIR/serve.yaml:4:9: error[SRV9001]: write-back needs a CRM: name it with `source`, a source file as `rapport fetch` reads\n"
            " 4 |   mode: apply\n"
            "   |         ^~~~~\n"
            "   = help: for example: writeback: { mode: dry-run, source: salesforce.yaml, flag_field: Rapport_Flags__c }; or set `mode: off`\n"
            "1 error, 0 warnings\n");
}

TEST(ServeWritebackConfig, AnUnknownMode) {
  EXPECT_EQ(diagnostics_of("data: data\npacks: [p]\nwriteback: { mode: dryrun, source: crm.yaml, flag_field: F }\n"),
            "DIR/serve.yaml:3:20: error[SRV9001]: `writeback.mode` must be one of off, dry-run, apply, got `dryrun`\n"
            " 3 | writeback: { mode: dryrun, source: crm.yaml, flag_field: F }\n"
            "   |                    ^~~~~~\n"
            "   = help: did you mean `dry-run`?\n"
            "1 error, 0 warnings\n");
}

}  // namespace
}  // namespace rapport::serve
