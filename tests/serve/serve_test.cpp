// `rapport serve` on loopback: every endpoint valid and invalid, authentication of callers and of
// each vendor's webhooks (HubSpot v3 signatures valid, wrong, stale and replayed; the Dataverse
// key; the Salesforce bearer), limits (body size, slow clients, the concurrency bound), hot
// reload with a broken pack, SIGHUP on the binary, and the OpenAPI document against the routes.
// Servers listen on 127.0.0.1 port 0 and stop with each test; every request has a timeout.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <set>
#include <sstream>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli/commands.hpp"
#include "connectors/http/client.hpp"
#include "diag/codes.hpp"
#include "serve/config.hpp"
#include "serve/http_server.hpp"
#include "serve/service.hpp"
#include "serve/webhook_auth.hpp"
#include "serve_test_support.hpp"
#include "support/rapport_process.hpp"

namespace rapport::serve {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using rapport::testing::TempDir;
using namespace rapport::serve::test;

/// Sends raw bytes and returns whatever comes back before the server closes (or 5 s pass).
std::string raw_exchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds pause_after = {}) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "";
  }
  ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::this_thread::sleep_for(pause_after);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) out.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

const std::string kReassign =
    R"({"changes": [{"op": "upsert", "entity": "accounts", "id": "a4", "fields": {"owner_id": "u1"}}]})";

// ---- configuration ------------------------------------------------------------------------------

TEST(ServeConfig, MistakesAreReportedAtTheirPlaceWithAHint) {
  TempDir dir;
  write(dir.path() / "serve.yaml", "version: 1\ndata: data\npacks: [p]\nlimits:\n  max_in_flght: 3\nlog_format: jsn\n"
                                   "auth:\n  api_keys: [sk-live-123]\n");
  diag::DiagnosticSink sink;
  EXPECT_FALSE(load_config((dir.path() / "serve.yaml").string(), sink));
  std::string all;
  for (const auto& d : sink.sorted()) all += d.message + " | " + (d.helps.empty() ? "" : d.helps.front()) + "\n";
  EXPECT_NE(all.find("max_in_flght"), std::string::npos) << all;
  EXPECT_NE(all.find("did you mean `max_in_flight`"), std::string::npos) << all;
  EXPECT_NE(all.find("`log_format` must be one of text, json, got `jsn`"), std::string::npos) << all;
  EXPECT_NE(all.find("did you mean `json`?"), std::string::npos) << all;
  // The inline key is refused without being echoed.
  EXPECT_EQ(all.find("sk-live-123"), std::string::npos) << all;
  EXPECT_NE(all.find("auth.api_keys"), std::string::npos) << all;
  ASSERT_FALSE(sink.sorted().empty());
  EXPECT_EQ(sink.sorted().front().file->path(), (dir.path() / "serve.yaml").string());
  // Wrong values carry serve.yaml's code (unknown keys keep the YAML layer's PAR5007).
  for (const auto& d : sink.sorted()) {
    if (d.message.find("log_format") != std::string::npos) {
      EXPECT_EQ(diag::code_id(d.code), "SRV9001") << d.message;
    }
  }
}

// `source:` instead of `data:`: the snapshot is fetched through a CRM source at every load (here a
// `kind: files` source, which runs the fetch path without a network); the findings equal those of
// the same data given with `data:`.
TEST(ServeSource, TheSnapshotIsFetchedFromTheSource) {
  Fixture direct;
  Fixture fetched;
  write(fetched.dir.path() / "source.yaml",
        "kind: files\npath: " + (direct.dir.path() / "data").string() + "\nobjects: [users, accounts]\n");
  write(fetched.dir.path() / "serve.yaml", "version: 1\nlisten: { port: 0 }\nsource: source.yaml\npacks: [packs]\n"
                                           "as_of: 2026-11-01\nreload: { watch: false }\n");
  std::string from_data, from_source;
  {
    Running server(direct);
    auto answer = send("GET", server.url("/v1/findings"));
    ASSERT_EQ(answer.status, 200);
    from_data = answer.body;
  }
  {
    Running server(fetched);
    auto ready = send("GET", server.url("/readyz"));
    EXPECT_EQ(ready.status, 200) << ready.body;
    EXPECT_NE(ready.body.find("\"records\": 6"), std::string::npos) << ready.body;
    auto answer = send("GET", server.url("/v1/findings"));
    ASSERT_EQ(answer.status, 200);
    from_source = answer.body;
  }
  EXPECT_NE(from_data.find("\"fingerprint\""), std::string::npos) << from_data;
  EXPECT_EQ(from_source, from_data);
}

TEST(ServeSource, DataAndSourceTogetherOrNeither) {
  TempDir dir;
  auto load = [&](const std::string& text) {
    write(dir.path() / "serve.yaml", text);
    diag::DiagnosticSink sink;
    auto config = load_config((dir.path() / "serve.yaml").string(), sink);
    EXPECT_FALSE(config);
    std::string out;
    for (const auto& d : sink.sorted()) out += std::string(diag::code_id(d.code)) + " " + d.message + "\n";
    return out;
  };
  EXPECT_EQ(load("version: 1\ndata: data\nsource: source.yaml\npacks: [packs]\n"),
            "SRV9001 give the snapshot's data with one of `data` (a folder of files) or `source` (a CRM source file), "
            "not both\n");
  EXPECT_EQ(load("version: 1\npacks: [packs]\n"),
            "SRV9001 say where the snapshot's data comes from: `data: FOLDER` (canonical files) or `source: source.yaml` "
            "(a CRM)\n");
}

TEST(ServeConfig, TheExampleLoads) {
  diag::DiagnosticSink sink;
  auto config = load_config(std::string(RAPPORT_SOURCE_DIR) + "/examples/serve.yaml", sink);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->address, "127.0.0.1");
  EXPECT_EQ(config->packs.size(), 4u);
  EXPECT_EQ(config->threads, 2u);
}

// ---- endpoints ----------------------------------------------------------------------------------

TEST(Serve, HealthReadinessAndUnknownPaths) {
  Fixture fixture;
  Running server(fixture);
  auto health = send("GET", server.url("/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "{\"status\": \"ok\"}\n");
  auto ready = send("GET", server.url("/readyz"));
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(body_of(ready).at("snapshot").at("findings").as_int64(), 1);
  EXPECT_EQ(body_of(ready).at("last_reload").at("ok").as_bool(), true);
  auto missing = send("GET", server.url("/v2/nothing"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(body_of(missing), json::parse(R"({"error": {"code": "not_found", "message": "no endpoint /v2/nothing", "details": null}})"));
  auto wrong_method = send("GET", server.url("/v1/what-if"));
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(header(wrong_method, "allow"), "POST");
  EXPECT_EQ(error_code(wrong_method), "method_not_allowed");
}

TEST(Serve, WhatIfReportsTheFindingsAChangeWouldCreateAndResolve) {
  Fixture fixture;
  Running server(fixture);
  // Moving a4 to Ada gives her four accounts: the finding about her changes (3 -> 4).
  auto more = send("POST", server.url("/v1/what-if"), kReassign);
  ASSERT_EQ(more.status, 200) << more.body;
  auto effect = body_of(more);
  EXPECT_EQ(effect.at("created").as_array().size(), 0u);
  ASSERT_EQ(effect.at("changed").as_array().size(), 1u);
  EXPECT_EQ(effect.at("changed").at(0).at("message").as_string(), "Ada owns 4 accounts; the limit is 2.");
  // Moving a1 to Bo brings Ada to the limit: her finding would be resolved.
  auto fewer = send("POST", server.url("/v1/what-if"),
                    R"({"changes": [{"entity": "accounts", "id": "a1", "fields": {"owner_id": "u2"}}]})");
  ASSERT_EQ(fewer.status, 200) << fewer.body;
  ASSERT_EQ(body_of(fewer).at("resolved").as_array().size(), 1u);
  EXPECT_EQ(body_of(fewer).at("resolved").at(0).at("subject").at("id").as_string(), "u1");
  // Nothing was changed: the snapshot still has its one finding.
  EXPECT_EQ(body_of(send("GET", server.url("/readyz"))).at("snapshot").at("findings").as_int64(), 1);
}

TEST(Serve, WhatIfRefusesMalformedAndUnknownInput) {
  Fixture fixture;
  Running server(fixture);
  auto malformed = send("POST", server.url("/v1/what-if"), "{\"changes\": [");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(error_code(malformed), "malformed_json");
  auto unknown = send("POST", server.url("/v1/what-if"),
                      R"({"changes": [{"entity": "accounts", "id": "a1", "fields": {}, "colour": "red"}]})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(body_of(unknown).at("error").at("details").at("field").as_string(), "changes[0].colour");
  auto empty = send("POST", server.url("/v1/what-if"), R"({"changes": []})");
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(error_code(empty), "invalid_request");
  auto bad_field = send("POST", server.url("/v1/what-if"),
                        R"({"changes": [{"entity": "accounts", "id": "a1", "fields": {"no_such_field": 1}}]})");
  EXPECT_EQ(bad_field.status, 422) << bad_field.body;
  EXPECT_EQ(error_code(bad_field), "invalid_change");
  EXPECT_NE(bad_field.body.find("no_such_field"), std::string::npos);
}

TEST(Serve, FindingsFilterByOwnerRuleAndSeverity) {
  Fixture fixture;
  Running server(fixture);
  auto all = body_of(send("GET", server.url("/v1/findings")));
  EXPECT_EQ(all.at("schema").as_string(), "rapport.findings/1");
  EXPECT_EQ(all.at("findings").as_array().size(), 1u);
  EXPECT_EQ(body_of(send("GET", server.url("/v1/findings?owner=u1"))).at("findings").as_array().size(), 1u);
  EXPECT_EQ(body_of(send("GET", server.url("/v1/findings?owner=u2"))).at("findings").as_array().size(), 0u);
  EXPECT_EQ(body_of(send("GET", server.url("/v1/findings?rule=portfolio_limit&severity=high"))).at("findings").as_array().size(), 1u);
  EXPECT_EQ(body_of(send("GET", server.url("/v1/findings?severity=low"))).at("findings").as_array().size(), 0u);
  auto bad = send("GET", server.url("/v1/findings?severity=urgent"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(body_of(bad).at("error").at("message").as_string(), "severity must be info, low, medium, high or critical, got `urgent`");
  EXPECT_EQ(error_code(send("GET", server.url("/v1/findings?colour=red"))), "unknown_parameter");
}

TEST(Serve, CheckEvaluatesTheRulesTheRecordsAllow) {
  Fixture fixture;
  Running server(fixture);
  auto checked = send("POST", server.url("/v1/check"), R"({"records": {
      "users": [{"id": "x1", "name": "Cy", "role": "account_manager", "active": true}],
      "accounts": [{"id": "b1", "owner_id": "x1"}, {"id": "b2", "owner_id": "x1"}, {"id": "b3", "owner_id": "x1"}]}})");
  ASSERT_EQ(checked.status, 200) << checked.body;
  auto report = body_of(checked);
  ASSERT_EQ(report.at("findings").as_array().size(), 1u);
  EXPECT_EQ(report.at("findings").at(0).at("message").as_string(), "Cy owns 3 accounts; the limit is 2.");
  // Without users the rule can't run: it is named as skipped.
  auto partial = send("POST", server.url("/v1/check"), R"({"records": {"accounts": [{"id": "b1", "owner_id": "x1"}]}})");
  EXPECT_EQ(partial.status, 422) << partial.body;
  EXPECT_EQ(body_of(partial).at("error").at("details").at("skipped_rules").at(0).at("needs").as_string(), "users");
  auto unknown_pack = send("POST", server.url("/v1/check"), R"({"records": {"accounts": []}, "packs": ["nope"]})");
  EXPECT_EQ(unknown_pack.status, 400);
  EXPECT_EQ(body_of(unknown_pack).at("error").at("message").as_string(), "no served pack is named `nope`");
  EXPECT_EQ(error_code(send("POST", server.url("/v1/check"), R"({"record": {}})")), "unknown_field");
}

TEST(Serve, ApiKeysAreRequiredWhenConfigured) {
  ::setenv("RAPPORT_TEST_API_KEY", "k-1234567890", 1);
  Fixture fixture("auth:\n  api_keys: [env:RAPPORT_TEST_API_KEY]\n");
  Running server(fixture);
  auto missing = send("POST", server.url("/v1/what-if"), kReassign);
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(error_code(missing), "unauthenticated");
  auto wrong = send("POST", server.url("/v1/what-if"), kReassign, {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(error_code(wrong), "invalid_api_key");
  EXPECT_EQ(send("POST", server.url("/v1/what-if"), kReassign, {{"Authorization", "Bearer k-1234567890"}}).status, 200);
  EXPECT_EQ(send("GET", server.url("/v1/findings"), "", {{"X-API-Key", "k-1234567890"}}).status, 200);
  // Health, metrics and the document stay open for probes.
  EXPECT_EQ(send("GET", server.url("/healthz")).status, 200);
}

// ---- webhooks -----------------------------------------------------------------------------------

std::string now_millis(double offset_seconds = 0) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count() +
                        static_cast<long long>(offset_seconds * 1000));
}

TEST(ServeWebhooks, HubspotSignaturesValidInvalidStaleAndReplayed) {
  ::setenv("RAPPORT_TEST_HUBSPOT_SECRET", "hs-secret", 1);
  Fixture fixture("auth:\n  hubspot: { client_secret: env:RAPPORT_TEST_HUBSPOT_SECRET }\n");
  Running server(fixture);
  const std::string url = server.url("/v1/webhooks/hubspot");
  const std::string body =
      R"([{"eventId": 101, "subscriptionId": 1, "portalId": 9, "occurredAt": 1762000000000, "subscriptionType": "company.propertyChange", "attemptNumber": 0, "objectId": 4, "propertyName": "hubspot_owner_id", "propertyValue": "u1", "changeSource": "CRM"}])";
  auto signed_headers = [&](const std::string& text, const std::string& timestamp) {
    // HubSpot signs the URI it posted to; without public_url the server rebuilds it from Host.
    std::string signature = hmac_sha256_base64("hs-secret", "POST" + url + text + timestamp);
    return std::vector<std::pair<std::string, std::string>>{{"X-HubSpot-Signature-v3", signature},
                                                            {"X-HubSpot-Request-Timestamp", timestamp}};
  };
  auto missing = send("POST", url, body);
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(error_code(missing), "missing_signature");
  auto ts = now_millis();
  auto wrong = send("POST", url, body, {{"X-HubSpot-Signature-v3", "AAAA"}, {"X-HubSpot-Request-Timestamp", ts}});
  EXPECT_EQ(error_code(wrong), "invalid_signature");
  // A timestamp that is not a finite number of milliseconds is refused even when signed ("nan"
  // once passed the window check, since a NaN age compares false).
  for (const char* odd : {"nan", "inf", "-inf", "1.7e+400", "12abc"}) {
    auto answer = send("POST", url, body, signed_headers(body, odd));
    EXPECT_EQ(answer.status, 401) << odd;
    EXPECT_EQ(error_code(answer), "invalid_timestamp") << odd;
  }
  auto stale_ts = now_millis(-600);
  auto stale = send("POST", url, body, signed_headers(body, stale_ts));
  EXPECT_EQ(stale.status, 401);
  EXPECT_EQ(error_code(stale), "stale_timestamp");
  auto good = send("POST", url, body, signed_headers(body, ts));
  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(body_of(good).at("applied").as_int64(), 1);
  EXPECT_EQ(body_of(good).at("changed").as_array().size(), 1u);  // Ada now owns four accounts
  auto findings = body_of(send("GET", server.url("/v1/findings?owner=u1")));
  EXPECT_EQ(findings.at("findings").at(0).at("message").as_string(), "Ada owns 4 accounts; the limit is 2.");
  // The same delivery again (HubSpot retries with a fresh timestamp, the same eventId).
  auto ts2 = now_millis(1);
  auto replayed = send("POST", url, body, signed_headers(body, ts2));
  EXPECT_EQ(replayed.status, 409);
  EXPECT_EQ(error_code(replayed), "replayed");
  auto metrics = send("GET", server.url("/metrics")).body;
  EXPECT_NE(metrics.find("rapport_webhook_events_total{vendor=\"hubspot\",outcome=\"accepted\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("rapport_webhook_events_total{vendor=\"hubspot\",outcome=\"replayed\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("rapport_webhook_events_total{vendor=\"hubspot\",outcome=\"rejected\"} 8\n"), std::string::npos);  // 3 + the 5 odd timestamps
}

TEST(ServeWebhooks, DataverseKeyAndSalesforceBearer) {
  ::setenv("RAPPORT_TEST_DV_KEY", "dv-key", 1);
  ::setenv("RAPPORT_TEST_SF_TOKEN", "sf-token", 1);
  Fixture fixture("auth:\n  dynamics: { header: X-Rapport-Key, value: env:RAPPORT_TEST_DV_KEY }\n"
                  "  salesforce: { bearer: env:RAPPORT_TEST_SF_TOKEN }\n");
  Running server(fixture);
  const std::string dataverse = R"({"MessageName": "Update", "PrimaryEntityName": "account", "PrimaryEntityId": "a1",
    "RequestId": "req-1", "InputParameters": [{"key": "Target", "value": {"__type": "Entity:http://schemas.microsoft.com/xrm/2011/Contracts",
    "LogicalName": "account", "Id": "a1", "Attributes": [{"key": "ownerid", "value": {"__type": "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts", "Id": "u2", "LogicalName": "systemuser"}}]}}]})";
  auto dv_url = server.url("/v1/webhooks/dynamics");
  EXPECT_EQ(error_code(send("POST", dv_url, dataverse)), "missing_key");
  EXPECT_EQ(error_code(send("POST", dv_url, dataverse, {{"X-Rapport-Key", "nope"}})), "invalid_key");
  auto dv = send("POST", dv_url, dataverse, {{"X-Rapport-Key", "dv-key"}});
  ASSERT_EQ(dv.status, 200) << dv.body;
  EXPECT_EQ(body_of(dv).at("resolved").as_array().size(), 1u);  // a1 went to Bo: Ada is at the limit
  EXPECT_EQ(send("POST", dv_url, dataverse, {{"X-Rapport-Key", "dv-key"}}).status, 409);

  const std::string cdc = R"({"data": {"schema": "x", "payload": {"ChangeEventHeader": {"entityName": "Account",
    "recordIds": ["a2"], "changeType": "UPDATE", "changedFields": ["OwnerId"], "transactionKey": "t1", "sequenceNumber": 1},
    "OwnerId": "u2"}, "event": {"replayId": 77}}, "channel": "/data/AccountChangeEvent"})";
  auto sf_url = server.url("/v1/webhooks/salesforce");
  EXPECT_EQ(error_code(send("POST", sf_url, cdc)), "unauthenticated");
  EXPECT_EQ(error_code(send("POST", sf_url, cdc, {{"Authorization", "Bearer nope"}})), "invalid_token");
  auto sf = send("POST", sf_url, cdc, {{"Authorization", "Bearer sf-token"}});
  ASSERT_EQ(sf.status, 200) << sf.body;
  EXPECT_EQ(body_of(sf).at("applied").as_int64(), 1);
  auto bo = body_of(send("GET", server.url("/v1/findings?owner=u2")));
  ASSERT_EQ(bo.at("findings").as_array().size(), 1u);  // Bo: a4, a1, a2
  EXPECT_EQ(bo.at("findings").at(0).at("message").as_string(), "Bo owns 3 accounts; the limit is 2.");
  auto malformed = send("POST", sf_url, R"({"data": {"payload": {}}})", {{"Authorization", "Bearer sf-token"}});
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(body_of(malformed).at("error").at("details").at("where").as_string(), "events[0].payload.ChangeEventHeader");
  // A vendor without configuration has no endpoint.
  EXPECT_EQ(error_code(send("POST", server.url("/v1/webhooks/hubspot"), "[]")), "webhook_not_configured");
}

// ---- limits -------------------------------------------------------------------------------------

TEST(ServeLimits, OversizeBodySlowClientAndTheConcurrencyBound) {
  Fixture fixture("limits: { max_body: 2048, read_timeout: 0.5s, max_in_flight: 1, threads: 2 }\n");
  Running server(fixture);
  auto big = send("POST", server.url("/v1/what-if"), std::string(4096, ' '));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(error_code(big), "payload_too_large");
  // Headers that never finish: 408 after the read timeout, then the connection closes.
  std::string slow = raw_exchange(server.port(), "POST /v1/what-if HTTP/1.1\r\nHost: x\r\n");
  EXPECT_NE(slow.find("HTTP/1.1 408"), std::string::npos) << slow;
  EXPECT_NE(slow.find("\"request_timeout\""), std::string::npos) << slow;
  std::string garbage = raw_exchange(server.port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_NE(garbage.find("HTTP/1.1 400"), std::string::npos) << garbage;
  // With one evaluation allowed at a time, a burst of parallel what-ifs sees some 503s with
  // Retry-After, and every other request succeeds.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, busy{0}, other{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto r = send("POST", server.url("/v1/what-if"), kReassign);
        if (r.status == 200) ++ok;
        else if (r.status == 503 && header(r, "retry-after") == "1" && error_code(r) == "overloaded") ++busy;
        else ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(busy.load(), 0);
}

// ---- hot reload ---------------------------------------------------------------------------------

/// Polls `/readyz` until `done` says yes (at most 10 s).
bool wait_for(const Running& server, const std::function<bool(const json::value&)>& done) {
  for (int i = 0; i < 100; ++i) {
    auto ready = send("GET", server.url("/readyz"));
    if (done(body_of(ready))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST(ServeReload, ABrokenPackIsRejectedAndTheOldOneKeepsServing) {
  Fixture fixture;
  Running server(fixture);
  std::string broken = kPack;
  broken.replace(broken.find("when portfolio > portfolio_limit"), 32, "when portfolio > no_such_param");
  write(fixture.pack_file, broken);
  ASSERT_TRUE(wait_for(server, [](const json::value& r) { return !r.at("last_reload").at("ok").as_bool(); }));
  auto ready = body_of(send("GET", server.url("/readyz")));
  EXPECT_EQ(ready.at("ready").as_bool(), true);
  const auto& diagnostics = ready.at("last_reload").at("diagnostics").as_array();
  ASSERT_FALSE(diagnostics.empty());
  EXPECT_NE(json::serialize(diagnostics).find("no_such_param"), std::string::npos);
  EXPECT_EQ(send("POST", server.url("/v1/what-if"), kReassign).status, 200);  // the old pack answers
  EXPECT_NE(send("GET", server.url("/metrics")).body.find("rapport_reloads_total{result=\"failed\"} 1\n"), std::string::npos);
  // Fixed, with a higher limit: Ada's three accounts are fine now.
  std::string fixed = kPack;
  fixed.replace(fixed.find("count = 2"), 9, "count = 5");
  write(fixture.pack_file, fixed);
  ASSERT_TRUE(wait_for(server, [](const json::value& r) { return r.at("last_reload").at("ok").as_bool() &&
                                                                  r.at("snapshot").at("findings").as_int64() == 0; }));
}

// ---- the binary ---------------------------------------------------------------------------------

TEST(ServeBinary, SighupReloadsAndSigtermStops) {
  Fixture fixture("reload: { watch: false }\n");
  // `reload` is given twice: replace the file without the watcher.
  write(fixture.dir.path() / "serve.yaml", "version: 1\nlisten: { port: 0 }\ndata: data\npacks: [packs]\nas_of: 2026-11-01\n"
                                           "reload: { watch: false }\n");
  const fs::path log = fixture.dir.path() / "serve.log";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::freopen(log.c_str(), "w", stderr);
    ::execl(RAPPORT_BINARY, "rapport", "serve", "--config", fixture.config_path().c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto log_has = [&](const std::string& text) {
    for (int i = 0; i < 100; ++i) {
      if (rapport::testing::slurp(log).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  EXPECT_TRUE(log_has("listening: http://127.0.0.1:"));
  std::string fixed = kPack;
  fixed.replace(fixed.find("count = 2"), 9, "count = 5");
  write(fixture.pack_file, fixed);
  ::kill(pid, SIGHUP);
  EXPECT_TRUE(log_has("reload ok: SIGHUP: 0 findings"));
  ::kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (::waitpid(pid, &status, WNOHANG) == 0 && !WIFEXITED(status)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << rapport::testing::slurp(log);
  EXPECT_NE(rapport::testing::slurp(log).find("stopping: SIGTERM"), std::string::npos);
}

// ---- the OpenAPI document -----------------------------------------------------------------------

TEST(ServeOpenApi, TheDocumentListsEveryRouteAndNothingElse) {
  Fixture fixture;
  Running server(fixture);
  auto served = send("GET", server.url("/openapi.json"));
  ASSERT_EQ(served.status, 200);
  auto document = body_of(served);
  EXPECT_EQ(document.at("openapi").as_string(), "3.0.3");
  std::set<std::pair<std::string, std::string>> documented, routed;
  for (const auto& [path, item] : document.at("paths").as_object()) {
    for (const auto& [method, operation] : item.as_object()) {
      std::string upper(method);
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.emplace(upper, path);
    }
  }
  const Router router = server.service().router();
  for (const auto& route : router.routes()) routed.emplace(route.method, route.path);
  EXPECT_EQ(documented, routed);
  // What `rapport serve --openapi` prints (validated against the OpenAPI 3.0 JSON Schema by the
  // CTest serve:openapi-schema) is what the server serves.
  EXPECT_EQ(served.body, serve::openapi_document());
  write(fs::path(RAPPORT_TEST_ARTIFACTS) / "openapi.json", served.body);
}

TEST(ServeMetrics, PrometheusTextFormat) {
  Fixture fixture;
  Running server(fixture);
  send("GET", server.url("/healthz"));
  auto metrics = send("GET", server.url("/metrics"));
  EXPECT_EQ(header(metrics, "content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = metrics.body;
  EXPECT_NE(text.find("# HELP rapport_http_requests_total HTTP requests answered, by endpoint and status.\n"
                      "# TYPE rapport_http_requests_total counter\n"
                      "rapport_http_requests_total{endpoint=\"/healthz\",status=\"200\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("rapport_http_request_duration_seconds_bucket{endpoint=\"/healthz\",le=\"+Inf\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE rapport_snapshot_findings gauge\nrapport_snapshot_findings 1\n"), std::string::npos);
  EXPECT_NE(text.find("rapport_snapshot_records 6\n"), std::string::npos);
  EXPECT_NE(text.find("rapport_reloads_total{result=\"ok\"} 1\n"), std::string::npos);
  // Webhook write-back, off here: every result is shown, at 0.
  EXPECT_NE(text.find("# TYPE rapport_serve_writeback_total counter\nrapport_serve_writeback_total{result=\"failed\"} 0\n"
                      "rapport_serve_writeback_total{result=\"planned\"} 0\nrapport_serve_writeback_total{result=\"written\"} 0\n"),
            std::string::npos)
      << text;
  // Every sample line belongs to a metric declared by a TYPE line before it.
  std::set<std::string> declared;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      declared.insert(line.substr(7, line.find(' ', 7) - 7));
    } else if (!line.empty() && line[0] != '#') {
      std::string name = line.substr(0, line.find_first_of("{ "));
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (name.size() > std::strlen(suffix) && name.compare(name.size() - std::strlen(suffix), std::string::npos, suffix) == 0 &&
            !declared.count(name)) {
          name = name.substr(0, name.size() - std::strlen(suffix));
        }
      }
      EXPECT_TRUE(declared.count(name)) << line;
    }
  }
}

}  // namespace
}  // namespace rapport::serve
