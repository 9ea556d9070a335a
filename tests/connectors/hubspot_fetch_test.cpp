// `rapport fetch` from a loopback HubSpot: the exact requests (paths, properties, associations,
// cursors, bearer token), a small book mapped onto canonical JSONL files, the same book with a
// fault on every third request, modified_since through the search endpoint, and the dialect's
// URL, body and association rules.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <map>

#include "connectors/hubspot/objects.hpp"
#include "connectors/mapping/mapping.hpp"
#include "connectors/source/fetch.hpp"
#include "diag/render.hpp"
#include "hubspot_test_support.hpp"

namespace rapport {
namespace {

using namespace fetch_test;
using namespace hubspot_test;
using namespace std::chrono_literals;
using testing::LoopbackServer;
using testing::Reply;

constexpr const char* kToken = "pat-na1-11111111-2222-3333-4444-555555555555";

const char* kMapping = R"(objects:
  accounts:
    fields:
      tier: { from: tier, values: { Platinum: strategic, Gold: key } }
  contacts:
    fields:
      role: { from: jobtitle, values: { CFO: finance, CTO: technical } }
)";

const std::vector<std::string> kObjects = {"users", "accounts", "contacts", "opportunities", "activities", "cases"};

/// The book, in the order fetch() asks for it: owners (two active pages, one archived), companies
/// (two pages), contacts, deals, calls, meetings, tasks (none), emails, tickets.
std::vector<Reply> book() {
  return {
      ok(page({R"({"id":"101","email":"ada@provider.com","type":"PERSON","firstName":"Ada","lastName":"Boss","userId":9001,"createdAt":"2024-01-01T00:00:00.000Z","updatedAt":"2024-01-01T00:00:00.000Z","archived":false})"},
              "NDI1")),
      ok(page({R"({"id":"102","email":"bob@provider.com","type":"PERSON","firstName":"Bob","lastName":null,"userId":9002,"archived":false,"teams":[{"id":"7","name":"EMEA","primary":true}]})"})),
      ok(page({R"({"id":"103","email":"carl@provider.com","type":"PERSON","firstName":"Carl","lastName":"Gone","userId":9003,"archived":true})"})),
      ok(page({object("201", R"("name":"Acme","hubspot_owner_id":"102","industry":"MACHINERY","annualrevenue":"250000","country":"DE","createdate":"2025-01-15T09:00:00.000Z","tier":"Platinum","hs_object_id":"201")")},
              "201")),
      ok(page({object("202", R"("name":"Globex","hubspot_owner_id":null,"industry":null,"annualrevenue":"90000.5","country":"US","createdate":"2025-02-01T00:00:00Z","tier":"Gold")")})),
      ok(page({object("301", R"("firstname":"Carla","lastname":"Buyer","email":"carla@acme.example","notes_last_contacted":"2026-02-10T08:15:00.000Z","jobtitle":"CFO")",
                      associated("companies", {{"202", "contact_to_company_unlabeled"}, {"201", "contact_to_company"}})),
               object("302", R"("firstname":null,"lastname":"Solo","email":null,"notes_last_contacted":null,"jobtitle":null)")})),
      ok(page({object("401", R"("dealname":"Acme renewal","hubspot_owner_id":"102","dealstage":"contractsent","amount":"120000","closedate":"2026-04-30T00:00:00.000Z","createdate":"2026-01-05T10:00:00.000Z")",
                      associated("companies", {{"201", "deal_to_company"}, {"201", "deal_to_company_unlabeled"}}))})),
      ok(page({object("501", R"("hubspot_owner_id":"102","hs_call_title":"Renewal call","hs_timestamp":"2026-02-10T09:00:00.000Z")",
                      associated("companies", {{"201", "call_to_company"}}) + "," + associated("deals", {{"401", "call_to_deal"}}) +
                          "," + associated("contacts", {{"301", "call_to_contact"}}))})),
      ok(page({object("601", R"("hubspot_owner_id":"101","hs_meeting_title":"QBR","hs_meeting_start_time":"2026-03-01T10:30:00.000+01:00","hs_timestamp":"2026-03-01T09:00:00.000Z")",
                      associated("companies", {{"202", "meeting_event_to_company"}}))})),
      ok(page({})),
      ok(page({object("701", R"("hubspot_owner_id":"101","hs_email_subject":"Follow-up","hs_timestamp":"2026-03-02T16:00:00.000Z")")})),
      ok(page({object("801", R"("hubspot_owner_id":"102","hs_ticket_priority":"MEDIUM","createdate":"2026-02-01T12:00:00.000Z","closed_date":null)",
                      associated("companies", {{"201", "ticket_to_company"}}))})),
  };
}

/// The requests the book is read with, in order (path and query as sent).
const std::vector<std::string> kTargets = {
    "/crm/v3/owners?limit=100&archived=false",
    "/crm/v3/owners?limit=100&archived=false&after=NDI1",
    "/crm/v3/owners?limit=100&archived=true",
    "/crm/v3/objects/companies?limit=100&properties=name,hubspot_owner_id,industry,annualrevenue,country,createdate,tier",
    "/crm/v3/objects/companies?limit=100&properties=name,hubspot_owner_id,industry,annualrevenue,country,createdate,tier&after=201",
    "/crm/v3/objects/contacts?limit=100&properties=firstname,lastname,email,notes_last_contacted,jobtitle&associations=companies",
    "/crm/v3/objects/deals?limit=100&properties=dealname,hubspot_owner_id,dealstage,amount,closedate,createdate&associations=companies",
    "/crm/v3/objects/calls?limit=100&properties=hubspot_owner_id,hs_call_title,hs_timestamp&associations=companies,deals,contacts",
    "/crm/v3/objects/meetings?limit=100&properties=hubspot_owner_id,hs_meeting_title,hs_meeting_start_time,hs_timestamp&associations=companies,deals,contacts",
    "/crm/v3/objects/tasks?limit=100&properties=hubspot_owner_id,hs_task_subject,hs_timestamp&associations=companies,deals,contacts",
    "/crm/v3/objects/emails?limit=100&properties=hubspot_owner_id,hs_email_subject,hs_timestamp&associations=companies,deals,contacts",
    "/crm/v3/objects/tickets?limit=100&properties=hubspot_owner_id,hs_ticket_priority,createdate,closed_date&associations=companies",
};

const std::map<std::string, std::string> kExpected = {
    {"users",
     R"({"id":"101","name":"Ada Boss","email":"ada@provider.com","active":true})" "\n"
     R"({"id":"102","name":"Bob","email":"bob@provider.com","active":true})" "\n"
     R"({"id":"103","name":"Carl Gone","email":"carl@provider.com","active":false})" "\n"},
    {"accounts",
     R"({"id":"201","name":"Acme","owner_id":"102","industry":"MACHINERY","annual_revenue":250000,"country":"DE","created_at":"2025-01-15T09:00:00Z","tier":"strategic"})" "\n"
     R"({"id":"202","name":"Globex","owner_id":null,"industry":null,"annual_revenue":9.00005E4,"country":"US","created_at":"2025-02-01T00:00:00Z","tier":"key"})" "\n"},
    {"contacts",
     R"({"id":"301","name":"Carla Buyer","email":"carla@acme.example","account_id":"201","last_contacted_at":"2026-02-10T08:15:00Z","role":"finance"})" "\n"
     R"({"id":"302","name":"Solo","email":null,"account_id":null,"last_contacted_at":null,"role":null})" "\n"},
    {"opportunities",
     R"({"id":"401","name":"Acme renewal","account_id":"201","owner_id":"102","stage":"negotiation","amount":120000,"close_date":"2026-04-30","created_at":"2026-01-05T10:00:00Z"})" "\n"},
    {"activities",
     R"({"id":"501","account_id":"201","opportunity_id":"401","contact_id":"301","owner_id":"102","type":"call","subject":"Renewal call","started_at":"2026-02-10T09:00:00Z"})" "\n"
     R"({"id":"601","account_id":"202","opportunity_id":null,"contact_id":null,"owner_id":"101","type":"meeting","subject":"QBR","started_at":"2026-03-01T09:30:00Z"})" "\n"
     R"({"id":"701","account_id":null,"opportunity_id":null,"contact_id":null,"owner_id":"101","type":"email","subject":"Follow-up","started_at":"2026-03-02T16:00:00Z"})" "\n"},
    {"cases",
     R"({"id":"801","account_id":"201","assignee_id":"102","priority":"normal","opened_at":"2026-02-01T12:00:00Z","resolved_at":null})" "\n"},
};

fs::path write_source(const fs::path& dir, const LoopbackServer& server, const std::string& extra = "") {
  write(dir / "mapping.yaml", kMapping);
  std::string objects;
  for (const auto& o : kObjects) objects += (objects.empty() ? "" : ", ") + o;
  write(dir / "source.yaml", "kind: hubspot\nbase_url: " + server.url("") + "\nauth:\n  token: env:RAPPORT_HS_TOKEN\n"
                             "mapping: mapping.yaml\nobjects: [" + objects + "]\nconcurrency: 1\n" + extra);  // requests in script order
  return dir / "source.yaml";
}

source::FetchReport run_fetch(const fs::path& source_path, const fs::path& out) {
  source::FetchOptions options;
  options.source_path = source_path.string();
  options.out_dir = out.string();
  options.client = fast_options();
  return source::fetch(options);
}

TEST(HubspotFetchTest, SendsTheDocumentedRequestsAndWritesCanonicalFiles) {
  ::setenv("RAPPORT_HS_TOKEN", kToken, 1);
  LoopbackServer server(book());
  fs::path dir = temp_dir("book");
  source::FetchReport report = run_fetch(write_source(dir, server), dir / "out");
  ASSERT_EQ(report.exit_code, source::kFetchOk) << report.error << diag::render_text(report.sink.sorted());
  expect_files(dir / "out", kExpected);

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), kTargets.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(requests[i].method, "GET") << i;
    EXPECT_EQ(requests[i].target, kTargets[i]) << i;
    EXPECT_EQ(requests[i].header("Authorization"), std::string("Bearer ") + kToken) << i;
    EXPECT_EQ(requests[i].header("Accept"), "application/json") << i;
  }
  const std::vector<std::pair<std::string, std::size_t>> written = {
      {"users", 3}, {"accounts", 2}, {"contacts", 2}, {"opportunities", 1}, {"activities", 3}, {"cases", 1}};
  EXPECT_EQ(report.written, written);
  fs::remove_all(dir);
}

TEST(HubspotFetchTest, AFaultOnEveryThirdRequestStillYieldsEveryRecordOnce) {
  ::setenv("RAPPORT_HS_TOKEN", kToken, 1);
  std::vector<Reply> script;
  const std::vector<Reply> faults = {
      testing::respond(429, error_body("RATE_LIMITS", "You have reached your secondly limit.", "c-429"),
                       {{"Retry-After", "0"}}),
      testing::respond(500, error_body("INTERNAL_ERROR", "internal error", "c-500")),
      testing::reset_connection(),
      testing::respond(502, "<html>Bad gateway</html>"),
      testing::raw_reply("HTTP/1.1 200 OK\r\nContent-Length: 400\r\nConnection: close\r\n\r\n{\"results\":["),
  };
  std::size_t injected = 0;
  std::vector<Reply> clean = book();
  for (std::size_t i = 0; i < clean.size(); ++i) {
    if (i % 3 == 0) script.push_back(faults[injected++ % faults.size()]);
    script.push_back(clean[i]);
  }
  LoopbackServer server(script);
  fs::path dir = temp_dir("faults");
  auto started = std::chrono::steady_clock::now();
  source::FetchReport report = run_fetch(write_source(dir, server), dir / "out");
  ASSERT_EQ(report.exit_code, source::kFetchOk) << report.error;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  expect_files(dir / "out", kExpected);

  // Every faulty request was sent again, unchanged; nothing else was asked.
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), kTargets.size() + injected);
  std::size_t at = 0;
  for (std::size_t i = 0; i < kTargets.size(); ++i) {
    if (i % 3 == 0) {
      EXPECT_EQ(requests[at++].target, kTargets[i]) << i;
    }
    EXPECT_EQ(requests[at++].target, kTargets[i]) << i;
  }
  fs::remove_all(dir);
}

TEST(HubspotFetchTest, ModifiedSinceSearchesAndReadsAssociationsInBatches) {
  ::setenv("RAPPORT_HS_TOKEN", kToken, 1);
  LoopbackServer server({
      ok(R"({"total":2,"results":[)" + object("301", R"("firstname":"Carla","lastname":"Buyer","email":"carla@acme.example","notes_last_contacted":null,"jobtitle":"CTO","lastmodifieddate":"2026-01-03T00:00:00Z")") +
         R"(],"paging":{"next":{"after":"1"}}})"),
      testing::respond(503, error_body("INTERNAL_ERROR", "try again", "c-503")),
      ok(R"({"status":"COMPLETE","results":[{"from":{"id":"301"},"to":[{"id":"202","type":"contact_to_company_unlabeled"},{"id":"201","type":"contact_to_company"}]}],"startedAt":"2026-03-01T00:00:00Z","completedAt":"2026-03-01T00:00:01Z"})"),
      ok(R"({"total":2,"results":[)" + object("302", R"("firstname":"Dan","lastname":"New","email":"dan@globex.example")") + "]}"),
      testing::respond(207, R"({"status":"COMPLETE","results":[],"numErrors":1,"errors":[{"status":"error","category":"OBJECT_NOT_FOUND","message":"No contact is associated with company.","context":{"fromObjectId":["302"]}}]})"),
  });
  fs::path dir = temp_dir("since");
  write(dir / "mapping.yaml", kMapping);
  write(dir / "source.yaml", "kind: hubspot\nbase_url: " + server.url("/") +
                                 "\nauth: { token: env:RAPPORT_HS_TOKEN }\nmapping: mapping.yaml\nobjects: [contacts]\n"
                                 "modified_since: 2026-01-01\n");
  source::FetchReport report = run_fetch(dir / "source.yaml", dir / "out");
  ASSERT_EQ(report.exit_code, source::kFetchOk) << report.error << diag::render_text(report.sink.sorted());
  EXPECT_EQ(read(dir / "out" / "contacts.jsonl"),
            R"({"id":"301","name":"Carla Buyer","email":"carla@acme.example","account_id":"201","last_contacted_at":null,"role":"technical"})" "\n"
            R"({"id":"302","name":"Dan New","email":"dan@globex.example","account_id":null,"last_contacted_at":null,"role":null})" "\n");

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 5u);
  for (const auto& request : requests) {
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.header("Content-Type"), "application/json");
    EXPECT_EQ(request.header("Authorization"), std::string("Bearer ") + kToken);
  }
  EXPECT_EQ(requests[0].target, "/crm/v3/objects/contacts/search");
  EXPECT_EQ(boost::json::parse(requests[0].body),
            boost::json::parse(R"({"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GT","value":"1767225600000"}]}],)"
                               R"("sorts":[{"propertyName":"lastmodifieddate","direction":"ASCENDING"}],)"
                               R"("properties":["firstname","lastname","email","notes_last_contacted","jobtitle"],"limit":100})"));
  EXPECT_EQ(requests[1].target, "/crm/v3/associations/contacts/companies/batch/read");
  EXPECT_EQ(requests[2].body, requests[1].body);  // the 503 was retried: the batch read only reads
  EXPECT_EQ(boost::json::parse(requests[1].body), boost::json::parse(R"({"inputs":[{"id":"301"}]})"));
  EXPECT_EQ(boost::json::parse(requests[3].body).at("after"), "1");
  EXPECT_EQ(boost::json::parse(requests[4].body), boost::json::parse(R"({"inputs":[{"id":"302"}]})"));
  fs::remove_all(dir);
}

TEST(HubspotFetchTest, MoreChangesThanASearchReachesIsRefused) {
  ::setenv("RAPPORT_HS_TOKEN", kToken, 1);
  LoopbackServer server({ok(R"({"total":10001,"results":[],"paging":{"next":{"after":"100"}}})")});
  fs::path dir = temp_dir("toomany");
  write(dir / "source.yaml", "kind: hubspot\nbase_url: " + server.url("") +
                                 "\nauth: { token: env:RAPPORT_HS_TOKEN }\nobjects: [cases]\nmodified_since: 2026-01-01T00:00:00Z\n");
  source::FetchReport report = run_fetch(dir / "source.yaml", dir / "out");
  EXPECT_EQ(report.exit_code, source::kFetchSource);
  EXPECT_NE(report.error.find("10001 tickets changed since 2026-01-01T00:00:00Z, more than the 10000"), std::string::npos)
      << report.error;
  EXPECT_EQ(server.requests().size(), 1u);
  fs::remove_all(dir);
}

TEST(HubspotFetchTest, FetchAndCheckThroughTheBinary) {
  ::setenv("RAPPORT_HS_TOKEN", kToken, 1);
  LoopbackServer server(book());
  fs::path dir = temp_dir("binary");
  fs::path source_path = write_source(dir, server);
  std::string command = std::string(RAPPORT_BINARY) + " fetch --source " + source_path.string() + " --out " +
                        (dir / "out").string() + " --color never >" + (dir / "stdout.txt").string() + " 2>" +
                        (dir / "stderr.txt").string();
  int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << read(dir / "stderr.txt");
  expect_files(dir / "out", kExpected);

  // `rapport check --source`: the same book fetched into a scratch folder, then checked. Acme is
  // a strategic account with a deal in negotiation and one call.
  LoopbackServer again(book());
  write(dir / "check.rules", kCoverageRules);
  command = std::string(RAPPORT_BINARY) + " check " + (dir / "check.rules").string() + " --source " +
            write_source(dir, again).string() + " --fail-on medium --color never >" + (dir / "stdout.txt").string() +
            " 2>" + (dir / "stderr.txt").string();
  status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << read(dir / "stdout.txt") << read(dir / "stderr.txt");
  EXPECT_NE(read(dir / "stdout.txt").find("Acme: 1 deal(s) in negotiation, 1 activities"), std::string::npos)
      << read(dir / "stdout.txt");
  EXPECT_EQ(again.requests().size(), kTargets.size());

  // The same findings, byte for byte, as checking the fetched files.
  LoopbackServer third(book());
  auto from_source = check_json(dir / "check.rules", "--source " + write_source(dir, third).string(), dir);
  auto from_files = check_json(dir / "check.rules", "--data " + (dir / "out").string(), dir);
  EXPECT_EQ(from_source.first, 0) << from_source.second;
  EXPECT_EQ(from_source, from_files);
  fs::remove_all(dir);
}

TEST(HubspotDialectTest, SelectionUrlsAndSearchBody) {
  hubspot::Selection selection =
      hubspot::select({"id", "name", "associations.companies", "createdAt", "name", "associations.deals", "a b"});
  EXPECT_EQ(selection.properties, (std::vector<std::string>{"name", "a b"}));
  EXPECT_EQ(selection.associations, (std::vector<std::string>{"companies", "deals"}));
  EXPECT_EQ(hubspot::list_url("https://api.hubapi.com/", "companies", selection, "MTAw=="),
            "https://api.hubapi.com/crm/v3/objects/companies?limit=100&properties=name,a%20b&associations=companies,deals&after=MTAw%3D%3D");
  EXPECT_EQ(hubspot::list_url("https://api.hubapi.com", "tasks", {}), "https://api.hubapi.com/crm/v3/objects/tasks?limit=100");
  EXPECT_EQ(hubspot::owners_url("https://api.hubapi.com", true, "x"),
            "https://api.hubapi.com/crm/v3/owners?limit=100&archived=true&after=x");
  EXPECT_EQ(hubspot::last_modified_property("contacts"), "lastmodifieddate");
  EXPECT_EQ(hubspot::last_modified_property("deals"), "hs_lastmodifieddate");
  EXPECT_EQ(boost::json::parse(hubspot::search_body("deals", selection, "2026-03-01T09:30:00Z", "200")),
            boost::json::parse(R"({"filterGroups":[{"filters":[{"propertyName":"hs_lastmodifieddate","operator":"GT","value":"1772357400000"}]}],)"
                               R"("sorts":[{"propertyName":"hs_lastmodifieddate","direction":"ASCENDING"}],)"
                               R"("properties":["name","a b"],"limit":100,"after":"200"})"));
}

TEST(HubspotDialectTest, ThePrimaryAssociationWins) {
  auto choose = [](const char* text) { return hubspot::chosen_association(boost::json::parse(text)); };
  EXPECT_EQ(choose(R"({"results":[{"id":"2","type":"deal_to_company_unlabeled"},{"id":"1","type":"deal_to_company"}]})"), "1");
  EXPECT_EQ(choose(R"({"results":[{"id":"2","type":"call_to_company_unlabeled"},{"id":"3","type":"call_to_company_unlabeled"}]})"), "2");
  EXPECT_EQ(choose(R"({"results":[{"id":7,"type":"x_unlabeled"}]})"), "7");
  EXPECT_EQ(choose(R"({"results":[]})"), std::nullopt);
  EXPECT_EQ(choose(R"(null)"), std::nullopt);
}

TEST(HubspotMappingTest, DefaultsCoverTheHubspotEntitiesAndAMappingFileAddsJoinedFields) {
  mapping::Mapping m = mapping::hubspot_default();
  EXPECT_EQ(m.entity_names(),
            (std::vector<std::string>{"users", "accounts", "contacts", "opportunities", "activities", "cases"}));
  fs::path dir = temp_dir("mapping");
  write(dir / "mapping.yaml",
        "objects:\n"
        "  users:\n"
        "    fields:\n"
        "      name: { from: [lastName, firstName], join: \", \" }\n"
        "      team: { from: team_name, jion: x }\n");
  diag::DiagnosticSink sink;
  EXPECT_FALSE(mapping::apply_mapping_file((dir / "mapping.yaml").string(), m, sink));
  std::string text = diag::render_text(sink.sorted());
  EXPECT_NE(text.find("unknown key `jion`"), std::string::npos) << text;
  EXPECT_NE(text.find("did you mean `join`?"), std::string::npos) << text;
  const mapping::ObjectRule& owners = m.entity("users")->objects.front();
  boost::json::object record = boost::json::parse(R"({"id":"1","firstName":"Ada","lastName":"Boss","archived":false})").as_object();
  EXPECT_EQ(mapping::map_record(owners, record).at("name"), "Boss, Ada");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rapport
