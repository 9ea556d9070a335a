#include "serve/webhook_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cmath>

namespace rapport::serve {

std::string hmac_sha256_base64(std::string_view key, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), digest, &length);
  std::string out(4 * ((length + 2) / 3), '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), digest, static_cast<int>(length));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : digest) {
    out += hex[byte >> 4];
    out += hex[byte & 15];
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {

/// The token of `Authorization: Bearer TOKEN`, or "".
std::string bearer_token(const Request& request) {
  std::string value = request.header("authorization");
  constexpr std::string_view prefix = "Bearer ";
  if (value.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), value.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      })) {
    return value.substr(prefix.size());
  }
  return "";
}

Response unauthorized(std::string_view code, std::string_view message, std::string_view scheme = "") {
  Response response = json_error(401, code, message);
  if (!scheme.empty()) response.headers.emplace_back("WWW-Authenticate", std::string(scheme));
  return response;
}

}  // namespace

std::optional<Response> check_api_key(const Request& request, const std::vector<auth::Secret>& keys) {
  if (keys.empty()) return std::nullopt;
  std::string given = bearer_token(request);
  if (given.empty()) given = request.header("x-api-key");
  if (given.empty()) {
    return unauthorized("unauthenticated", "this endpoint needs an API key: `Authorization: Bearer KEY` or `X-API-Key: KEY`",
                        "Bearer realm=\"rapport\"");
  }
  bool match = false;
  for (const auto& key : keys) match = constant_time_equal(given, key.reveal()) || match;
  if (!match) return unauthorized("invalid_api_key", "the API key is not one this server accepts", "Bearer realm=\"rapport\"");
  return std::nullopt;
}

std::optional<Response> check_hubspot_signature(const Request& request, const HubspotWebhook& hubspot, std::string_view uri,
                                                double now_unix_seconds) {
  const std::string signature = request.header("x-hubspot-signature-v3");
  const std::string timestamp = request.header("x-hubspot-request-timestamp");
  if (signature.empty() || timestamp.empty()) {
    return unauthorized("missing_signature", "a HubSpot webhook needs X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp");
  }
  double millis = 0;
  try {
    std::size_t used = 0;
    millis = std::stod(timestamp, &used);
    if (used != timestamp.size()) throw std::invalid_argument("trailing text");
    // "nan" and "inf" parse as numbers, and a NaN age would pass the window check below.
    if (!std::isfinite(millis)) throw std::invalid_argument("not a finite number");
  } catch (const std::exception&) {
    return unauthorized("invalid_timestamp", "X-HubSpot-Request-Timestamp must be milliseconds since the epoch");
  }
  double age = now_unix_seconds - millis / 1000.0;
  if (std::fabs(age) > hubspot.max_age_seconds) {
    return unauthorized("stale_timestamp", "the request's timestamp is " + std::to_string(static_cast<long long>(age)) +
                                               " s from now; HubSpot webhooks older than " +
                                               std::to_string(static_cast<long long>(hubspot.max_age_seconds)) + " s are refused");
  }
  std::string signed_text = request.method + std::string(uri) + request.body + timestamp;
  if (!constant_time_equal(signature, hmac_sha256_base64(hubspot.client_secret.reveal(), signed_text))) {
    return unauthorized("invalid_signature", "X-HubSpot-Signature-v3 does not match the request");
  }
  return std::nullopt;
}

std::optional<Response> check_dynamics_key(const Request& request, const DynamicsWebhook& dynamics) {
  std::string given;
  if (dynamics.query_string) {
    if (auto it = request.query.find(dynamics.header); it != request.query.end()) given = it->second;
  } else {
    given = request.header(dynamics.header);
  }
  if (given.empty()) {
    return unauthorized("missing_key", "a Dataverse webhook needs the " + std::string(dynamics.query_string ? "query key `" : "header `") +
                                           dynamics.header + "` configured on its service endpoint");
  }
  if (!constant_time_equal(given, dynamics.value.reveal())) return unauthorized("invalid_key", "the webhook key does not match");
  return std::nullopt;
}

std::optional<Response> check_salesforce_bearer(const Request& request, const SalesforceWebhook& salesforce) {
  std::string given = bearer_token(request);
  if (given.empty()) {
    return unauthorized("unauthenticated", "a Salesforce webhook needs `Authorization: Bearer TOKEN` (the Named Credential's)",
                        "Bearer realm=\"rapport\"");
  }
  if (!constant_time_equal(given, salesforce.bearer.reveal())) {
    return unauthorized("invalid_token", "the bearer token does not match", "Bearer realm=\"rapport\"");
  }
  return std::nullopt;
}

void ReplayGuard::expire(double now) {
  while (!order_.empty() && order_.front().first < now - window_) {
    keys_.erase(order_.front().second);
    order_.pop_front();
  }
}

bool ReplayGuard::seen(const std::string& key, double now) {
  return seen_any({key}, now).has_value();
}

std::optional<std::string> ReplayGuard::seen_any(const std::vector<std::string>& keys, double now) {
  std::lock_guard lock(mutex_);
  expire(now);
  for (const auto& key : keys) {
    if (keys_.count(key)) return key;
  }
  for (const auto& key : keys) {
    if (keys_.insert(key).second) order_.emplace_back(now, key);
  }
  return std::nullopt;
}

}  // namespace rapport::serve
