// Secrets, token providers and the refresh-once-on-401 rule, against the loopback server.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "connectors/auth/authenticated_client.hpp"
#include "connectors/auth/oauth.hpp"
#include "connectors/auth/secret.hpp"
#include "connectors/auth/token_provider.hpp"
#include "fetch_test_support.hpp"
#include "loopback_server.hpp"

namespace rapport::auth {
namespace {

using namespace std::chrono_literals;
using testing::LoopbackServer;
using testing::respond;

/// The fetch tests' fast settings with one retry.
http::ClientOptions test_options() {
  http::ClientOptions options = fetch_test::fast_options();
  options.retry.max_retries = 1;
  return options;
}

std::string token_reply(std::string_view token, int expires_in = 3599) {
  return R"({"access_token":")" + std::string(token) + R"(","token_type":"Bearer","expires_in":)" +
         std::to_string(expires_in) + "}";
}

std::filesystem::path temp_file(std::string_view name, std::string_view content) {
  auto path = std::filesystem::temp_directory_path() / (std::string("rapport_auth_test_") + std::string(name));
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

http::Request get(std::string url) {
  http::Request request;
  request.url = std::move(url);
  return request;
}

Secret literal(std::string value) { return Secret::from_value(std::move(value), "test"); }

// --- secrets ---

TEST(SecretTest, FromEnvironmentNeverPrints) {
  ::setenv("RAPPORT_TEST_SECRET", "env-secret-value", 1);
  Secret secret = Secret::resolve("env:RAPPORT_TEST_SECRET");
  EXPECT_EQ(secret.reveal(), "env-secret-value");
  EXPECT_EQ(secret.origin(), "env:RAPPORT_TEST_SECRET");
  std::ostringstream printed;
  printed << secret;
  EXPECT_EQ(printed.str(), "***");
  EXPECT_EQ(to_string(secret), "***");
  EXPECT_EQ(::testing::PrintToString(secret), "***");
  ::unsetenv("RAPPORT_TEST_SECRET");
}

TEST(SecretTest, MissingOrEmptyVariableIsNamed) {
  ::unsetenv("RAPPORT_TEST_UNSET");
  try {
    (void)Secret::resolve("env:RAPPORT_TEST_UNSET");
    FAIL();
  } catch (const SecretError& error) {
    EXPECT_STREQ(error.what(), "environment variable RAPPORT_TEST_UNSET is not set");
  }
  ::setenv("RAPPORT_TEST_EMPTY", "", 1);
  EXPECT_THROW((void)Secret::resolve("env:RAPPORT_TEST_EMPTY"), SecretError);
  EXPECT_THROW((void)Secret::resolve("env:NOT A NAME"), SecretError);
  ::unsetenv("RAPPORT_TEST_EMPTY");
}

TEST(SecretTest, FromFileWithoutTrailingNewline) {
  auto path = temp_file("file_secret", "file-secret-value\n");
  Secret secret = Secret::resolve("file:" + path.string());
  EXPECT_EQ(secret.reveal(), "file-secret-value");
  EXPECT_EQ(secret.origin(), "file:" + path.string());
  std::filesystem::remove(path);
}

TEST(SecretTest, UnreadableFileIsNamed) {
  try {
    (void)Secret::resolve("file:/nonexistent/rapport/secret");
    FAIL();
  } catch (const SecretError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("cannot read secret file /nonexistent/rapport/secret", 0), 0u)
        << error.what();
  }
  auto empty = temp_file("empty_secret", "\n");
  EXPECT_THROW((void)Secret::resolve("file:" + empty.string()), SecretError);
  std::filesystem::remove(empty);
}

TEST(SecretTest, InlineSecretIsRefusedWithoutEchoingIt) {
  try {
    (void)Secret::resolve("pat-na1-0123456789abcdef");
    FAIL();
  } catch (const SecretError& error) {
    EXPECT_EQ(std::string(error.what()).find("0123456789abcdef"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("env:NAME or file:PATH"), std::string::npos);
  }
}

// --- token endpoints ---

TEST(OAuthUrls, VendorEndpointsAndScope) {
  EXPECT_EQ(salesforce_token_url("https://acme.my.salesforce.com/"),
            "https://acme.my.salesforce.com/services/oauth2/token");
  EXPECT_EQ(microsoft_token_url("contoso.onmicrosoft.com"),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
  EXPECT_EQ(dynamics_scope("https://contoso.crm4.dynamics.com/"), "https://contoso.crm4.dynamics.com/.default");
  EXPECT_EQ(dynamics_scope("contoso.crm.dynamics.com"), "https://contoso.crm.dynamics.com/.default");
}

TEST(OAuthClientCredentialsTest, PostsTheExactFormAndCachesTheToken) {
  LoopbackServer server({respond(200, token_reply("tok-1"), {{"Content-Type", "application/json"}})});
  http::Client client(test_options());
  OAuthClientCredentials provider(client, {server.url("/tenant-id/oauth2/v2.0/token"), "app-123",
                                           literal("s3cr/t+value"), dynamics_scope("https://org.crm.dynamics.com"),
                                           30min});
  EXPECT_EQ(provider.authorization(), "Bearer tok-1");
  EXPECT_EQ(provider.authorization(), "Bearer tok-1");  // cached
  EXPECT_EQ(provider.fetch_count(), 1);

  auto received = server.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].method, "POST");
  EXPECT_EQ(received[0].target, "/tenant-id/oauth2/v2.0/token");
  EXPECT_EQ(received[0].header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(received[0].header("Authorization"), "");
  EXPECT_EQ(received[0].body,
            "grant_type=client_credentials&client_id=app-123&client_secret=s3cr%2Ft%2Bvalue"
            "&scope=https%3A%2F%2Forg.crm.dynamics.com%2F.default");
}

TEST(OAuthClientCredentialsTest, SalesforceFormHasNoScopeAndKeepsInstanceUrl) {
  LoopbackServer server({respond(200, R"({"access_token":"00Dxx!AQ","instance_url":"https://acme.my.salesforce.com",)"
                                      R"("token_type":"Bearer","issued_at":"1700000000000"})")});
  http::Client client(test_options());
  OAuthClientCredentials provider(client, {server.url("/services/oauth2/token"), "3MVG9", literal("sf-secret"), "", 30min});
  AccessToken token = provider.token();
  EXPECT_EQ(token.value.reveal(), "00Dxx!AQ");
  EXPECT_EQ(token.instance_url, "https://acme.my.salesforce.com");
  ASSERT_TRUE(token.expires_at);  // assumed lifetime: Salesforce sends no expires_in
  EXPECT_EQ(server.requests().at(0).body, "grant_type=client_credentials&client_id=3MVG9&client_secret=sf-secret");
}

TEST(OAuthClientCredentialsTest, RenewsShortlyBeforeExpiry) {
  LoopbackServer server({respond(200, token_reply("tok-1", 120)), respond(200, token_reply("tok-2", 120))});
  http::Client client(test_options());
  OAuthClientCredentials provider(client, {server.url("/token"), "id", literal("secret-x"), "", 30min});
  Clock::time_point now = Clock::now();
  provider.set_clock([&] { return now; });
  EXPECT_EQ(provider.authorization(), "Bearer tok-1");
  now += 59s;  // expires in 61 s: still outside the 60 s margin
  EXPECT_EQ(provider.authorization(), "Bearer tok-1");
  now += 2s;
  EXPECT_EQ(provider.authorization(), "Bearer tok-2");
  EXPECT_EQ(provider.fetch_count(), 2);
}

TEST(OAuthRefreshTokenTest, PostsTheRefreshGrant) {
  LoopbackServer server({respond(200, token_reply("tok-r"))});
  http::Client client(test_options());
  OAuthRefreshToken provider(client, {server.url("/services/oauth2/token"), "3MVG9", literal("cs-1"),
                                      literal("5Aep861.refresh"), 30min});
  EXPECT_EQ(provider.authorization(), "Bearer tok-r");
  EXPECT_EQ(server.requests().at(0).body,
            "grant_type=refresh_token&refresh_token=5Aep861.refresh&client_id=3MVG9&client_secret=cs-1");
}

TEST(OAuthFailure, RefusedCredentialsReportedWithoutTheSecret) {
  const std::string secret = "Sup3r-S3cret-Value";
  // A careless endpoint that even echoes the secret back in its description.
  LoopbackServer server({}, respond(401, R"({"error":"invalid_client","error_description":"AADSTS7000215: )"
                                         R"(Invalid client secret provided: Sup3r-S3cret-Value"})"));
  http::Client client(test_options());
  OAuthClientCredentials provider(client, {server.url("/token?client_secret=" + secret), "app", literal(secret),
                                           "https://org/.default", 30min});
  try {
    (void)provider.token();
    FAIL() << "expected an AuthError";
  } catch (const AuthError& error) {
    std::string text = error.what();
    EXPECT_EQ(text.find(secret), std::string::npos) << text;
    EXPECT_EQ(error.vendor_message().find(secret), std::string::npos);
    EXPECT_EQ(error.redacted_url().find(secret), std::string::npos);
    EXPECT_EQ(error.status(), 401);
    EXPECT_EQ(error.vendor_code(), "invalid_client");
    EXPECT_NE(text.find("cannot obtain an access token from " + server.url("/token?client_secret=REDACTED")),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("invalid_client"), std::string::npos) << text;
  }
}

TEST(OAuthFailure, ExpiredRefreshTokenReportedWithoutIt) {
  const std::string refresh = "5Aep861TSESvWeug_refresh";
  LoopbackServer server({}, respond(400, R"({"error":"invalid_grant","error_description":"expired access/refresh token"})"));
  http::Client client(test_options());
  OAuthRefreshToken provider(client, {server.url("/services/oauth2/token"), "3MVG9", std::nullopt, literal(refresh), 30min});
  try {
    (void)provider.token();
    FAIL() << "expected an AuthError";
  } catch (const http::HttpError& error) {
    std::string text = error.what();
    EXPECT_EQ(text.find(refresh), std::string::npos) << text;
    EXPECT_NE(text.find("HTTP 400 invalid_grant: expired access/refresh token"), std::string::npos) << text;
  }
}

TEST(OAuthFailure, UnreachableEndpointReportedWithoutTheSecret) {
  const std::string secret = "another-secret-1234";
  std::string url = "http://127.0.0.1:" + std::to_string(testing::closed_port()) + "/token";
  http::Client client(test_options());
  OAuthClientCredentials provider(client, {url, "app", literal(secret), "", 30min});
  try {
    (void)provider.token();
    FAIL() << "expected an AuthError";
  } catch (const AuthError& error) {
    EXPECT_EQ(std::string(error.what()).find(secret), std::string::npos);
    EXPECT_EQ(error.failure(), http::TransportFailure::NotSent);
    EXPECT_EQ(error.attempts(), 2);
  }
}

TEST(OAuthFailure, ResponseWithoutAccessToken) {
  LoopbackServer server({respond(200, R"({"token_type":"Bearer"})")});
  http::Client client(test_options());
  OAuthClientCredentials provider(client, {server.url("/token"), "app", literal("secret-y"), "", 30min});
  try {
    (void)provider.token();
    FAIL();
  } catch (const AuthError& error) {
    EXPECT_NE(std::string(error.what()).find("has no access_token"), std::string::npos) << error.what();
  }
}

// --- refreshing on 401 ---

TEST(TokenRejection, RecognisesVendorSignals) {
  http::Response salesforce{401, {}, R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])", 1};
  EXPECT_TRUE(is_token_rejected(salesforce));
  http::Response hubspot{401, {}, R"({"status":"error","message":"expired","category":"EXPIRED_AUTHENTICATION"})", 1};
  EXPECT_TRUE(is_token_rejected(hubspot));
  http::Response dynamics{401, {{"WWW-Authenticate", R"(Bearer error="invalid_token", error_description="expired")"}}, "", 1};
  EXPECT_TRUE(is_token_rejected(dynamics));
  http::Response scope{401, {{"WWW-Authenticate", R"(Bearer error="insufficient_scope")"}}, "", 1};
  EXPECT_FALSE(is_token_rejected(scope));
  EXPECT_FALSE(is_token_rejected(http::Response{403, {}, "", 1}));
  EXPECT_FALSE(is_token_rejected(http::Response{200, {}, "", 1}));
}

TEST(AuthenticatedClientTest, RefreshesOnceOnExpiredSessionThenSucceeds) {
  LoopbackServer server({respond(200, token_reply("tok-1")),
                         respond(401, R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])"),
                         respond(200, token_reply("tok-2")), respond(200, R"({"totalSize":0})")});
  http::Client client(test_options());
  OAuthClientCredentials provider(client, {server.url("/services/oauth2/token"), "id", literal("secret-z"), "", 30min});
  AuthenticatedClient authenticated(client, provider);
  http::Response response = authenticated.perform(get(server.url("/services/data/v60.0/query")));

  EXPECT_EQ(response.body, R"({"totalSize":0})");
  EXPECT_EQ(response.attempts, 2);
  auto received = server.requests();
  ASSERT_EQ(received.size(), 4u);
  EXPECT_EQ(received[1].header("Authorization"), "Bearer tok-1");
  EXPECT_EQ(received[3].header("Authorization"), "Bearer tok-2");
  EXPECT_EQ(provider.fetch_count(), 2);
}

TEST(AuthenticatedClientTest, DynamicsInvalidTokenChallengeTriggersRefresh) {
  LoopbackServer server({respond(200, token_reply("tok-1")),
                         respond(401, "", {{"WWW-Authenticate", R"(Bearer error="invalid_token", error_description="The access token expired")"}}),
                         respond(200, token_reply("tok-2")), respond(200, R"({"value":[]})")});
  http::Client client(test_options());
  OAuthClientCredentials provider(client, {server.url("/token"), "id", literal("secret-d"), "https://org/.default", 30min});
  AuthenticatedClient authenticated(client, provider);
  EXPECT_EQ(authenticated.perform(get(server.url("/api/data/v9.2/accounts"))).status, 200);
  EXPECT_EQ(server.requests().at(3).header("Authorization"), "Bearer tok-2");
}

TEST(AuthenticatedClientTest, RefreshesOnlyOnce) {
  std::string expired = R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])";
  LoopbackServer server({respond(200, token_reply("tok-1")), respond(401, expired), respond(200, token_reply("tok-2")),
                         respond(401, expired)});
  http::Client client(test_options());
  OAuthClientCredentials provider(client, {server.url("/token"), "id", literal("secret-o"), "", 30min});
  AuthenticatedClient authenticated(client, provider);
  try {
    authenticated.perform(get(server.url("/services/data/v60.0/limits")));
    FAIL() << "expected an HttpError";
  } catch (const http::HttpError& error) {
    EXPECT_EQ(error.status(), 401);
    EXPECT_EQ(error.vendor_code(), "INVALID_SESSION_ID");
    EXPECT_EQ(std::string(error.what()).find("tok-"), std::string::npos);
  }
  EXPECT_EQ(server.requests().size(), 4u);
}

TEST(AuthenticatedClientTest, HubSpotPrivateAppTokenIsReReadOn401) {
  auto path = temp_file("hubspot_token", "pat-na1-old\n");
  StaticBearer provider("file:" + path.string());
  LoopbackServer server({respond(401, R"({"status":"error","message":"Authentication credentials not found.",)"
                                      R"("category":"INVALID_AUTHENTICATION","correlationId":"abc"})"),
                         respond(200, R"({"results":[]})")});
  std::ofstream(path, std::ios::binary) << "pat-na1-new\n";  // rotated after the provider read it
  http::Client client(test_options());
  AuthenticatedClient authenticated(client, provider);
  EXPECT_EQ(authenticated.perform(get(server.url("/crm/v3/objects/contacts"))).status, 200);
  auto received = server.requests();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].header("Authorization"), "Bearer pat-na1-old");
  EXPECT_EQ(received[1].header("Authorization"), "Bearer pat-na1-new");
  std::filesystem::remove(path);
}

TEST(AuthenticatedClientTest, StaticBearerNeedsItsSecretUpFront) {
  ::unsetenv("RAPPORT_TEST_HUBSPOT_TOKEN");
  EXPECT_THROW(StaticBearer("env:RAPPORT_TEST_HUBSPOT_TOKEN"), SecretError);
}

}  // namespace
}  // namespace rapport::auth
