// The Dynamics 365 dialect against a loopback Dataverse: the exact requests (entity set, $select,
// $filter, Prefer and OData headers, bearer token, the token request's form), paging by
// @odata.nextLink, typed lookups, and every failure a fetch meets: vendor errors, an expired
// token, service protection 429s, 5xx, truncated bodies, resets, a nextLink to another host.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "connectors/auth/authenticated_client.hpp"
#include "connectors/auth/oauth.hpp"
#include "connectors/dynamics/query.hpp"
#include "connectors/http/error.hpp"
#include "connectors/http/form.hpp"
#include "fetch_test_support.hpp"
#include "loopback_server.hpp"

namespace rapport {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using fetch_test::fast_options;
using testing::LoopbackServer;
using testing::raw_reply;
using testing::reset_connection;
using testing::respond;

constexpr const char* kSecret = "dyn-s3cret/+value";
constexpr const char* kEncodedSecret = "dyn-s3cret%2F%2Bvalue";

std::string token(const std::string& value) {
  return R"({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":")" + value + "\"}";
}

std::string page(const LoopbackServer& server, const std::string& set, const std::vector<std::string>& rows,
                 const std::string& next = "") {
  std::string body = R"({"@odata.context":")" + server.url("/api/data/v9.2/$metadata#") + set + R"(","value":[)";
  for (std::size_t i = 0; i < rows.size(); ++i) body += (i ? "," : "") + rows[i];
  body += "]";
  if (!next.empty()) body += R"(,"@odata.nextLink":")" + next + "\"";
  return body + "}";
}

const char* kNotFound =
    R"({"error":{"code":"0x80060888","message":"Could not find a property named 'new_tier' on type 'Microsoft.Dynamics.CRM.account'."}})";
const char* kThrottled =
    R"({"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}})";

/// One org on the loopback server: a token provider and an authenticated session.
struct Org {
  explicit Org(LoopbackServer& server)
      : client(fast_options()),
        tokens(client, {server.url("/contoso.onmicrosoft.com/oauth2/v2.0/token"), "app-id-1",
                        auth::Secret::from_value(kSecret, "test"), auth::dynamics_scope(server.url("")), 30min}),
        session(client, tokens),
        url(server.url("")) {}

  /// Runs the accounts query of `fields`; returns the rows.
  std::vector<json::object> accounts(const std::vector<std::string>& fields, int page_size = 2) {
    dynamics::Selection selection = dynamics::select_fields(fields);
    std::vector<json::object> rows;
    dynamics::run_query(session, url, dynamics::query_url(url, "v9.2", "accounts", selection), selection, page_size,
                        [&](json::object&& row) { rows.push_back(std::move(row)); });
    return rows;
  }

  http::Client client;
  auth::OAuthClientCredentials tokens;
  auth::AuthenticatedClient session;
  std::string url;
};

std::vector<std::string> headers_named(const testing::ReceivedRequest& request, const std::string& name) {
  std::vector<std::string> values;
  for (const auto& [key, value] : request.headers) {
    if (http::header_name_equals(key, name)) values.push_back(value);
  }
  return values;
}

TEST(DynamicsQueryTest, FieldNamesBecomeSelectAnnotationsAndTypedLookups) {
  dynamics::Selection s = dynamics::select_fields(
      {"accountid", "name", "_ownerid_value:systemuser", "industrycode@OData.Community.Display.V1.FormattedValue",
       "_ownerid_value:team", "name"});
  EXPECT_EQ(s.columns, (std::vector<std::string>{"accountid", "name", "_ownerid_value", "industrycode"}));
  EXPECT_EQ(s.annotations, (std::vector<std::string>{"Microsoft.Dynamics.CRM.lookuplogicalname",
                                                     "OData.Community.Display.V1.FormattedValue"}));
  ASSERT_EQ(s.lookups.size(), 2u);
  EXPECT_EQ(s.lookups[1].field, "_ownerid_value:team");
  EXPECT_EQ(s.lookups[1].column, "_ownerid_value");
  EXPECT_EQ(s.lookups[1].table, "team");

  EXPECT_EQ(dynamics::query_url("https://contoso.crm4.dynamics.com/", "v9.2", "contacts",
                                dynamics::select_fields({"contactid", "fullname", "_parentcustomerid_value"}),
                                std::string_view("2026-01-01T00:00:00Z")),
            "https://contoso.crm4.dynamics.com/api/data/v9.2/contacts?$select=contactid,fullname,_parentcustomerid_value"
            "&$filter=modifiedon%20ge%202026-01-01T00%3A00%3A00Z");
}

const std::string kLookup = R"("_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname")";

std::string account(const std::string& id, const std::string& name, const std::string& owner, const std::string& table) {
  return R"({"@odata.etag":"W/\"1\"","accountid":")" + id + R"(","name":")" + name + R"(","_ownerid_value":")" + owner +
         "\"," + kLookup + ":\"" + table + "\"}";
}

const std::vector<std::string> kFields = {"accountid", "name", "_ownerid_value:systemuser"};
const std::string kFirstTarget = "/api/data/v9.2/accounts?$select=accountid,name,_ownerid_value";

TEST(DynamicsQueryTest, SendsTheDocumentedRequestsAndFollowsEveryNextLinkAsGiven) {
  LoopbackServer server(std::vector<testing::Reply>{});
  // A real skiptoken: a paging cookie, percent-encoded twice; it must travel unchanged.
  const std::string next2 =
      kFirstTarget +
      "&$skiptoken=%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e"
      "%253caccountid%2520last%253d%2522%257bA2%257d%2522%2520first%253d%2522%257bA1%257d%2522%2520%252f%253e"
      "%253c%252fcookie%253e%22%20istracking=%22False%22%20/%3E";
  const std::string next3 = kFirstTarget + "&$skiptoken=%3Ccookie%20pagenumber=%223%22%20/%3E";
  server.extend_script({respond(200, token("token-one"), {{"Content-Type", "application/json"}}),
                        respond(200, page(server, "accounts", {account("a1", "Acme", "u1", "systemuser"),
                                                               account("a2", "Globex", "t1", "team")},
                                          server.url(next2))),
                        respond(200, page(server, "accounts", {account("a3", "Initech", "u2", "systemuser")},
                                          server.url(next3))),
                        respond(200, page(server, "accounts", {R"({"accountid":"a4","name":"Umbrella","_ownerid_value":null})"}))});
  Org org(server);
  std::vector<json::object> rows = org.accounts(kFields);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].at("_ownerid_value:systemuser").as_string(), "u1");
  EXPECT_TRUE(rows[1].at("_ownerid_value:systemuser").is_null());  // owned by a team
  EXPECT_EQ(rows[2].at("_ownerid_value:systemuser").as_string(), "u2");
  EXPECT_TRUE(rows[3].at("_ownerid_value:systemuser").is_null());

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/contoso.onmicrosoft.com/oauth2/v2.0/token");
  EXPECT_EQ(requests[0].header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(requests[0].body, "grant_type=client_credentials&client_id=app-id-1&client_secret=" + std::string(kEncodedSecret) +
                                  "&scope=" + http::percent_encode(server.url("/.default")));
  const std::vector<std::string> targets = {kFirstTarget, next2, next3};
  for (std::size_t i = 1; i < requests.size(); ++i) {
    const auto& r = requests[i];
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.target, targets[i - 1]);
    EXPECT_EQ(r.header("Authorization"), "Bearer token-one");
    EXPECT_EQ(r.header("Accept"), "application/json");
    EXPECT_EQ(r.header("OData-MaxVersion"), "4.0");
    EXPECT_EQ(r.header("OData-Version"), "4.0");
    EXPECT_EQ(headers_named(r, "Prefer"),
              (std::vector<std::string>{"odata.maxpagesize=2",
                                        R"(odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname")"}));
  }
}

TEST(DynamicsQueryTest, PlainColumnsAskForNoAnnotations) {
  LoopbackServer server(std::vector<testing::Reply>{});
  server.extend_script({respond(200, token("token-one")),
                        respond(200, page(server, "accounts", {R"({"accountid":"a1","name":"Acme"})"}))});
  Org org(server);
  EXPECT_EQ(org.accounts({"accountid", "name"}, 5000).size(), 1u);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].target, "/api/data/v9.2/accounts?$select=accountid,name");
  EXPECT_EQ(headers_named(requests[1], "Prefer"), (std::vector<std::string>{"odata.maxpagesize=5000"}));
}

/// Runs the accounts query and returns the error it ends in ("" if none).
template <typename Error = http::HttpError>
std::string failure(Org& org, const std::vector<std::string>& fields = kFields) {
  try {
    org.accounts(fields);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DynamicsQueryTest, VendorMessageOfA400ReachesTheError) {
  LoopbackServer server({respond(200, token("token-one")), respond(400, kNotFound, {{"Content-Type", "application/json"}})});
  Org org(server);
  std::string error = failure(org);
  EXPECT_EQ(error, "GET " + server.url(kFirstTarget) +
                       ": HTTP 400 0x80060888: Could not find a property named 'new_tier' on type "
                       "'Microsoft.Dynamics.CRM.account'. (after 1 attempt)");
  EXPECT_EQ(server.requests().size(), 2u);  // a 400 is final
}

TEST(DynamicsQueryTest, ExpiredTokenIsRefreshedOnceAndTheRequestRetried) {
  LoopbackServer server(std::vector<testing::Reply>{});
  server.extend_script(
      {respond(200, token("token-one")),
       respond(200, page(server, "accounts", {account("a1", "Acme", "u1", "systemuser")}, server.url(kFirstTarget + "&$skiptoken=2"))),
       respond(401, "", {{"WWW-Authenticate", R"(Bearer error="invalid_token", error_description="The access token expired")"}}),
       respond(200, token("token-two")),
       respond(200, page(server, "accounts", {account("a2", "Globex", "u1", "systemuser")}))});
  Org org(server);
  EXPECT_EQ(org.accounts(kFields).size(), 2u);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[2].header("Authorization"), "Bearer token-one");
  EXPECT_EQ(requests[3].method, "POST");
  EXPECT_EQ(requests[4].target, requests[2].target);
  EXPECT_EQ(requests[4].header("Authorization"), "Bearer token-two");
}

TEST(DynamicsQueryTest, A401AfterANewTokenIsFinalWithTheVendorMessage) {
  const char* denied =
      R"({"error":{"code":"0x80072560","message":"The user is not a member of the organization."}})";
  LoopbackServer server({respond(200, token("token-one")), respond(401, denied), respond(200, token("token-two")),
                         respond(401, denied)});
  Org org(server);
  std::string error = failure(org);
  EXPECT_NE(error.find("HTTP 401 0x80072560: The user is not a member of the organization."), std::string::npos) << error;
  EXPECT_EQ(server.requests().size(), 4u);
  EXPECT_EQ(error.find(kSecret), std::string::npos);
  EXPECT_EQ(error.find("token-two"), std::string::npos);
}

TEST(DynamicsQueryTest, TokenEndpointRefusalNamesMicrosoftsErrorButNoSecret) {
  // The endpoint echoes the secret back: it must be scrubbed from the error.
  std::string body = std::string(R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Got ')") +
                     kSecret + R"('.","error_codes":[7000215]})";
  LoopbackServer server({respond(401, body)});
  Org org(server);
  std::string error = failure<auth::AuthError>(org);
  EXPECT_NE(error.find("cannot obtain an access token from " + server.url("/contoso.onmicrosoft.com/oauth2/v2.0/token")),
            std::string::npos) << error;
  EXPECT_NE(error.find("invalid_client: AADSTS7000215: Invalid client secret provided."), std::string::npos) << error;
  EXPECT_EQ(error.find(kSecret), std::string::npos) << error;
  EXPECT_EQ(error.find(kEncodedSecret), std::string::npos) << error;
}

TEST(DynamicsQueryTest, ServiceProtection429WaitsForRetryAfter) {
  LoopbackServer server({respond(200, token("token-one")), respond(429, kThrottled, {{"Retry-After", "1"}}),
                         respond(200, R"({"value":[{"accountid":"a1","name":"Acme"}]})")});
  Org org(server);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(org.accounts({"accountid", "name"}).size(), 1u);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 950ms);
  EXPECT_LT(waited, 3s);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(DynamicsQueryTest, Persistent429EndsWithTheServiceProtectionMessage) {
  LoopbackServer server({respond(200, token("token-one"))}, respond(429, kThrottled, {{"Retry-After", "0"}}));
  Org org(server);
  std::string error = failure(org);
  EXPECT_NE(error.find("HTTP 429 0x80072322: Number of requests exceeded the limit of 6000 over time window of 300 seconds. "
                       "(after 3 attempts)"),
            std::string::npos) << error;
}

TEST(DynamicsQueryTest, ServerErrorsTruncatedBodiesAndResetsAreRetried) {
  std::string full = R"({"value":[{"accountid":"a1","name":"Acme"}]})";
  LoopbackServer server({respond(200, token("token-one")),
                         respond(503, R"({"error":{"code":"0x80040216","message":"An unexpected error occurred."}})"),
                         raw_reply("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(full.size()) +
                                   "\r\nConnection: close\r\n\r\n" + full.substr(0, 10)),
                         respond(200, full), reset_connection(), respond(500, "oops"), respond(200, full)});
  Org org(server);
  EXPECT_EQ(org.accounts({"accountid", "name"}).size(), 1u);  // 503, truncated body, 200
  EXPECT_EQ(org.accounts({"accountid", "name"}).size(), 1u);  // reset, 500, 200
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 7u);
  for (std::size_t i = 2; i < requests.size(); ++i) EXPECT_EQ(requests[i].target, requests[1].target);
}

TEST(DynamicsQueryTest, PersistentResetsEndAsALostConnection) {
  LoopbackServer server({respond(200, token("token-one"))}, reset_connection());
  Org org(server);
  std::string error = failure(org);
  EXPECT_NE(error.find("GET " + server.url(kFirstTarget) + ": connection lost"), std::string::npos) << error;
  EXPECT_NE(error.find("(after 3 attempts)"), std::string::npos) << error;
}

TEST(DynamicsQueryTest, FinalServerErrorCarriesTheVendorMessage) {
  LoopbackServer server({respond(200, token("token-one"))},
                        respond(503, R"({"error":{"code":"0x80040216","message":"An unexpected error occurred."}})"));
  Org org(server);
  std::string error = failure(org);
  EXPECT_NE(error.find("HTTP 503 0x80040216: An unexpected error occurred. (after 3 attempts)"), std::string::npos) << error;
}

TEST(DynamicsQueryTest, NextLinkToAnotherHostIsRefusedAndNotFollowed) {
  LoopbackServer server(std::vector<testing::Reply>{});
  server.extend_script(
      {respond(200, token("token-one")),
       respond(200, page(server, "accounts", {R"({"accountid":"a1","name":"Acme"})"},
                         "https://elsewhere.example/api/data/v9.2/accounts?$skiptoken=2&access_token=leak"))});
  Org org(server);
  std::string error = failure<dynamics::QueryFormatError>(org, {"accountid", "name"});
  EXPECT_NE(error.find("`@odata.nextLink` leads outside the organization"), std::string::npos) << error;
  EXPECT_EQ(error.find("leak"), std::string::npos) << error;  // redacted
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(DynamicsQueryTest, MalformedPagesAreErrors) {
  LoopbackServer server({respond(200, token("token-one")), respond(200, "<html>maintenance</html>"),
                         respond(200, R"({"value":{}})"),
                         respond(200, R"({"value":[{"accountid":"a1","_ownerid_value":"u1"}]})")});
  Org org(server);
  EXPECT_NE(failure<dynamics::QueryFormatError>(org).find("the response is not a JSON collection"), std::string::npos);
  EXPECT_NE(failure<dynamics::QueryFormatError>(org).find("the response has no `value` array"), std::string::npos);
  EXPECT_NE(failure<dynamics::QueryFormatError>(org).find(
                "the lookup `_ownerid_value` came without its Microsoft.Dynamics.CRM.lookuplogicalname annotation"),
            std::string::npos);
}

}  // namespace
}  // namespace rapport
