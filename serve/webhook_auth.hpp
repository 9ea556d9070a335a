#pragma once
// Authentication of callers and of CRM webhooks: API keys, HubSpot's v3 request signature,
// Dataverse's shared key, Salesforce's bearer token, and a memory of events already seen so a
// replayed delivery is refused. Comparisons of secrets take constant time.

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "connectors/auth/secret.hpp"
#include "serve/config.hpp"
#include "serve/http_server.hpp"

namespace rapport::serve {

/// base64(HMAC-SHA256(key, message)).
std::string hmac_sha256_base64(std::string_view key, std::string_view message);
/// Hex SHA-256 of `data` (replay keys for deliveries without an event id).
std::string sha256_hex(std::string_view data);
/// True when equal, in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

/// The caller's key, from `Authorization: Bearer KEY` or `X-API-Key: KEY`; a 401 response when it
/// is missing or matches none of `keys` (no keys configured: everyone is let in).
std::optional<Response> check_api_key(const Request& request, const std::vector<auth::Secret>& keys);

/// HubSpot v3: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client secret, method + uri + body +
/// timestamp)) with `X-HubSpot-Request-Timestamp` (milliseconds) at most `max_age` old. `uri` is
/// the full URL HubSpot posted to. A 401 response when the signature is missing, wrong or stale.
std::optional<Response> check_hubspot_signature(const Request& request, const HubspotWebhook& hubspot, std::string_view uri,
                                                double now_unix_seconds);
/// Dataverse service endpoint: the configured header (or query-string key) carries the value.
std::optional<Response> check_dynamics_key(const Request& request, const DynamicsWebhook& dynamics);
/// Salesforce Named Credential: `Authorization: Bearer TOKEN`.
std::optional<Response> check_salesforce_bearer(const Request& request, const SalesforceWebhook& salesforce);

/// Keys (event ids, signatures) seen within a window. Thread-safe.
class ReplayGuard {
 public:
  explicit ReplayGuard(double window_seconds) : window_(window_seconds) {}
  /// True when `key` was seen within the window; otherwise remembers it and returns false.
  bool seen(const std::string& key, double now_unix_seconds);
  /// Remembers all of `keys` unless one was seen; returns the first seen one.
  std::optional<std::string> seen_any(const std::vector<std::string>& keys, double now_unix_seconds);

 private:
  void expire(double now);
  double window_;
  std::mutex mutex_;
  std::deque<std::pair<double, std::string>> order_;
  std::unordered_set<std::string> keys_;
};

}  // namespace rapport::serve
