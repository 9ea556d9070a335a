#pragma once
// When a failed attempt is tried again, and after how long. Pure functions: no clock, no RNG.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rapport::http {

/// How an attempt failed below HTTP (None when a response arrived, whatever its status).
enum class TransportFailure {
  None,
  NotSent,         // name resolution or connection failed: the server never saw the request
  Timeout,         // connected, then the total or low-speed timeout struck
  ConnectionLost,  // reset, closed early, truncated body: the server may have acted on it
  Tls,             // certificate or handshake problem: retrying will not help
  Other,           // bad URL, body too large, out of memory, ...
};

std::string_view failure_name(TransportFailure failure);

struct RetryPolicy {
  /// Retries after the first attempt (so at most max_retries + 1 attempts).
  int max_retries = 4;
  /// Backoff before retry n (0-based) is uniform in [0, min(cap, base * 2^n)]: "full jitter".
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_cap{30'000};
  /// A server's Retry-After is obeyed up to this long.
  std::chrono::milliseconds max_retry_after{120'000};
};

/// What one attempt produced, as far as the retry decision cares.
struct AttemptResult {
  TransportFailure failure = TransportFailure::None;
  long status = 0;                              // when failure == None
  std::string_view body;                        // the response body, for vendor error codes
  std::optional<std::string_view> retry_after;  // the Retry-After header
  bool may_repeat = true;                       // idempotent method or the caller's promise
};

struct RetryDecision {
  bool retry = false;
  std::chrono::milliseconds delay{0};
  std::string reason;  // "HTTP 503", "connection failed", "REQUEST_LIMIT_EXCEEDED", ... (also when not retrying)
};

/// Whether the outcome is worth another attempt, ignoring the attempt budget: connection
/// failures, timeouts, 429, 500/502/503/504 and Salesforce's 403 REQUEST_LIMIT_EXCEEDED.
/// A request that must not be repeated is retried only when it was never sent.
bool is_retryable(const AttemptResult& result);

/// Full-jitter exponential backoff for retry number `retry_index` (0 = the first retry);
/// `jitter_fraction` is a uniform draw from [0, 1).
std::chrono::milliseconds backoff_delay(int retry_index, const RetryPolicy& policy, double jitter_fraction);

/// A Retry-After value, either delay-seconds or an HTTP-date (IMF-fixdate), as a wait from `now`.
/// Unparseable values give nullopt; dates in the past give zero.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

/// The whole decision after `attempts_made` attempts: retry or not, and the wait first.
/// A usable Retry-After replaces the backoff (capped at max_retry_after).
RetryDecision decide_retry(const AttemptResult& result, int attempts_made, const RetryPolicy& policy,
                           double jitter_fraction, std::chrono::system_clock::time_point now);

}  // namespace rapport::http
