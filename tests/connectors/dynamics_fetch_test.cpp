// `rapport fetch` and `rapport check --source` from a loopback Dataverse: a small book of
// systemusers, accounts, contacts, opportunities, phone calls, appointments, tasks and incidents
// becomes canonical JSONL identical to the expected files, also when a third of the requests
// fail (429, 503, reset); a record returned twice, secrets in errors and source file mistakes.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "connectors/http/form.hpp"
#include "connectors/mapping/mapping.hpp"
#include "connectors/source/fetch.hpp"
#include "connectors/source/source_config.hpp"
#include "diag/render.hpp"
#include "fetch_test_support.hpp"
#include "loopback_server.hpp"

namespace rapport {
namespace {

using namespace fetch_test;
using testing::LoopbackServer;
using testing::Reply;
using testing::reset_connection;
using testing::respond;

constexpr const char* kSecret = "dyn-fetch-s3cret";

void set_secrets() {
  ::setenv("RAPPORT_DYN_ID", "app-id-1", 1);
  ::setenv("RAPPORT_DYN_SECRET", kSecret, 1);
}

std::string token(const std::string& value) {
  return R"({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":")" + value + "\"}";
}

std::string page(const std::vector<std::string>& rows, const std::string& next = "") {
  std::string body = R"({"@odata.context":"$metadata","value":[)";
  for (std::size_t i = 0; i < rows.size(); ++i) body += (i ? "," : "") + rows[i];
  body += "]";
  if (!next.empty()) body += R"(,"@odata.nextLink":")" + next + "\"";
  return body + "}";
}

const std::string kOwner = R"("_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname")";
const std::string kRegarding = R"("_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname")";
const std::string kFormatted = "@OData.Community.Display.V1.FormattedValue";

const char* kMapping = R"(objects:
  users:
    fields:
      role: { from: new_role@OData.Community.Display.V1.FormattedValue, values: { Executive: executive, "Account Manager": account_manager } }
  accounts:
    fields:
      tier: { from: new_tier, values: { "100000000": strategic, "100000001": key, "100000002": growth } }
      region: new_region
)";

const std::string kAccountsTarget =
    "/api/data/v9.2/accounts?$select=accountid,name,_ownerid_value,industrycode,revenue,address1_country,createdon,"
    "new_tier,new_region";

/// The book, page by page, in the order fetch() asks; accounts come in two pages and the
/// token expires between them.
std::vector<Reply> dataverse_script(const LoopbackServer& server) {
  const std::string acme =
      R"({"@odata.etag":"W/\"101\"","accountid":"a-acme","name":"Acme","_ownerid_value":"u-bob",)" + kOwner +
      R"(:"systemuser","industrycode":12,"industrycode)" + kFormatted +
      R"(":"Durable Manufacturing","revenue":250000.0,"address1_country":"DE","createdon":"2025-01-15T09:00:00Z","new_tier":100000000,"new_region":"EMEA"})";
  const std::string globex =
      R"({"accountid":"a-globex","name":"Globex","_ownerid_value":"team-1",)" + kOwner +
      R"(:"team","industrycode":null,"revenue":90000,"address1_country":"US","createdon":"2025-02-01T00:00:00Z","new_tier":100000001,"new_region":"NA"})";
  const std::string initech =
      R"({"accountid":"a-initech","name":"Initech","_ownerid_value":"u-bob",)" + kOwner + R"(:"systemuser","industrycode":7,"industrycode)" +
      kFormatted +
      R"(":"Consulting","revenue":null,"address1_country":"GB","createdon":"2025-03-01T12:30:00Z","new_tier":100000002,"new_region":"EMEA"})";
  const std::string next = server.url(kAccountsTarget + "&$skiptoken=%3Ccookie%20pagenumber=%222%22%20/%3E");
  return {
      respond(200, token("token-one")),
      respond(200, page({R"({"systemuserid":"u-ada","fullname":"Ada Boss","internalemailaddress":"ada@provider.com","isdisabled":false,"_parentsystemuserid_value":null,"new_role":1,"new_role)" + kFormatted + R"(":"Executive"})",
                         R"({"systemuserid":"u-bob","fullname":"Bob Seller","internalemailaddress":"bob@provider.com","isdisabled":false,"_parentsystemuserid_value":"u-ada","new_role":2,"new_role)" + kFormatted + R"(":"Account Manager"})",
                         R"({"systemuserid":"u-old","fullname":"Old Timer","internalemailaddress":"old@provider.com","isdisabled":true,"_parentsystemuserid_value":"u-ada","new_role":null})"})),
      respond(200, page({acme, globex}, next)),
      respond(401, "", {{"WWW-Authenticate", R"(Bearer error="invalid_token", error_description="The access token expired")"}}),
      respond(200, token("token-two")),
      respond(200, page({initech})),
      respond(200, page({R"({"contactid":"c-carla","fullname":"Carla Buyer","emailaddress1":"carla@acme.example","_parentcustomerid_value":"a-acme","_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"account"})",
                         R"({"contactid":"c-dan","fullname":"Dan Alone","emailaddress1":null,"_parentcustomerid_value":"c-carla","_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"contact"})"})),
      respond(200, page({R"({"opportunityid":"o-renewal","name":"Acme renewal","_parentaccountid_value":"a-acme","_ownerid_value":"u-bob",)" + kOwner + R"(:"systemuser","statecode":0,"salesstage":3,"estimatedvalue":120000.0,"actualclosedate":null,"estimatedclosedate":"2026-04-30","createdon":"2026-01-05T10:00:00Z"})",
                         R"({"opportunityid":"o-upsell","name":"Globex upsell","_parentaccountid_value":"a-globex","_ownerid_value":"u-bob",)" + kOwner + R"(:"systemuser","statecode":0,"salesstage":3,"estimatedvalue":null,"actualclosedate":null,"estimatedclosedate":"2026-05-31","createdon":"2026-01-06T10:00:00Z"})",
                         R"({"opportunityid":"o-won","name":"Initech pilot","_parentaccountid_value":"a-initech","_ownerid_value":"u-ada",)" + kOwner + R"(:"systemuser","statecode":1,"salesstage":3,"estimatedvalue":5000,"actualclosedate":"2026-02-14","estimatedclosedate":"2026-03-31","createdon":"2025-12-01T08:00:00Z"})"})),
      respond(200, page({R"({"activityid":"act-call","_regardingobjectid_value":"a-acme",)" + kRegarding + R"(:"account","_ownerid_value":"u-bob",)" + kOwner + R"(:"systemuser","subject":"Renewal call","actualstart":"2026-02-10T13:00:00Z","scheduledstart":"2026-02-10T12:00:00Z","actualdurationminutes":30})"})),
      respond(200, page({R"({"activityid":"act-qbr","_regardingobjectid_value":"a-globex",)" + kRegarding + R"(:"account","_ownerid_value":"u-bob",)" + kOwner + R"(:"systemuser","subject":"QBR","actualstart":null,"scheduledstart":"2026-03-01T09:30:00Z","actualdurationminutes":null,"scheduleddurationminutes":60})",
                         R"({"activityid":"act-sync","_regardingobjectid_value":"o-upsell",)" + kRegarding + R"(:"opportunity","_ownerid_value":"u-ada",)" + kOwner + R"(:"systemuser","subject":"Exec sync","actualstart":null,"scheduledstart":"2026-03-02T16:00:00Z","actualdurationminutes":null,"scheduleddurationminutes":30})"})),
      respond(200, page({R"({"activityid":"act-task","_regardingobjectid_value":"c-carla",)" + kRegarding + R"(:"contact","_ownerid_value":"u-bob",)" + kOwner + R"(:"systemuser","subject":"Send proposal","actualstart":null,"scheduledstart":null,"actualdurationminutes":null})"})),
      respond(200, page({R"({"incidentid":"case-1","_customerid_value":"a-acme","_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"account","_ownerid_value":"u-bob",)" + kOwner + R"(:"systemuser","prioritycode":2,"createdon":"2026-02-01T12:00:00Z"})"})),
  };
}

const std::map<std::string, std::string> kExpected = {
    {"users",
     R"({"id":"u-ada","name":"Ada Boss","email":"ada@provider.com","active":true,"manager_id":null,"role":"executive"})" "\n"
     R"({"id":"u-bob","name":"Bob Seller","email":"bob@provider.com","active":true,"manager_id":"u-ada","role":"account_manager"})" "\n"
     R"({"id":"u-old","name":"Old Timer","email":"old@provider.com","active":false,"manager_id":"u-ada","role":null})" "\n"},
    {"accounts",
     R"({"id":"a-acme","name":"Acme","owner_id":"u-bob","industry":"Durable Manufacturing","annual_revenue":250000,"country":"DE","created_at":"2025-01-15T09:00:00Z","tier":"strategic","region":"EMEA"})" "\n"
     R"({"id":"a-globex","name":"Globex","owner_id":null,"industry":null,"annual_revenue":90000,"country":"US","created_at":"2025-02-01T00:00:00Z","tier":"key","region":"NA"})" "\n"
     R"({"id":"a-initech","name":"Initech","owner_id":"u-bob","industry":"Consulting","annual_revenue":null,"country":"GB","created_at":"2025-03-01T12:30:00Z","tier":"growth","region":"EMEA"})" "\n"},
    {"contacts",
     R"({"id":"c-carla","name":"Carla Buyer","email":"carla@acme.example","account_id":"a-acme"})" "\n"
     R"({"id":"c-dan","name":"Dan Alone","email":null,"account_id":null})" "\n"},
    {"opportunities",
     R"({"id":"o-renewal","name":"Acme renewal","account_id":"a-acme","owner_id":"u-bob","stage":"negotiation","amount":120000,"close_date":"2026-04-30","created_at":"2026-01-05T10:00:00Z"})" "\n"
     R"({"id":"o-upsell","name":"Globex upsell","account_id":"a-globex","owner_id":"u-bob","stage":"negotiation","amount":null,"close_date":"2026-05-31","created_at":"2026-01-06T10:00:00Z"})" "\n"
     R"({"id":"o-won","name":"Initech pilot","account_id":"a-initech","owner_id":"u-ada","stage":"closed_won","amount":5000,"close_date":"2026-02-14","created_at":"2025-12-01T08:00:00Z"})" "\n"},
    {"activities",
     R"({"id":"act-call","account_id":"a-acme","opportunity_id":null,"contact_id":null,"owner_id":"u-bob","type":"call","subject":"Renewal call","started_at":"2026-02-10T13:00:00Z","duration_minutes":30})" "\n"
     R"({"id":"act-qbr","account_id":"a-globex","opportunity_id":null,"contact_id":null,"owner_id":"u-bob","type":"meeting","subject":"QBR","started_at":"2026-03-01T09:30:00Z","duration_minutes":60})" "\n"
     R"({"id":"act-sync","account_id":null,"opportunity_id":"o-upsell","contact_id":null,"owner_id":"u-ada","type":"meeting","subject":"Exec sync","started_at":"2026-03-02T16:00:00Z","duration_minutes":30})" "\n"
     R"({"id":"act-task","account_id":null,"opportunity_id":null,"contact_id":"c-carla","owner_id":"u-bob","type":"task","subject":"Send proposal","started_at":null,"duration_minutes":null})" "\n"},
    {"cases",
     R"({"id":"case-1","account_id":"a-acme","assignee_id":"u-bob","priority":"normal","opened_at":"2026-02-01T12:00:00Z"})" "\n"},
};

const std::string kAllObjects = "[users, accounts, contacts, opportunities, activities, cases]";

/// A source file for the loopback org; `extra` lines are appended.
fs::path write_source(const fs::path& dir, const LoopbackServer& server, const std::string& objects = kAllObjects,
                      const std::string& extra = "") {
  write(dir / "mapping.yaml", kMapping);
  write(dir / "source.yaml", "kind: dynamics\norg: " + server.url("") + "\ntenant: contoso.onmicrosoft.com\n"
                             "auth:\n  client_id: env:RAPPORT_DYN_ID\n  client_secret: env:RAPPORT_DYN_SECRET\n"
                             "  token_url: " + server.url("/contoso.onmicrosoft.com/oauth2/v2.0/token") +
                             "\npage_size: 2\nmapping: mapping.yaml\nobjects: " + objects +
                             "\nconcurrency: 1\n" + extra);  // the requests in the order of the script
  return dir / "source.yaml";
}

source::FetchReport run_fetch(const fs::path& dir, const LoopbackServer& server, const std::string& objects = kAllObjects,
                              const std::string& extra = "") {
  source::FetchOptions options;
  options.source_path = write_source(dir, server, objects, extra).string();
  options.out_dir = (dir / "out").string();
  options.client = fast_options();
  return source::fetch(options);
}

TEST(DynamicsFetchTest, LoopbackBookBecomesTheExpectedCanonicalFiles) {
  set_secrets();
  LoopbackServer server(std::vector<Reply>{});
  server.extend_script(dataverse_script(server));
  fs::path dir = temp_dir("book");
  source::FetchReport report = run_fetch(dir, server, kAllObjects, "modified_since: 2026-01-01\n");
  ASSERT_EQ(report.exit_code, source::kFetchOk) << report.error << diag::render_text(report.sink.sorted());
  expect_files(dir / "out", kExpected);

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 12u);
  EXPECT_EQ(requests[0].target, "/contoso.onmicrosoft.com/oauth2/v2.0/token");
  EXPECT_EQ(requests[0].body, "grant_type=client_credentials&client_id=app-id-1&client_secret=" + std::string(kSecret) +
                                  "&scope=" + http::percent_encode(server.url("/.default")));
  const std::string since = "&$filter=modifiedon%20ge%202026-01-01T00%3A00%3A00Z";
  EXPECT_EQ(requests[1].target,
            "/api/data/v9.2/systemusers?$select=systemuserid,fullname,internalemailaddress,isdisabled,"
            "_parentsystemuserid_value,new_role" + since);
  EXPECT_EQ(requests[2].target, kAccountsTarget + since);
  EXPECT_EQ(requests[3].target, kAccountsTarget + "&$skiptoken=%3Ccookie%20pagenumber=%222%22%20/%3E");
  EXPECT_EQ(requests[3].header("Authorization"), "Bearer token-one");
  EXPECT_EQ(requests[4].method, "POST");  // refused: a new token
  EXPECT_EQ(requests[5].target, requests[3].target);
  EXPECT_EQ(requests[5].header("Authorization"), "Bearer token-two");
  EXPECT_EQ(requests[6].target, "/api/data/v9.2/contacts?$select=contactid,fullname,emailaddress1,_parentcustomerid_value" + since);
  EXPECT_EQ(requests[7].target,
            "/api/data/v9.2/opportunities?$select=opportunityid,name,_parentaccountid_value,_ownerid_value,statecode,"
            "salesstage,estimatedvalue,actualclosedate,estimatedclosedate,createdon" + since);
  EXPECT_EQ(requests[8].target,
            "/api/data/v9.2/phonecalls?$select=activityid,_regardingobjectid_value,_ownerid_value,subject,actualstart,"
            "scheduledstart,actualdurationminutes" + since);
  EXPECT_EQ(requests[9].target,
            "/api/data/v9.2/appointments?$select=activityid,_regardingobjectid_value,_ownerid_value,subject,actualstart,"
            "scheduledstart,actualdurationminutes,scheduleddurationminutes" + since);
  EXPECT_EQ(requests[11].target,
            "/api/data/v9.2/incidents?$select=incidentid,_customerid_value,_ownerid_value,prioritycode,createdon" + since);
  EXPECT_EQ(requests[1].header("Prefer"), "odata.maxpagesize=2");
  fs::remove_all(dir);
}

/// `good` with a fault before every request whose number is a multiple of three: a 429 with
/// Retry-After, a 503 or a reset, in turn. No request meets two faults in a row.
std::vector<Reply> with_faults(const std::vector<Reply>& good, std::size_t& faults) {
  const std::vector<Reply> kinds = {
      respond(429, R"({"error":{"code":"0x80072322","message":"Number of requests exceeded the limit."}})",
              {{"Retry-After", "0"}}),
      respond(503, R"({"error":{"code":"0x80040216","message":"Service unavailable."}})"), reset_connection()};
  std::vector<Reply> script;
  for (const Reply& reply : good) {
    if ((script.size() + 1) % 3 == 0) script.push_back(kinds[faults++ % kinds.size()]);
    script.push_back(reply);
  }
  return script;
}

TEST(DynamicsFetchTest, EveryRecordArrivesOnceWhenAThirdOfTheRequestsFail) {
  set_secrets();
  LoopbackServer server(std::vector<Reply>{});
  std::size_t faults = 0;
  server.extend_script(with_faults(dataverse_script(server), faults));
  fs::path dir = temp_dir("faults");
  source::FetchReport report = run_fetch(dir, server);
  ASSERT_EQ(report.exit_code, source::kFetchOk) << report.error;
  expect_files(dir / "out", kExpected);
  EXPECT_GE(faults, 5u);
  EXPECT_EQ(server.requests().size(), 12u + faults);
  fs::remove_all(dir);
}

TEST(DynamicsFetchTest, ARecordReturnedTwiceIsAnErrorAndNothingIsWritten) {
  set_secrets();
  const std::string acme = R"({"accountid":"a-acme","name":"Acme","_ownerid_value":null})";
  LoopbackServer server(std::vector<Reply>{});
  server.extend_script({respond(200, token("token-one")),
                        respond(200, page({acme}, server.url(kAccountsTarget + "&$skiptoken=2"))),
                        respond(200, page({acme}))});
  fs::path dir = temp_dir("twice");
  source::FetchReport report = run_fetch(dir, server, "[accounts]");
  EXPECT_EQ(report.exit_code, source::kFetchSource);
  EXPECT_EQ(report.error, "accounts a-acme: the source returned this record twice");
  EXPECT_TRUE(fs::is_empty(dir / "out"));
  fs::remove_all(dir);
}

TEST(DynamicsFetchTest, FailuresNameTheVendorMessageButNoSecret) {
  set_secrets();
  {  // the token endpoint refuses and echoes the secret
    LoopbackServer server({respond(401, std::string(R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided: )") +
                                            kSecret + "\"}")});
    fs::path dir = temp_dir("secret");
    source::FetchReport report = run_fetch(dir, server, "[accounts]");
    EXPECT_EQ(report.exit_code, source::kFetchSource);
    EXPECT_NE(report.error.find("invalid_client: AADSTS7000215: Invalid client secret provided"), std::string::npos) << report.error;
    EXPECT_EQ(report.error.find(kSecret), std::string::npos) << report.error;
    EXPECT_TRUE(fs::is_empty(dir / "out"));
    fs::remove_all(dir);
  }
  {  // the org refuses the query
    LoopbackServer server({respond(200, token("token-one")),
                           respond(400, R"({"error":{"code":"0x80060888","message":"Could not find a property named 'new_tier' on type 'Microsoft.Dynamics.CRM.account'."}})")});
    fs::path dir = temp_dir("secret");
    source::FetchReport report = run_fetch(dir, server, "[accounts]");
    EXPECT_EQ(report.exit_code, source::kFetchSource);
    EXPECT_EQ(report.error, "GET " + server.url(kAccountsTarget) +
                                ": HTTP 400 0x80060888: Could not find a property named 'new_tier' on type "
                                "'Microsoft.Dynamics.CRM.account'. (after 1 attempt)");
    fs::remove_all(dir);
  }
}

TEST(DynamicsFetchTest, UnmappedChoiceValueNamesTableRowAndField) {
  mapping::Mapping m = mapping::dynamics_default();
  const mapping::ObjectRule& incidents = m.entity("cases")->objects.front();
  boost::json::object row = boost::json::parse(R"({"incidentid":"case-9","prioritycode":4})").as_object();
  try {
    (void)mapping::map_record(incidents, row);
    FAIL();
  } catch (const mapping::MappingError& e) {
    EXPECT_STREQ(e.what(), "incidents case-9: priority: the value 4 has no canonical value; map it under `values` in the mapping file");
  }
}

TEST(DynamicsSourceFileTest, MistakesAreReportedWithPositionsAndWithoutSecrets) {
  fs::path dir = temp_dir("source");
  write(dir / "source.yaml",
        "kind: dynamics\n"
        "org: contoso.crm.dynamics.com\n"
        "page_size: 9000\n"
        "auth:\n"
        "  client_id: env:DYN_ID\n"
        "  client_secret: Sup3rS3cretValue!\n"
        "  refresh_token: env:DYN_REFRESH\n"
        "objects: [accounts, incidents]\n");
  diag::DiagnosticSink sink;
  EXPECT_FALSE(source::load_source((dir / "source.yaml").string(), sink));
  std::string text = diag::render_text(sink.sorted());
  EXPECT_EQ(text.find("Sup3rS3cretValue"), std::string::npos) << text;
  const std::string path = (dir / "source.yaml").string();
  EXPECT_EQ(text,
            path + ":7:3: error[PAR5007]: unknown key `refresh_token` in `auth`\n"
            "   = help: allowed keys: client_id, client_secret, token_url\n" +
            path + ":6:18: error[PAR5003]: auth.client_secret must be a reference to a secret, not the secret itself\n"
            "   = help: write `client_secret: env:VARIABLE` or `client_secret: file:/path/to/secret`\n"
            "   = note: the value is not shown; if it is a real credential, rotate it\n" +
            path + ":1:7: error[DSL4003]: a dynamics source needs `tenant` (the Microsoft Entra tenant id or domain) or `auth.token_url`\n"
            " 1 | kind: dynamics\n"
            "   |       ^~~~~~~~\n" +
            path + ":2:6: error[PAR5003]: `org` must be an https:// URL\n"
            " 2 | org: contoso.crm.dynamics.com\n"
            "   |      ^~~~~~~~~~~~~~~~~~~~~~~~\n" +
            path + ":3:12: error[PAR5003]: `page_size` must be a whole number from 1 to 5000\n"
            " 3 | page_size: 9000\n"
            "   |            ^~~~\n" +
            path + ":8:21: error[DSL2001]: `incidents` is not an entity a dynamics source can fetch\n"
            " 8 | objects: [accounts, incidents]\n"
            "   |                     ^~~~~~~~~\n"
            "6 errors, 0 warnings\n");
  fs::remove_all(dir);
}

TEST(DynamicsSourceFileTest, AGoodSourceFileIsRead) {
  fs::path dir = temp_dir("good");
  write(dir / "source.yaml",
        "kind: dynamics\n"
        "org: https://contoso.crm4.dynamics.com\n"
        "tenant: 72f988bf-86f1-41af-91ab-2d7cd011db47\n"
        "auth:\n"
        "  client_id: env:DYN_ID\n"
        "  client_secret: file:/run/secrets/dynamics\n"
        "objects: [users, cases]\n"
        "modified_since: 2026-01-01\n");
  diag::DiagnosticSink sink;
  auto config = source::load_source((dir / "source.yaml").string(), sink);
  ASSERT_TRUE(config) << diag::render_text(sink.sorted());
  EXPECT_EQ(config->kind, source::Kind::Dynamics);
  EXPECT_EQ(config->instance, "https://contoso.crm4.dynamics.com");
  EXPECT_EQ(config->tenant, "72f988bf-86f1-41af-91ab-2d7cd011db47");
  EXPECT_EQ(config->api_version, "v9.2");
  EXPECT_EQ(config->page_size, 0);
  EXPECT_EQ(config->auth->client_secret, "file:/run/secrets/dynamics");
  EXPECT_FALSE(config->auth->token_url);
  EXPECT_EQ(config->modified_since, "2026-01-01T00:00:00Z");
  EXPECT_EQ(config->objects, (std::vector<std::string>{"users", "cases"}));
  fs::remove_all(dir);
}

TEST(DynamicsFetchTest, CheckFromADynamicsSourceThroughTheBinary) {
  set_secrets();
  LoopbackServer server(std::vector<Reply>{});
  server.extend_script(dataverse_script(server));
  fs::path dir = temp_dir("check");
  write_source(dir, server);
  write(dir / "check.rules", kCoverageRules);
  std::string out = (dir / "stdout.txt").string(), err = (dir / "stderr.txt").string();
  std::string command = "no_proxy='*' NO_PROXY='*' " + std::string(RAPPORT_BINARY) + " check " + (dir / "check.rules").string() +
                        " --source " + (dir / "source.yaml").string() + " --as-of 2026-03-15 --format json -q >" + out +
                        " 2>" + err;
  int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << read(err);
  std::string findings = read(out);
  EXPECT_NE(findings.find("Acme: 1 deal(s) in negotiation, 1 activities"), std::string::npos) << findings;
  EXPECT_NE(findings.find("Globex: 1 deal(s) in negotiation, 1 activities"), std::string::npos) << findings;
  EXPECT_EQ(findings.find("Initech"), std::string::npos) << findings;
  EXPECT_EQ(read(err).find(kSecret), std::string::npos);

  // The same findings, byte for byte, as fetching to files and checking those.
  LoopbackServer again(std::vector<Reply>{});
  again.extend_script(dataverse_script(again));
  write_source(dir, again);
  command = "no_proxy='*' NO_PROXY='*' " + std::string(RAPPORT_BINARY) + " fetch --source " + (dir / "source.yaml").string() +
            " --out " + (dir / "fetched").string() + " -q 2>" + err;
  ASSERT_EQ(std::system(command.c_str()), 0) << read(err);
  EXPECT_EQ(check_json(dir / "check.rules", "--data " + (dir / "fetched").string(), dir), std::make_pair(0, findings));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rapport
