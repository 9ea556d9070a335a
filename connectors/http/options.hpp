#pragma once
// How a Client talks to one source: timeouts, TLS, retries, limits.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "connectors/http/retry_policy.hpp"

namespace rapport::http {

struct AttemptEvent;
class TokenBucket;

/// Settings of one Client, normally one per CRM source. The defaults suit a production CRM API.
struct ClientOptions {
  /// Time to establish the TCP (and TLS) connection.
  std::chrono::milliseconds connect_timeout{10'000};
  /// Time for the whole exchange, body included; a Request may override it.
  std::chrono::milliseconds total_timeout{120'000};
  /// A transfer slower than low_speed_limit bytes/s for low_speed_time is abandoned (0 = off).
  long low_speed_limit = 1;
  std::chrono::seconds low_speed_time{60};

  /// TLS peer and host verification; turning it off is for test rigs only.
  bool verify_tls = true;
  /// A PEM file of trusted CAs instead of the system store.
  std::optional<std::string> ca_bundle;
  /// Offer HTTP/2 over TLS (ALPN); plain http stays HTTP/1.1.
  bool http2 = true;
  /// Proxy settings: unset means libcurl's environment variables (https_proxy, no_proxy, ...).
  std::optional<std::string> proxy;
  std::optional<std::string> no_proxy;

  /// Retries, backoff and Retry-After handling.
  RetryPolicy retry;
  /// Seed of the jitter; unset seeds from std::random_device. Tests fix it.
  std::optional<std::uint64_t> jitter_seed;

  /// Requests started a second, across retries and concurrent requests (0 = unlimited).
  double requests_per_second = 0;
  /// How many requests may start back to back before the rate applies.
  double rate_burst = 1;
  /// Requests in flight at once in Client::send_all.
  int max_concurrency = 4;
  /// A bucket shared with other Clients, used instead of one of requests_per_second and
  /// rate_burst; set by share_rate_limit().
  std::shared_ptr<TokenBucket> shared_rate_limit;

  /// Largest response body accepted; a larger one fails the request instead of exhausting memory.
  std::size_t max_body_bytes = std::size_t{512} << 20;
  std::string user_agent = "rapport/0.1";

  /// Called after every attempt (for progress, journals and tests); sees only redacted URLs.
  /// Clients built from copies of these options call it from their own threads, maybe at once.
  std::function<void(const AttemptEvent&)> on_attempt;
};

/// Makes every Client built from (copies of) `options` from now on draw from one token bucket of
/// its requests_per_second and rate_burst, so concurrent workers together keep the source's rate.
void share_rate_limit(ClientOptions& options);

}  // namespace rapport::http
