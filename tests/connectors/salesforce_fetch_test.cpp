// `rapport fetch` from a Salesforce org on the loopback server: paging through nextRecordsUrl, a
// 503 retried, a 401 INVALID_SESSION_ID forcing a new token; the canonical files it writes; the
// mapping and source file validation; and `rapport check` over the fetched folder.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "cli/pipeline.hpp"
#include "connectors/http/form.hpp"
#include "connectors/mapping/mapping.hpp"
#include "connectors/salesforce/query.hpp"
#include "connectors/source/fetch.hpp"
#include "connectors/source/source_config.hpp"
#include "diag/render.hpp"
#include "fetch_test_support.hpp"
#include "loopback_server.hpp"
#include "model/time.hpp"

namespace rapport {
namespace {

using namespace fetch_test;
using testing::LoopbackServer;
using testing::respond;

const char* kMapping = R"(objects:
  users:
    fields:
      role: Role__c
  accounts:
    fields:
      tier: { from: Tier__c, values: { Platinum: strategic, Gold: key, Silver: growth } }
      region: Region__c
  contacts:
    fields:
      role: { from: Title, values: { CFO: finance, CTO: technical } }
  opportunities:
    fields:
      promised_features: { from: Promised_Features__c, split: ";" }
)";

// The expected canonical files, line by line.
const std::map<std::string, std::string> kExpected = {
    {"users",
     R"({"id":"005A","name":"Ada Boss","email":"ada@provider.com","active":true,"manager_id":null,"role":"executive"})"
     "\n"
     R"({"id":"005B","name":"Bob Seller","email":"bob@provider.com","active":true,"manager_id":"005A","role":"account_manager"})"
     "\n"},
    {"accounts",
     R"({"id":"001A","name":"Acme","owner_id":"005B","industry":"Manufacturing","annual_revenue":250000,"country":"DE","created_at":"2025-01-15T09:00:00Z","tier":"strategic","region":"EMEA"})"
     "\n"
     R"({"id":"001B","name":"Globex","owner_id":"005B","industry":null,"annual_revenue":90000,"country":"US","created_at":"2025-02-01T00:00:00Z","tier":"key","region":"NA"})"
     "\n"
     R"({"id":"001C","name":"Initech","owner_id":null,"industry":"Software","annual_revenue":null,"country":"GB","created_at":"2025-03-01T12:30:00Z","tier":"growth","region":"EMEA"})"
     "\n"},
    {"contacts",
     R"({"id":"003A","name":"Carla Buyer","email":"carla@acme.example","account_id":"001A","last_contacted_at":"2026-02-10T00:00:00Z","role":"finance"})"
     "\n"},
    {"opportunities",
     R"({"id":"006A","name":"Acme renewal","account_id":"001A","owner_id":"005B","stage":"negotiation","amount":120000,"close_date":"2026-04-30","created_at":"2026-01-05T10:00:00Z","promised_features":["SSO","Audit log"]})"
     "\n"
     R"({"id":"006B","name":"Globex upsell","account_id":"001B","owner_id":"005B","stage":"negotiation","amount":null,"close_date":"2026-05-31","created_at":"2026-01-06T10:00:00Z","promised_features":null})"
     "\n"},
    {"activities",
     R"({"id":"00TA","account_id":"001A","owner_id":"005B","contact_id":"003A","type":"call","subject":"Renewal call","started_at":"2026-02-10T00:00:00Z"})"
     "\n"
     R"({"id":"00UA","account_id":"001B","owner_id":"005B","contact_id":null,"type":"meeting","subject":"QBR","started_at":"2026-03-01T09:30:00Z","duration_minutes":60})"
     "\n"
     R"({"id":"00UB","account_id":"001B","owner_id":"005A","contact_id":null,"type":"meeting","subject":"Exec sync","started_at":"2026-03-02T16:00:00Z","duration_minutes":30})"
     "\n"},
    {"cases",
     R"({"id":"500A","account_id":"001A","assignee_id":"005B","priority":"normal","opened_at":"2026-02-01T12:00:00Z","resolved_at":null})"
     "\n"},
};

const std::vector<std::string> kObjects = {"users", "accounts", "contacts", "opportunities", "activities", "cases"};

/// The org: a token endpoint and the query resource, in the order fetch() asks.
std::vector<testing::Reply> salesforce_script() {
  const std::string next2 = "/services/data/v59.0/query/01gACC-2000";
  const std::string next3 = "/services/data/v59.0/query/01gACC-4000";
  return {
      respond(200, salesforce_token("token-one")),
      respond(200, salesforce_page("User", {R"({"Id":"005A","Name":"Ada Boss","Email":"ada@provider.com","IsActive":true,"ManagerId":null,"Role__c":"executive"})",
                                 R"({"Id":"005B","Name":"Bob Seller","Email":"bob@provider.com","IsActive":true,"ManagerId":"005A","Role__c":"account_manager"})"})),
      respond(503, R"([{"message":"Server busy","errorCode":"SERVER_UNAVAILABLE"}])"),
      respond(200, salesforce_page("Account", {R"({"Id":"001A","Name":"Acme","OwnerId":"005B","Industry":"Manufacturing","AnnualRevenue":250000.0,"BillingCountry":"DE","CreatedDate":"2025-01-15T08:00:00.000-0100","Tier__c":"Platinum","Region__c":"EMEA"})"},
                        next2)),
      respond(401, R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])"),
      respond(200, salesforce_token("token-two")),
      respond(200, salesforce_page("Account", {R"({"Id":"001B","Name":"Globex","OwnerId":"005B","Industry":null,"AnnualRevenue":90000,"BillingCountry":"US","CreatedDate":"2025-02-01T00:00:00.000+0000","Tier__c":"Gold","Region__c":"NA"})"},
                        next3)),
      respond(200, salesforce_page("Account", {R"({"Id":"001C","Name":"Initech","OwnerId":null,"Industry":"Software","AnnualRevenue":null,"BillingCountry":"GB","CreatedDate":"2025-03-01T12:30:00.000+0000","Tier__c":"Silver","Region__c":"EMEA"})"})),
      respond(200, salesforce_page("Contact", {R"({"Id":"003A","Name":"Carla Buyer","Email":"carla@acme.example","AccountId":"001A","LastActivityDate":"2026-02-10","Title":"CFO"})"})),
      respond(200, salesforce_page("Opportunity", {R"({"Id":"006A","Name":"Acme renewal","AccountId":"001A","OwnerId":"005B","StageName":"Negotiation/Review","Amount":120000.0,"CloseDate":"2026-04-30","CreatedDate":"2026-01-05T10:00:00.000+0000","Promised_Features__c":"SSO;Audit log"})",
                                        R"({"Id":"006B","Name":"Globex upsell","AccountId":"001B","OwnerId":"005B","StageName":"Negotiation/Review","Amount":null,"CloseDate":"2026-05-31","CreatedDate":"2026-01-06T10:00:00.000+0000","Promised_Features__c":null})"})),
      respond(200, salesforce_page("Task", {R"({"Id":"00TA","AccountId":"001A","OwnerId":"005B","WhoId":"003A","TaskSubtype":"Call","Subject":"Renewal call","ActivityDate":"2026-02-10"})"})),
      respond(200, salesforce_page("Event", {R"({"Id":"00UA","AccountId":"001B","OwnerId":"005B","WhoId":null,"Subject":"QBR","StartDateTime":"2026-03-01T09:30:00.000+0000","DurationInMinutes":60})",
                                  R"({"Id":"00UB","AccountId":"001B","OwnerId":"005A","WhoId":null,"Subject":"Exec sync","StartDateTime":"2026-03-02T17:00:00.000+0100","DurationInMinutes":30})"})),
      respond(200, salesforce_page("Case", {R"({"Id":"500A","AccountId":"001A","OwnerId":"005B","Priority":"Medium","CreatedDate":"2026-02-01T12:00:00.000+0000","ClosedDate":null})"})),
  };
}

fs::path write_source(const fs::path& dir, const LoopbackServer& server) {
  write(dir / "mapping.yaml", kMapping);
  std::string objects;
  for (const auto& o : kObjects) objects += (objects.empty() ? "" : ", ") + o;
  write(dir / "source.yaml", "kind: salesforce\ninstance: " + server.url("") + "\nauth:\n  client_id: env:RAPPORT_SF_ID\n"
                             "  client_secret: env:RAPPORT_SF_SECRET\nmapping: mapping.yaml\nobjects: [" + objects + "]\n"
                             "concurrency: 1\n");  // the requests in the order of the script
  return dir / "source.yaml";
}

using Finding = std::tuple<std::string, std::string, std::string, std::string>;

std::set<Finding> check(const fs::path& rules, const fs::path& data) {
  cli::PipelineOptions options;
  options.pack_paths = {rules.string()};
  options.data_dir = data.string();
  options.rapport_version = RAPPORT_VERSION;
  cli::Pipeline pipeline;
  cli::prepare(options, pipeline);
  if (pipeline.exit_code == cli::kExitClean) cli::load_data(options, pipeline);
  EXPECT_EQ(pipeline.exit_code, cli::kExitClean) << diag::render_text(pipeline.sink.sorted());
  std::set<Finding> out;
  if (pipeline.exit_code != cli::kExitClean) return out;
  engine::EvalOptions eval;
  eval.as_of = *model::parse_date("2026-03-15");
  for (const auto& f : cli::evaluate_all(pipeline, eval).findings) {
    out.emplace(f.rule, f.subject_id, std::string(dsl::severity_name(f.severity)), f.message.str());
  }
  return out;
}

TEST(SalesforceFetchTest, FetchesPagesRetriesRefreshesAndWritesCanonicalFiles) {
  ::setenv("RAPPORT_SF_ID", "client-id-1", 1);
  ::setenv("RAPPORT_SF_SECRET", "client-secret-1", 1);
  LoopbackServer server(salesforce_script());
  fs::path dir = temp_dir("fetch");
  source::FetchOptions options;
  options.source_path = write_source(dir, server).string();
  options.out_dir = (dir / "out").string();
  options.client = fast_options();
  source::FetchReport report = source::fetch(options);
  ASSERT_EQ(report.exit_code, source::kFetchOk) << report.error << diag::render_text(report.sink.sorted());

  expect_files(dir / "out", kExpected);

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 13u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/services/oauth2/token");
  EXPECT_EQ(requests[1].target,
            "/services/data/v59.0/query?q=" + http::percent_encode("SELECT Id, Name, Email, IsActive, ManagerId, Role__c FROM User"));
  EXPECT_EQ(requests[1].header("Authorization"), "Bearer token-one");
  EXPECT_EQ(requests[3].target, requests[2].target);  // the 503 was retried
  EXPECT_EQ(requests[4].target, "/services/data/v59.0/query/01gACC-2000");
  EXPECT_EQ(requests[4].header("Authorization"), "Bearer token-one");
  EXPECT_EQ(requests[5].target, "/services/oauth2/token");  // refused: a new token
  EXPECT_EQ(requests[6].target, "/services/data/v59.0/query/01gACC-2000");
  EXPECT_EQ(requests[6].header("Authorization"), "Bearer token-two");
  EXPECT_EQ(requests[7].target, "/services/data/v59.0/query/01gACC-4000");
  EXPECT_EQ(requests[11].target,
            "/services/data/v59.0/query?q=" +
                http::percent_encode("SELECT Id, AccountId, OwnerId, WhoId, Subject, StartDateTime, DurationInMinutes FROM Event"));

  // The same data, written by hand in another key order and with absent instead of null values,
  // gives the same findings.
  fs::path hand = dir / "hand";
  fs::create_directories(hand);
  write(hand / "users.jsonl",
        R"({"role":"executive","id":"005A","name":"Ada Boss","email":"ada@provider.com","active":true})" "\n"
        R"({"id":"005B","manager_id":"005A","name":"Bob Seller","email":"bob@provider.com","active":true,"role":"account_manager"})" "\n");
  write(hand / "accounts.jsonl",
        R"({"id":"001A","name":"Acme","tier":"strategic","region":"EMEA","owner_id":"005B","industry":"Manufacturing","annual_revenue":250000,"country":"DE","created_at":"2025-01-15T09:00:00Z"})" "\n"
        R"({"id":"001B","name":"Globex","tier":"key","region":"NA","owner_id":"005B","annual_revenue":90000,"country":"US","created_at":"2025-02-01T00:00:00Z"})" "\n"
        R"({"id":"001C","name":"Initech","tier":"growth","region":"EMEA","industry":"Software","country":"GB","created_at":"2025-03-01T12:30:00Z"})" "\n");
  write(hand / "contacts.jsonl",
        R"({"id":"003A","account_id":"001A","name":"Carla Buyer","email":"carla@acme.example","role":"finance","last_contacted_at":"2026-02-10T00:00:00Z"})" "\n");
  write(hand / "opportunities.jsonl",
        R"({"id":"006A","stage":"negotiation","name":"Acme renewal","account_id":"001A","owner_id":"005B","amount":120000,"close_date":"2026-04-30","created_at":"2026-01-05T10:00:00Z","promised_features":["SSO","Audit log"]})" "\n"
        R"({"id":"006B","stage":"negotiation","name":"Globex upsell","account_id":"001B","owner_id":"005B","close_date":"2026-05-31","created_at":"2026-01-06T10:00:00Z"})" "\n");
  write(hand / "activities.jsonl",
        R"({"id":"00TA","type":"call","account_id":"001A","owner_id":"005B","contact_id":"003A","subject":"Renewal call","started_at":"2026-02-10T00:00:00Z"})" "\n"
        R"({"id":"00UA","type":"meeting","account_id":"001B","owner_id":"005B","subject":"QBR","started_at":"2026-03-01T09:30:00Z","duration_minutes":60})" "\n"
        R"({"id":"00UB","type":"meeting","account_id":"001B","owner_id":"005A","subject":"Exec sync","started_at":"2026-03-02T16:00:00Z","duration_minutes":30})" "\n");
  write(hand / "cases.jsonl",
        R"({"id":"500A","account_id":"001A","assignee_id":"005B","priority":"normal","opened_at":"2026-02-01T12:00:00Z"})" "\n");
  write(dir / "check.rules", kCoverageRules);
  auto fetched = check(dir / "check.rules", dir / "out");
  auto handwritten = check(dir / "check.rules", hand);
  ASSERT_EQ(fetched.size(), 1u);
  EXPECT_EQ(std::get<1>(*fetched.begin()), "001A");
  EXPECT_EQ(fetched, handwritten);
  fs::remove_all(dir);
}

TEST(SalesforceFetchTest, VendorErrorIsASourceFailureAndNothingIsWritten) {
  ::setenv("RAPPORT_SF_ID", "client-id-1", 1);
  ::setenv("RAPPORT_SF_SECRET", "client-secret-1", 1);
  LoopbackServer server({respond(200, salesforce_token("token-one")),
                         respond(400, R"([{"message":"No such column 'Role__c' on entity 'User'","errorCode":"INVALID_FIELD"}])")});
  fs::path dir = temp_dir("fail");
  source::FetchOptions options;
  options.source_path = write_source(dir, server).string();
  options.out_dir = (dir / "out").string();
  options.client = fast_options();
  source::FetchReport report = source::fetch(options);
  EXPECT_EQ(report.exit_code, source::kFetchSource);
  EXPECT_NE(report.error.find("INVALID_FIELD"), std::string::npos) << report.error;
  EXPECT_NE(report.error.find("No such column 'Role__c' on entity 'User'"), std::string::npos) << report.error;
  EXPECT_NE(report.error.find("HTTP 400"), std::string::npos) << report.error;
  EXPECT_TRUE(fs::is_empty(dir / "out"));
  fs::remove_all(dir);
}

TEST(SalesforceFetchTest, UnmappedPicklistValueIsADataFailure) {
  mapping::Mapping m = mapping::salesforce_default();
  const mapping::ObjectRule& opportunity = m.entity("opportunities")->objects.front();
  boost::json::object record = boost::json::parse(R"({"Id":"006Z","StageName":"Discovery"})").as_object();
  try {
    (void)mapping::map_record(opportunity, record);
    FAIL();
  } catch (const mapping::MappingError& e) {
    EXPECT_STREQ(e.what(), "Opportunity 006Z: stage: the value \"Discovery\" has no canonical value; map it under `values` in the mapping file");
  }
}

TEST(SalesforceQueryTest, TimestampsBecomeUtc) {
  EXPECT_EQ(salesforce::to_utc_timestamp("2026-03-01T09:30:00.000+0000"), "2026-03-01T09:30:00Z");
  EXPECT_EQ(salesforce::to_utc_timestamp("2026-03-01T00:30:00.000+0100"), "2026-02-28T23:30:00Z");
  EXPECT_EQ(salesforce::to_utc_timestamp("2025-12-31T20:00:00-05:00"), "2026-01-01T01:00:00Z");
  EXPECT_EQ(salesforce::to_utc_timestamp("2026-03-01"), "2026-03-01T00:00:00Z");
  EXPECT_EQ(salesforce::to_utc_timestamp("2026-03-01T09:30:00"), std::nullopt);
  EXPECT_EQ(salesforce::to_utc_timestamp("yesterday"), std::nullopt);
}

TEST(MappingFileTest, MistakesAreReportedWithPositions) {
  fs::path dir = temp_dir("mapping");
  write(dir / "mapping.yaml",
        "objects:\n"
        "  acounts:\n"
        "    fields: {}\n"
        "  accounts:\n"
        "    fields:\n"
        "      teir: Tier__c\n"
        "      criticality: { from: Crit__c, values: { Gold: mission_critcal } }\n"
        "      health: { from: Health__c, type: numbr }\n");
  mapping::Mapping m = mapping::salesforce_default();
  diag::DiagnosticSink sink;
  EXPECT_FALSE(mapping::apply_mapping_file((dir / "mapping.yaml").string(), m, sink));
  std::string text = diag::render_text(sink.sorted());
  const std::string path = (dir / "mapping.yaml").string();
  EXPECT_EQ(text,
            path + ":2:3: error[DSL2001]: `acounts` is not an entity this connector maps\n"
            " 2 |   acounts:\n"
            "   |   ^~~~~~~\n"
            "   = help: did you mean `accounts`?\n" +
            path + ":6:7: error[DSL2002]: `teir` is not a field of accounts in the canonical model\n"
            " 6 |       teir: Tier__c\n"
            "   |       ^~~~\n"
            "   = help: did you mean `tier`?\n"
            "   = help: to add a deployment field, give its `type` (text, number, bool, timestamp, date, list)\n" +
            path + ":7:53: error[DSL2014]: `mission_critcal` is not a value of accounts.criticality\n"
            " 7 |       criticality: { from: Crit__c, values: { Gold: mission_critcal } }\n"
            "   |                                                     ^~~~~~~~~~~~~~~\n"
            "   = help: did you mean `mission_critical`?\n"
            "   = note: values of accounts.criticality: low, medium, high, mission_critical\n" +
            path + ":8:40: error[DSL2013]: unknown field type `numbr`\n"
            " 8 |       health: { from: Health__c, type: numbr }\n"
            "   |                                        ^~~~~\n"
            "   = help: did you mean `number`?\n"
            "4 errors, 0 warnings\n");
  fs::remove_all(dir);
}

TEST(SourceFileTest, InlineSecretIsRefusedWithoutEchoingIt) {
  fs::path dir = temp_dir("inline");
  write(dir / "source.yaml",
        "kind: salesforce\n"
        "instance: https://acme.my.salesforce.com\n"
        "auth:\n"
        "  client_id: env:SF_CLIENT_ID\n"
        "  client_secret: Sup3rS3cretValue!\n"
        "objects: [accounts, acounts]\n");
  diag::DiagnosticSink sink;
  EXPECT_FALSE(source::load_source((dir / "source.yaml").string(), sink));
  std::string text = diag::render_text(sink.sorted());
  EXPECT_EQ(text.find("Sup3rS3cretValue"), std::string::npos) << text;
  const std::string path = (dir / "source.yaml").string();
  EXPECT_EQ(text,
            path + ":5:18: error[PAR5003]: auth.client_secret must be a reference to a secret, not the secret itself\n"
            "   = help: write `client_secret: env:VARIABLE` or `client_secret: file:/path/to/secret`\n"
            "   = note: the value is not shown; if it is a real credential, rotate it\n" +
            path + ":6:21: error[DSL2001]: `acounts` is not an entity a salesforce source can fetch\n"
            " 6 | objects: [accounts, acounts]\n"
            "   |                     ^~~~~~~\n"
            "   = help: did you mean `accounts`?\n"
            "2 errors, 0 warnings\n");

  // Through the binary: exit code 2, nothing of the secret on either stream.
  std::string out = (dir / "stdout.txt").string(), err = (dir / "stderr.txt").string();
  std::string command = std::string(RAPPORT_BINARY) + " fetch --source " + (dir / "source.yaml").string() + " --out " +
                        (dir / "out").string() + " --color never >" + out + " 2>" + err;
  int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_EQ(read(out).find("Sup3rS3cretValue"), std::string::npos);
  EXPECT_EQ(read(err).find("Sup3rS3cretValue"), std::string::npos) << read(err);
  EXPECT_NE(read(err).find("auth.client_secret must be a reference"), std::string::npos) << read(err);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rapport
