// The transport against a scripted loopback server: retries, timeouts, limits, errors.

#include <gtest/gtest.h>

#include <chrono>

#include "connectors/http/client.hpp"
#include "loopback_server.hpp"

namespace rapport::http {
namespace {

using namespace std::chrono_literals;
using testing::LoopbackServer;
using testing::delayed;
using testing::raw_reply;
using testing::reset_connection;
using testing::respond;
using Clock = std::chrono::steady_clock;

// Fast, deterministic settings: small backoffs, fixed jitter seed, no proxy for loopback.
ClientOptions test_options() {
  ClientOptions options;
  options.connect_timeout = 2s;
  options.total_timeout = 5s;
  options.retry.max_retries = 3;
  options.retry.backoff_base = 10ms;
  options.retry.backoff_cap = 40ms;
  options.retry.max_retry_after = 3s;
  options.jitter_seed = 42;
  options.no_proxy = "*";
  return options;
}

Request get(std::string url) {
  Request request;
  request.url = std::move(url);
  return request;
}

Request make(Method method, std::string url, std::string body, Headers headers = {}) {
  Request request;
  request.method = method;
  request.url = std::move(url);
  request.body = std::move(body);
  request.headers = std::move(headers);
  return request;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

const std::string kGzipBody(
    "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xab\x56\x2a\x4a\x4d\xce\x2f\x4a\x29\x56\xb2\x8a\xae\x56\xf2\x4c\x51"
    "\xb2\x52\x32\x30\x30\x74\x54\xd2\x51\xf2\x4b\xcc\x4d\x05\xf2\x1c\x93\x81\x54\x6d\xac\x8e\x52\x4a\x7e\x1e\x90"
    "\x5f\x52\x54\x9a\x5a\x0b\x00\xa3\x8d\x98\x63\x35\x00\x00\x00",
    69);

TEST(HttpClient, SuccessRecordsTheExactRequest) {
  LoopbackServer server({respond(200, R"({"ok":true})", {{"Content-Type", "application/json"}, {"X-Trace", "t1"}})});
  Client client(test_options());
  Request request = get(server.url("/services/data/v60.0/query?q=SELECT+Id+FROM+Account"));
  request.headers.add("Accept", "application/json");
  Response response = client.perform(request);

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"ok":true})");
  EXPECT_EQ(response.headers.get("x-trace"), "t1");
  EXPECT_EQ(response.attempts, 1);
  auto received = server.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].method, "GET");
  EXPECT_EQ(received[0].target, "/services/data/v60.0/query?q=SELECT+Id+FROM+Account");
  EXPECT_EQ(received[0].header("Accept"), "application/json");
  EXPECT_EQ(received[0].header("User-Agent"), "rapport/0.1");
  EXPECT_NE(received[0].header("Accept-Encoding").find("gzip"), std::string::npos);
}

TEST(HttpClient, GzipBodyIsDecoded) {
  LoopbackServer server({respond(200, kGzipBody, {{"Content-Encoding", "gzip"}})});
  Client client(test_options());
  Response response = client.perform(get(server.url("/gz")));
  EXPECT_EQ(response.body, R"({"records":[{"Id":"001A","Name":"Acme"}],"done":true})");
}

TEST(HttpClient, PostSendsBodyAndMethods) {
  LoopbackServer server({respond(201, "{}"), respond(204)});
  Client client(test_options());
  Request post = make(Method::Post, server.url("/objects"), R"({"Name":"Acme"})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(client.perform(post).status, 201);
  Request patch = make(Method::Patch, server.url("/objects/1"), R"({"a":1})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(client.perform(patch).status, 204);
  auto received = server.requests();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].method, "POST");
  EXPECT_EQ(received[0].body, R"({"Name":"Acme"})");
  EXPECT_EQ(received[0].header("Content-Type"), "application/json");
  EXPECT_EQ(received[1].method, "PATCH");
  EXPECT_EQ(received[1].body, R"({"a":1})");
}

TEST(HttpClient, TooManyRequestsHonoursRetryAfterSeconds) {
  LoopbackServer server({respond(429, R"({"status":"error","message":"slow down","category":"RATE_LIMITS"})",
                                 {{"Retry-After", "1"}}),
                         respond(200, "done")});
  std::vector<AttemptEvent> events;
  ClientOptions options = test_options();
  options.on_attempt = [&](const AttemptEvent& event) { events.push_back(event); };
  Client client(options);
  auto start = Clock::now();
  Response response = client.perform(get(server.url("/limited")));
  double elapsed = seconds_since(start);

  EXPECT_EQ(response.body, "done");
  EXPECT_EQ(response.attempts, 2);
  EXPECT_GE(elapsed, 0.95);  // the server's second, not the 10 ms backoff
  EXPECT_LT(elapsed, 3.0);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].status, 429);
  EXPECT_TRUE(events[0].will_retry);
  EXPECT_EQ(events[0].delay, 1000ms);
  EXPECT_FALSE(events[1].will_retry);
}

TEST(HttpClient, ServiceUnavailableTwiceThenSuccess) {
  LoopbackServer server({respond(503), respond(503), respond(200, "third time")});
  Client client(test_options());
  Response response = client.perform(get(server.url("/flaky")));
  EXPECT_EQ(response.body, "third time");
  EXPECT_EQ(response.attempts, 3);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(HttpClient, RetriesExhaustedReportTheLastStatus) {
  LoopbackServer server({}, respond(502, "<html>Bad Gateway</html>"));
  ClientOptions options = test_options();
  options.retry.max_retries = 2;
  Client client(options);
  Response response = client.send(get(server.url("/down")));
  EXPECT_EQ(response.status, 502);
  EXPECT_EQ(response.attempts, 3);
  try {
    client.perform(get(server.url("/down")));
    FAIL() << "expected an HttpError";
  } catch (const HttpError& error) {
    EXPECT_EQ(error.status(), 502);
    EXPECT_EQ(error.attempts(), 3);
    EXPECT_EQ(error.vendor_message(), "<html>Bad Gateway</html>");
  }
}

TEST(HttpClient, SalesforceRequestLimitExceededIsRetried) {
  std::string limit_body = R"([{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])";
  LoopbackServer server({respond(403, limit_body), respond(200, "[]")});
  Client client(test_options());
  Response response = client.perform(get(server.url("/services/data/v60.0/sobjects")));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.attempts, 2);
}

TEST(HttpClient, SalesforceRequestLimitReportedWithVendorText) {
  std::string limit_body = R"([{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])";
  LoopbackServer server({}, respond(403, limit_body));
  ClientOptions options = test_options();
  options.retry.max_retries = 1;
  Client client(options);
  try {
    client.perform(get(server.url("/services/data/v60.0/sobjects?access_token=abc123")));
    FAIL() << "expected an HttpError";
  } catch (const HttpError& error) {
    EXPECT_EQ(error.vendor_code(), "REQUEST_LIMIT_EXCEEDED");
    EXPECT_EQ(std::string(error.what()),
              "GET " + server.url("/services/data/v60.0/sobjects?access_token=REDACTED") +
                  ": HTTP 403 REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded. (after 2 attempts)");
  }
}

TEST(HttpClient, ConnectionRefusedIsRetriedThenReported) {
  std::string url = "http://127.0.0.1:" + std::to_string(testing::closed_port()) + "/nobody";
  int attempts_seen = 0;
  ClientOptions options = test_options();
  options.retry.max_retries = 2;
  options.on_attempt = [&](const AttemptEvent& event) {
    ++attempts_seen;
    EXPECT_EQ(event.failure, TransportFailure::NotSent);
  };
  Client client(options);
  try {
    client.perform(get(url));
    FAIL() << "expected an HttpError";
  } catch (const HttpError& error) {
    EXPECT_EQ(error.failure(), TransportFailure::NotSent);
    EXPECT_EQ(error.attempts(), 3);
    EXPECT_EQ(error.status(), 0);
    EXPECT_FALSE(error.curl_error().empty());
    EXPECT_NE(std::string(error.what()).find("GET " + url + ": connection failed: "), std::string::npos) << error.what();
  }
  EXPECT_EQ(attempts_seen, 3);
}

TEST(HttpClient, TruncatedBodyIsAnError) {
  std::string truncated = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n0123456789";
  LoopbackServer server({raw_reply(truncated), raw_reply(truncated)});
  ClientOptions options = test_options();
  options.retry.max_retries = 1;
  Client client(options);
  try {
    client.perform(get(server.url("/short")));
    FAIL() << "expected an HttpError";
  } catch (const HttpError& error) {
    EXPECT_EQ(error.failure(), TransportFailure::ConnectionLost);
    EXPECT_EQ(error.attempts(), 2);
    EXPECT_NE(std::string(error.what()).find("connection lost"), std::string::npos) << error.what();
  }
}

TEST(HttpClient, ConnectionResetIsRetried) {
  LoopbackServer server({reset_connection(), respond(200, "after reset")});
  Client client(test_options());
  Response response = client.perform(get(server.url("/reset")));
  EXPECT_EQ(response.body, "after reset");
  EXPECT_EQ(response.attempts, 2);
}

TEST(HttpClient, ConnectionResetReported) {
  LoopbackServer server({}, reset_connection());
  ClientOptions options = test_options();
  options.retry.max_retries = 0;
  Client client(options);
  try {
    client.perform(get(server.url("/reset")));
    FAIL() << "expected an HttpError";
  } catch (const HttpError& error) {
    EXPECT_EQ(error.failure(), TransportFailure::ConnectionLost);
    EXPECT_EQ(error.attempts(), 1);
  }
}

TEST(HttpClient, TotalTimeoutReportedWithRedactedUrl) {
  LoopbackServer server({}, delayed(respond(200, "too late"), 3s));
  ClientOptions options = test_options();
  options.retry.max_retries = 1;
  Client client(options);
  Request request = get("http://user:hunter22@127.0.0.1:" + std::to_string(server.port()) +
                        "/slow?access_token=abc123&page=2");
  request.total_timeout = 200ms;
  auto start = Clock::now();
  try {
    client.perform(request);
    FAIL() << "expected an HttpError";
  } catch (const HttpError& error) {
    std::string text = error.what();
    EXPECT_EQ(error.failure(), TransportFailure::Timeout);
    EXPECT_EQ(error.attempts(), 2);
    EXPECT_EQ(error.redacted_url(), server.url("/slow?access_token=REDACTED&page=2"));
    EXPECT_NE(text.find("GET " + server.url("/slow?access_token=REDACTED&page=2") + ": timed out"), std::string::npos)
        << text;
    EXPECT_EQ(text.find("abc123"), std::string::npos) << text;
    EXPECT_EQ(text.find("hunter22"), std::string::npos) << text;
  }
  double elapsed = seconds_since(start);
  EXPECT_GE(elapsed, 0.38);
  EXPECT_LT(elapsed, 2.0);
}

TEST(HttpClient, PostIsNotRetriedOnServerError) {
  LoopbackServer server({respond(500), respond(200)});
  Client client(test_options());
  Request post = make(Method::Post, server.url("/create"), "{}");
  Response response = client.send(post);
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.attempts, 1);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(HttpClient, PostMarkedIdempotentIsRetried) {
  LoopbackServer server({respond(500), respond(200, "upserted")});
  Client client(test_options());
  Request post = make(Method::Post, server.url("/upsert"), "{}");
  post.idempotent = true;
  Response response = client.perform(post);
  EXPECT_EQ(response.body, "upserted");
  EXPECT_EQ(response.attempts, 2);
}

TEST(HttpClient, PostIsRetriedWhenNeverSent) {
  std::string url = "http://127.0.0.1:" + std::to_string(testing::closed_port()) + "/create";
  ClientOptions options = test_options();
  options.retry.max_retries = 1;
  Client client(options);
  try {
    client.send(make(Method::Post, url, "{}"));
    FAIL() << "expected an HttpError";
  } catch (const HttpError& error) {
    EXPECT_EQ(error.attempts(), 2);
  }
}

TEST(HttpClient, ConcurrencyLimitIsRespected) {
  LoopbackServer server({}, delayed(respond(200, "ok"), 150ms));
  ClientOptions options = test_options();
  options.max_concurrency = 2;
  Client client(options);
  std::vector<Request> requests;
  for (int i = 0; i < 6; ++i) requests.push_back(get(server.url("/item/" + std::to_string(i))));
  auto start = Clock::now();
  std::vector<Outcome> outcomes = client.send_all(requests);
  double elapsed = seconds_since(start);

  ASSERT_EQ(outcomes.size(), 6u);
  for (const Outcome& outcome : outcomes) EXPECT_EQ(outcome.response().status, 200);
  EXPECT_EQ(server.max_in_flight(), 2);
  EXPECT_GE(elapsed, 0.42);  // three waves of 150 ms
  EXPECT_EQ(server.requests().size(), 6u);
}

TEST(HttpClient, SendAllKeepsRequestOrderAndMixesOutcomes) {
  LoopbackServer server({}, respond(200, "fine"));
  std::string refused = "http://127.0.0.1:" + std::to_string(testing::closed_port()) + "/x";
  ClientOptions options = test_options();
  options.retry.max_retries = 0;
  Client client(options);
  std::vector<Request> requests = {get(server.url("/a")), get(refused), get(server.url("/b"))};
  std::vector<Outcome> outcomes = client.send_all(requests);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0].has_response());
  ASSERT_NE(outcomes[1].error(), nullptr);
  EXPECT_EQ(outcomes[1].error()->failure(), TransportFailure::NotSent);
  EXPECT_THROW((void)outcomes[1].response(), HttpError);
  EXPECT_EQ(outcomes[2].response().body, "fine");
}

TEST(HttpClient, RequestRateIsLimited) {
  LoopbackServer server({}, respond(200));
  ClientOptions options = test_options();
  options.requests_per_second = 20;
  options.rate_burst = 1;
  options.max_concurrency = 8;
  Client client(options);
  std::vector<Request> requests(5, get(server.url("/r")));
  auto start = Clock::now();
  client.send_all(requests);
  double elapsed = seconds_since(start);
  EXPECT_GE(elapsed, 0.19);  // 4 gaps of 50 ms after the first
  EXPECT_LT(elapsed, 2.0);
}

TEST(HttpClient, OversizedBodyIsRefused) {
  LoopbackServer server({respond(200, std::string(10'000, 'x'))});
  ClientOptions options = test_options();
  options.max_body_bytes = 1000;
  Client client(options);
  try {
    client.perform(get(server.url("/big")));
    FAIL() << "expected an HttpError";
  } catch (const HttpError& error) {
    EXPECT_EQ(error.failure(), TransportFailure::Other);
    EXPECT_NE(std::string(error.what()).find("larger than 1000 bytes"), std::string::npos) << error.what();
  }
}

TEST(HttpClient, MalformedUrlIsReportedNotRetried) {
  ClientOptions options = test_options();
  Client client(options);
  try {
    client.perform(get("ftp://127.0.0.1/file?password=pw"));
    FAIL() << "expected an HttpError";
  } catch (const HttpError& error) {
    EXPECT_EQ(error.attempts(), 1);
    EXPECT_EQ(std::string(error.what()).find("pw&"), std::string::npos);
    EXPECT_EQ(error.redacted_url(), "ftp://127.0.0.1/file?password=REDACTED");
  }
}

}  // namespace
}  // namespace rapport::http
