// Pure parts of the transport: redaction, vendor errors, retry decisions, the token bucket, forms.

#include <gtest/gtest.h>

#include "connectors/http/error.hpp"
#include "connectors/http/form.hpp"
#include "connectors/http/rate_limiter.hpp"
#include "connectors/http/redact.hpp"
#include "connectors/http/retry_policy.hpp"
#include "connectors/http/vendor_error.hpp"

namespace rapport::http {
namespace {

using namespace std::chrono_literals;

// --- redaction ---

TEST(Redact, StripsUserinfo) {
  EXPECT_EQ(redact_url("https://alice:s3cret@acme.my.salesforce.com/services/data"),
            "https://acme.my.salesforce.com/services/data");
  EXPECT_EQ(redact_url("https://token@api.hubapi.com"), "https://api.hubapi.com");
}

TEST(Redact, ReplacesSecretQueryParametersCaseInsensitively) {
  EXPECT_EQ(redact_url("https://h/p?access_token=abc&limit=10&Client_Secret=xyz&PASSWORD=p&code=c"),
            "https://h/p?access_token=REDACTED&limit=10&Client_Secret=REDACTED&PASSWORD=REDACTED&code=REDACTED");
  EXPECT_EQ(redact_url("https://h/p?refresh_token=r&api_key=k&key=k2&signature=s&token=t"),
            "https://h/p?refresh_token=REDACTED&api_key=REDACTED&key=REDACTED&signature=REDACTED&token=REDACTED");
}

TEST(Redact, CatchesVendorVariantsAndEncodedNames) {
  EXPECT_EQ(redact_url("https://api.hubapi.com/crm/v3/objects/contacts?hapikey=abc&after=5"),
            "https://api.hubapi.com/crm/v3/objects/contacts?hapikey=REDACTED&after=5");
  EXPECT_EQ(redact_url("https://h/?client%5Fsecret=abc"), "https://h/?client%5Fsecret=REDACTED");
  EXPECT_EQ(redact_url("https://h/?X-Amz-Signature=abc"), "https://h/?X-Amz-Signature=REDACTED");
}

TEST(Redact, KeepsHarmlessParametersAndPaths) {
  EXPECT_EQ(redact_url("https://org.crm.dynamics.com/api/data/v9.2/accounts?$select=name&$top=5"),
            "https://org.crm.dynamics.com/api/data/v9.2/accounts?$select=name&$top=5");
  EXPECT_EQ(redact_url("https://h/p?q=SELECT+Id+FROM+Account"), "https://h/p?q=SELECT+Id+FROM+Account");
  EXPECT_EQ(redact_url("https://h/p?flag&empty="), "https://h/p?flag&empty=");
}

TEST(Redact, RedactsFragmentParameters) {
  EXPECT_EQ(redact_url("https://app/cb#access_token=abc&state=1"), "https://app/cb#access_token=REDACTED&state=1");
}

TEST(Redact, MalformedInputDoesNotLeak) {
  EXPECT_EQ(redact_url(""), "");
  EXPECT_EQ(redact_url("no-scheme?password=x"), "no-scheme?password=REDACTED");
  EXPECT_EQ(redact_url("http://u:p@"), "http://");
}

TEST(Redact, ScrubReplacesEveryOccurrence) {
  EXPECT_EQ(scrub("a hunter2 b hunter2", "hunter2"), "a *** b ***");
  EXPECT_EQ(scrub("abc", "a"), "abc");  // too short to scrub meaningfully
}

// --- vendor error bodies ---

TEST(VendorErrorParse, Salesforce) {
  VendorError error = parse_vendor_error(
      R"([{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])");
  EXPECT_EQ(error.code, "REQUEST_LIMIT_EXCEEDED");
  EXPECT_EQ(error.message, "TotalRequests Limit exceeded.");
}

TEST(VendorErrorParse, SalesforceSeveralErrors) {
  VendorError error = parse_vendor_error(
      R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"},{"message":"x","errorCode":"Y"}])");
  EXPECT_EQ(error.code, "INVALID_SESSION_ID");
  EXPECT_EQ(error.message, "Session expired or invalid (and 1 more)");
}

TEST(VendorErrorParse, HubSpot) {
  VendorError error = parse_vendor_error(
      R"({"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT",)"
      R"("correlationId":"c0ffee-12","category":"RATE_LIMITS"})");
  EXPECT_EQ(error.code, "RATE_LIMITS");
  EXPECT_EQ(error.message, "You have reached your secondly limit. (correlationId c0ffee-12)");
}

TEST(VendorErrorParse, DynamicsOData) {
  VendorError error = parse_vendor_error(
      R"({"error":{"code":"0x80040217","message":"account With Id = 123 Does Not Exist"}})");
  EXPECT_EQ(error.code, "0x80040217");
  EXPECT_EQ(error.message, "account With Id = 123 Does Not Exist");
}

TEST(VendorErrorParse, OAuth) {
  VendorError error = parse_vendor_error(
      R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]})");
  EXPECT_EQ(error.code, "invalid_client");
  EXPECT_EQ(error.message, "AADSTS7000215: Invalid client secret provided.");
}

TEST(VendorErrorParse, NonJsonGivesTheShortenedFirstLine) {
  VendorError error = parse_vendor_error("<html><title>502 Bad   Gateway</title>\n<body>...</body>");
  EXPECT_EQ(error.code, "");
  EXPECT_EQ(error.message, "<html><title>502 Bad Gateway</title>");
  EXPECT_TRUE(parse_vendor_error("").empty());
  EXPECT_LE(parse_vendor_error(std::string(5000, 'x')).message.size(), 310u);
}

TEST(HttpErrorText, NamesMethodUrlStatusVendorAndAttempts) {
  HttpErrorDetails details;
  details.method = Method::Get;
  details.redacted_url = "https://acme.my.salesforce.com/services/data/v60.0/limits";
  details.status = 403;
  details.vendor_code = "REQUEST_LIMIT_EXCEEDED";
  details.vendor_message = "TotalRequests Limit exceeded.";
  details.attempts = 5;
  EXPECT_STREQ(HttpError(details).what(),
               "GET https://acme.my.salesforce.com/services/data/v60.0/limits: HTTP 403 REQUEST_LIMIT_EXCEEDED: "
               "TotalRequests Limit exceeded. (after 5 attempts)");
}

// --- retry policy ---

AttemptResult status(long code, bool may_repeat = true, std::string_view body = "") {
  AttemptResult result;
  result.status = code;
  result.may_repeat = may_repeat;
  result.body = body;
  return result;
}

AttemptResult failure(TransportFailure kind, bool may_repeat = true) {
  AttemptResult result;
  result.failure = kind;
  result.may_repeat = may_repeat;
  return result;
}

TEST(RetryPolicyTest, RetryableOutcomes) {
  for (long code : {429L, 500L, 502L, 503L, 504L}) EXPECT_TRUE(is_retryable(status(code))) << code;
  for (long code : {200L, 201L, 204L, 400L, 401L, 403L, 404L, 409L, 501L}) {
    EXPECT_FALSE(is_retryable(status(code))) << code;
  }
  EXPECT_TRUE(is_retryable(failure(TransportFailure::NotSent)));
  EXPECT_TRUE(is_retryable(failure(TransportFailure::Timeout)));
  EXPECT_TRUE(is_retryable(failure(TransportFailure::ConnectionLost)));
  EXPECT_FALSE(is_retryable(failure(TransportFailure::Tls)));
  EXPECT_FALSE(is_retryable(failure(TransportFailure::Other)));
}

TEST(RetryPolicyTest, SalesforceRequestLimitIsRetriedOtherForbiddenIsNot) {
  EXPECT_TRUE(is_retryable(
      status(403, true, R"([{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])")));
  EXPECT_FALSE(is_retryable(status(403, true, R"([{"message":"no","errorCode":"INSUFFICIENT_ACCESS"}])")));
  EXPECT_FALSE(is_retryable(status(403, true, "REQUEST_LIMIT_EXCEEDED in prose, not a vendor code")));
}

TEST(RetryPolicyTest, NonIdempotentRequestsRetryOnlyWhenNeverSent) {
  EXPECT_TRUE(is_retryable(failure(TransportFailure::NotSent, false)));
  EXPECT_FALSE(is_retryable(failure(TransportFailure::Timeout, false)));
  EXPECT_FALSE(is_retryable(failure(TransportFailure::ConnectionLost, false)));
  EXPECT_FALSE(is_retryable(status(500, false)));
  EXPECT_FALSE(is_retryable(status(503, false)));
  EXPECT_FALSE(is_retryable(status(429, false)));
}

TEST(RetryPolicyTest, FullJitterBackoffIsBoundedByCap) {
  RetryPolicy policy;
  policy.backoff_base = 100ms;
  policy.backoff_cap = 1000ms;
  EXPECT_EQ(backoff_delay(0, policy, 0.999999), 99ms);
  EXPECT_EQ(backoff_delay(1, policy, 0.5), 100ms);
  EXPECT_EQ(backoff_delay(3, policy, 0.5), 400ms);
  EXPECT_EQ(backoff_delay(4, policy, 0.5), 500ms);   // min(cap 1000, 1600) * 0.5
  EXPECT_EQ(backoff_delay(60, policy, 0.5), 500ms);  // no overflow for large attempt numbers
  EXPECT_EQ(backoff_delay(2, policy, 0.0), 0ms);
}

TEST(RetryPolicyTest, RetryAfterSecondsAndDates) {
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("120", now), 120'000ms);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0ms);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), 30'000ms);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), 0ms);  // in the past
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("-5", now));
  EXPECT_FALSE(parse_retry_after("12abc", now));
  EXPECT_FALSE(parse_retry_after("Sun, 06 Xyz 1994 08:50:07 GMT", now));
}

TEST(RetryPolicyTest, DecisionHonoursRetryAfterCappedAndTheBudget) {
  RetryPolicy policy;
  policy.max_retries = 2;
  policy.backoff_base = 100ms;
  policy.max_retry_after = 5s;
  auto now = std::chrono::system_clock::now();

  AttemptResult limited = status(429);
  limited.retry_after = "3";
  RetryDecision first = decide_retry(limited, 1, policy, 0.5, now);
  EXPECT_TRUE(first.retry);
  EXPECT_EQ(first.delay, 3s);
  EXPECT_EQ(first.reason, "HTTP 429");

  limited.retry_after = "3600";
  EXPECT_EQ(decide_retry(limited, 1, policy, 0.5, now).delay, 5s);

  limited.retry_after = "garbage";  // falls back to the backoff
  EXPECT_EQ(decide_retry(limited, 2, policy, 0.5, now).delay, 100ms);

  EXPECT_FALSE(decide_retry(limited, 3, policy, 0.5, now).retry);  // 3 attempts = 1 + max_retries
  RetryDecision refused = decide_retry(status(404), 1, policy, 0.5, now);
  EXPECT_FALSE(refused.retry);
  EXPECT_EQ(refused.reason, "HTTP 404");
  EXPECT_EQ(decide_retry(failure(TransportFailure::NotSent), 1, policy, 0.5, now).reason, "connection failed");
}

// --- token bucket ---

TEST(TokenBucketTest, SpacesRequestsAtTheRateAfterTheBurst) {
  TokenBucket::Clock::time_point start{};
  TokenBucket bucket(10.0, 2.0, start);  // 10 a second, 2 back to back
  EXPECT_EQ(bucket.try_acquire(start).count(), 0);
  EXPECT_EQ(bucket.try_acquire(start).count(), 0);
  auto wait = bucket.try_acquire(start);
  EXPECT_NEAR(std::chrono::duration<double>(wait).count(), 0.1, 1e-6);
  EXPECT_GT(bucket.try_acquire(start + 50ms).count(), 0);   // half a token is not enough
  EXPECT_EQ(bucket.try_acquire(start + 100ms).count(), 0);  // one token refilled
  EXPECT_GT(bucket.try_acquire(start + 100ms).count(), 0);
  // After a long pause the bucket holds at most the burst.
  EXPECT_EQ(bucket.try_acquire(start + 10s).count(), 0);
  EXPECT_EQ(bucket.try_acquire(start + 10s).count(), 0);
  EXPECT_GT(bucket.try_acquire(start + 10s).count(), 0);
}

TEST(TokenBucketTest, ZeroRateIsUnlimitedAndClockGoingBackIsHarmless) {
  TokenBucket::Clock::time_point start{};
  TokenBucket unlimited(0, 1, start);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(unlimited.try_acquire(start).count(), 0);
  TokenBucket bucket(1.0, 1.0, start + 10s);
  EXPECT_EQ(bucket.try_acquire(start + 10s).count(), 0);
  EXPECT_GT(bucket.try_acquire(start).count(), 0);
}

// --- forms ---

TEST(Form, EncodesLikeOAuthServersExpect) {
  EXPECT_EQ(percent_encode("a b/c+d~e_f.g-h"), "a%20b%2Fc%2Bd~e_f.g-h");
  EXPECT_EQ(form_encode({{"grant_type", "client_credentials"}, {"scope", "https://org.crm.dynamics.com/.default"}}),
            "grant_type=client_credentials&scope=https%3A%2F%2Forg.crm.dynamics.com%2F.default");
  EXPECT_EQ(percent_encode("\xC3\xA9"), "%C3%A9");
}

TEST(HeadersTest, CaseInsensitiveLookupAndSet) {
  Headers headers{{"Content-Type", "text/plain"}, {"retry-after", "5"}};
  EXPECT_EQ(headers.get("content-type"), "text/plain");
  EXPECT_EQ(headers.get("Retry-After"), "5");
  EXPECT_FALSE(headers.get("Authorization"));
  headers.set("CONTENT-TYPE", "application/json");
  EXPECT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers.get("Content-Type"), "application/json");
  EXPECT_TRUE(is_idempotent(Method::Put));
  EXPECT_FALSE(is_idempotent(Method::Patch));
}

}  // namespace
}  // namespace rapport::http
