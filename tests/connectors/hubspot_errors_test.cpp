// HubSpot failures: the vendor's message on 400 and 401, retries of 429 (Retry-After), 5xx,
// truncated bodies and reset connections, a record returned twice, source file mistakes; and
// never the access token in any error text.

#include <gtest/gtest.h>

#include "connectors/source/fetch.hpp"
#include "connectors/source/source_config.hpp"
#include "diag/render.hpp"
#include "hubspot_test_support.hpp"

namespace rapport {
namespace {

using namespace fetch_test;
using namespace hubspot_test;
using namespace std::chrono_literals;
using testing::LoopbackServer;
using testing::Reply;
using testing::respond;

constexpr const char* kToken = "pat-eu1-aaaabbbb-cccc-dddd-eeee-ffff00001111";

const char* kCompanies = "/crm/v3/objects/companies?limit=100&properties=name,hubspot_owner_id,industry,annualrevenue,country,createdate";

std::string company(const std::string& id) {
  return object(id, R"("name":"Acme )" + id + R"(","createdate":"2025-01-15T09:00:00.000Z")");
}

struct FetchRun {
  source::FetchReport report;
  std::vector<testing::ReceivedRequest> requests;
  std::string accounts;  // accounts.jsonl, "" when not written
  bool out_empty = true;
};

/// Fetches `accounts` from a loopback HubSpot answering `script`.
FetchRun fetch_accounts(const std::string& name, std::vector<Reply> script, const std::string& token_reference = "env:RAPPORT_HS_ERR_TOKEN") {
  ::setenv("RAPPORT_HS_ERR_TOKEN", kToken, 1);
  LoopbackServer server(std::move(script));
  fs::path dir = temp_dir(name);
  write(dir / "source.yaml", "kind: hubspot\nbase_url: " + server.url("") + "\nauth:\n  token: " + token_reference +
                                 "\nobjects: [accounts]\n");
  source::FetchOptions options;
  options.source_path = (dir / "source.yaml").string();
  options.out_dir = (dir / "out").string();
  options.client = fast_options();
  FetchRun run{source::fetch(options), server.requests(), "", true};
  if (fs::exists(dir / "out" / "accounts.jsonl")) run.accounts = read(dir / "out" / "accounts.jsonl");
  run.out_empty = !fs::exists(dir / "out") || fs::is_empty(dir / "out");
  EXPECT_EQ(run.report.error.find(kToken), std::string::npos) << run.report.error;  // never the token
  EXPECT_EQ(diag::render_text(run.report.sink.sorted()).find(kToken), std::string::npos);
  fs::remove_all(dir);
  return run;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(HubspotErrorTest, BadRequestNamesHubspotsMessageAndNothingIsWritten) {
  FetchRun run = fetch_accounts("400", {respond(400, error_body("VALIDATION_ERROR", "Property \\\"tier\\\" does not exist", "0a1b2c3d"))});
  EXPECT_EQ(run.report.exit_code, source::kFetchSource);
  EXPECT_TRUE(contains(run.report.error, std::string("GET http://127.0.0.1:")));
  EXPECT_TRUE(contains(run.report.error, "HTTP 400 VALIDATION_ERROR: Property \"tier\" does not exist (correlationId 0a1b2c3d) (after 1 attempt)"))
      << run.report.error;
  EXPECT_EQ(run.requests.size(), 1u);  // a 400 is final
  EXPECT_TRUE(run.out_empty);
}

TEST(HubspotErrorTest, RefusedTokenIsReadAgainOnceThenReported) {
  const std::string refused = error_body(
      "INVALID_AUTHENTICATION", "Authentication credentials not found. This API supports OAuth 2.0 authentication", "9f8e");
  FetchRun run = fetch_accounts("401", {respond(401, refused), respond(401, refused)});
  EXPECT_EQ(run.report.exit_code, source::kFetchSource);
  EXPECT_TRUE(contains(run.report.error, "HTTP 401 INVALID_AUTHENTICATION: Authentication credentials not found."))
      << run.report.error;
  EXPECT_TRUE(contains(run.report.error, "(correlationId 9f8e)")) << run.report.error;
  ASSERT_EQ(run.requests.size(), 2u);
  EXPECT_EQ(run.requests[1].header("Authorization"), std::string("Bearer ") + kToken);
}

TEST(HubspotErrorTest, TooManyRequestsWaitsForRetryAfter) {
  auto started = std::chrono::steady_clock::now();
  FetchRun run = fetch_accounts(
      "429", {respond(429, error_body("RATE_LIMITS", "You have reached your ten_secondly_rolling limit.", "r1"),
                      {{"Retry-After", "1"}}),
              ok(page({company("201")}))});
  auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(run.report.exit_code, source::kFetchOk) << run.report.error;
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 3s);
  ASSERT_EQ(run.requests.size(), 2u);
  EXPECT_EQ(run.requests[0].target, kCompanies);
  EXPECT_EQ(run.requests[1].target, kCompanies);
  EXPECT_TRUE(contains(run.accounts, R"("id":"201")"));
}

TEST(HubspotErrorTest, ServerErrorsAreRetriedThenReported) {
  FetchRun retried = fetch_accounts("5xx", {respond(502, "<html>bad gateway</html>"),
                                       respond(503, error_body("INTERNAL_ERROR", "Service unavailable", "s1")),
                                       ok(page({company("201")}))});
  EXPECT_EQ(retried.report.exit_code, source::kFetchOk) << retried.report.error;
  EXPECT_EQ(retried.requests.size(), 3u);

  FetchRun final_500 = fetch_accounts("500", {respond(500, error_body("INTERNAL_ERROR", "Oops", "e5")),
                                         respond(500, error_body("INTERNAL_ERROR", "Oops", "e5")),
                                         respond(500, error_body("INTERNAL_ERROR", "Oops", "e5"))});
  EXPECT_EQ(final_500.report.exit_code, source::kFetchSource);
  EXPECT_TRUE(contains(final_500.report.error, "HTTP 500 INTERNAL_ERROR: Oops (correlationId e5) (after 3 attempts)"))
      << final_500.report.error;
}

TEST(HubspotErrorTest, TruncatedBodyAndResetConnectionAreRetried) {
  const Reply truncated =
      testing::raw_reply("HTTP/1.1 200 OK\r\nContent-Length: 300\r\nConnection: close\r\n\r\n{\"results\":[{\"id\":\"201\"");
  FetchRun recovered = fetch_accounts("trunc", {truncated, testing::reset_connection(), ok(page({company("201")}))});
  EXPECT_EQ(recovered.report.exit_code, source::kFetchOk) << recovered.report.error;
  EXPECT_EQ(recovered.requests.size(), 3u);
  EXPECT_TRUE(contains(recovered.accounts, R"("name":"Acme 201")"));

  FetchRun lost = fetch_accounts("trunc_final", {truncated, truncated, truncated});
  EXPECT_EQ(lost.report.exit_code, source::kFetchSource);
  EXPECT_TRUE(contains(lost.report.error, "connection lost")) << lost.report.error;
  EXPECT_TRUE(contains(lost.report.error, "(after 3 attempts)")) << lost.report.error;
  EXPECT_TRUE(lost.out_empty);

  FetchRun reset = fetch_accounts("reset_final", {testing::reset_connection(), testing::reset_connection(),
                                             testing::reset_connection()});
  EXPECT_EQ(reset.report.exit_code, source::kFetchSource);
  EXPECT_TRUE(contains(reset.report.error, "(after 3 attempts)")) << reset.report.error;
}

TEST(HubspotErrorTest, ARecordReturnedTwiceIsAnError) {
  FetchRun run = fetch_accounts("twice", {ok(page({company("201"), company("202")}, "202")), ok(page({company("202")}))});
  EXPECT_EQ(run.report.exit_code, source::kFetchSource);
  EXPECT_EQ(run.report.error, "companies 202: the source returned this record twice");
  EXPECT_TRUE(run.out_empty);
}

TEST(HubspotErrorTest, MalformedPagesAreReported) {
  FetchRun no_results = fetch_accounts("noresults", {ok(R"({"status":"ok"})")});
  EXPECT_EQ(no_results.report.exit_code, source::kFetchSource);
  EXPECT_TRUE(contains(no_results.report.error, ": the response has no `results` array")) << no_results.report.error;

  FetchRun loop = fetch_accounts("loop", {ok(page({company("201")}, "X")), ok(page({company("202")}, "X"))});
  EXPECT_EQ(loop.report.exit_code, source::kFetchSource);
  EXPECT_TRUE(contains(loop.report.error, "the cursor `X` was returned twice")) << loop.report.error;
}

TEST(HubspotErrorTest, MissingTokenIsAConfigurationError) {
  ::unsetenv("RAPPORT_HS_NOT_SET");
  FetchRun run = fetch_accounts("notoken", {}, "env:RAPPORT_HS_NOT_SET");
  EXPECT_EQ(run.report.exit_code, source::kFetchConfig);
  EXPECT_EQ(run.report.error, "environment variable RAPPORT_HS_NOT_SET is not set");
  EXPECT_TRUE(run.requests.empty());
}

TEST(HubspotSourceFileTest, InlineTokenAndMisplacedKeysAreRefusedWithPositions) {
  fs::path dir = temp_dir("source");
  write(dir / "source.yaml",
        "kind: hubspot\n"
        "instance: https://api.hubapi.com\n"
        "auth:\n"
        "  token: pat-na1-inline-secret-0000\n"
        "  client_id: env:X\n"
        "objects: [accounts, deals]\n");
  diag::DiagnosticSink sink;
  EXPECT_FALSE(source::load_source((dir / "source.yaml").string(), sink));
  std::string text = diag::render_text(sink.sorted());
  EXPECT_EQ(text.find("pat-na1-inline-secret"), std::string::npos) << text;
  const std::string path = (dir / "source.yaml").string();
  EXPECT_TRUE(contains(text, path + ":2:11: error[")) << text;
  EXPECT_TRUE(contains(text, "`instance` does not apply to `kind: hubspot`")) << text;
  EXPECT_TRUE(contains(text, path + ":4:10: error[PAR5003]: auth.token must be a reference to a secret, not the secret itself"))
      << text;
  EXPECT_TRUE(contains(text, path + ":5:3: error[")) << text;
  EXPECT_TRUE(contains(text, "unknown key `client_id` in `auth`")) << text;
  EXPECT_TRUE(contains(text, path + ":6:21: error[DSL2001]: `deals` is not an entity a hubspot source can fetch")) << text;

  write(dir / "source.yaml", "kind: hubspot\nauth: { token: file:/run/secrets/hubspot }\nobjects: [users]\n");
  diag::DiagnosticSink defaults;
  auto config = source::load_source((dir / "source.yaml").string(), defaults);
  ASSERT_TRUE(config) << diag::render_text(defaults.sorted());
  EXPECT_EQ(config->kind, source::Kind::Hubspot);
  EXPECT_EQ(config->instance, "https://api.hubapi.com");
  EXPECT_EQ(config->auth->token, "file:/run/secrets/hubspot");

  write(dir / "source.yaml", "kind: hubspt\nobjects: [users]\n");
  diag::DiagnosticSink typo;
  EXPECT_FALSE(source::load_source((dir / "source.yaml").string(), typo));
  EXPECT_TRUE(contains(diag::render_text(typo.sorted()), "did you mean `hubspot`?")) << diag::render_text(typo.sorted());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rapport
