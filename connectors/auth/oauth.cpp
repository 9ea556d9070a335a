#include "connectors/auth/oauth.hpp"

#include <boost/json.hpp>

#include "connectors/http/form.hpp"
#include "connectors/http/redact.hpp"
#include "connectors/http/vendor_error.hpp"

namespace rapport::auth {
namespace {

namespace json = boost::json;

std::string without_trailing_slash(std::string_view url) {
  while (url.ends_with('/')) url.remove_suffix(1);
  return std::string(url);
}

// What a token exchange learned, secrets still attached so callers can scrub them.
struct Exchange {
  std::string token_url;
  std::vector<std::pair<std::string, std::string>> form;
  std::vector<std::string> secrets;  // values that must never appear in an error
  std::chrono::seconds assumed_lifetime;
};

std::string scrub_all(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) text = http::scrub(std::move(text), secret);
  return text;
}

[[noreturn]] void fail(http::HttpErrorDetails details, const std::string& reason, const Exchange& exchange) {
  details.vendor_message = scrub_all(details.vendor_message, exchange.secrets);
  details.curl_error = scrub_all(details.curl_error, exchange.secrets);
  std::string what = "cannot obtain an access token from " + http::redact_url(exchange.token_url) + ": " + reason;
  throw AuthError(std::move(details), scrub_all(what, exchange.secrets));
}

std::optional<long long> seconds_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64()) return static_cast<long long>(value->get_uint64());
  if (value->is_double()) return static_cast<long long>(value->get_double());
  if (value->is_string()) {
    try {
      return std::stoll(std::string(value->get_string()));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string string_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : std::string();
}

// Posts the form to the token endpoint and reads the token from the JSON answer.
AccessToken exchange_token(http::Client& client, const Exchange& exchange, Clock::time_point now,
                           std::string* rotated_refresh_token) {
  http::Request request;
  request.method = http::Method::Post;
  request.url = exchange.token_url;
  request.headers.add("Content-Type", "application/x-www-form-urlencoded");
  request.headers.add("Accept", "application/json");
  request.body = http::form_encode(exchange.form);
  request.idempotent = true;  // asking for a token twice does no harm

  http::Response response;
  try {
    response = client.send(request);
  } catch (const http::HttpError& error) {
    fail(error.details(), error.what(), exchange);
  }
  if (response.status != 200) {
    http::HttpErrorDetails details = http::status_error(request, response).details();
    fail(details, http::describe(details), exchange);
  }

  http::HttpErrorDetails details;
  details.method = request.method;
  details.redacted_url = http::redact_url(request.url);
  details.status = response.status;
  details.attempts = response.attempts;
  boost::system::error_code parse_error;
  json::value body = json::parse(response.body, parse_error);
  if (parse_error || !body.is_object()) fail(details, "the token response is not a JSON object", exchange);
  const json::object& object = body.get_object();
  std::string access_token = string_field(object, "access_token");
  if (access_token.empty()) fail(details, "the token response has no access_token", exchange);

  AccessToken token;
  token.value = Secret::from_value(std::move(access_token), "token endpoint");
  std::string type = string_field(object, "token_type");
  if (!type.empty() && !http::header_name_equals(type, "Bearer")) token.type = type;
  token.instance_url = string_field(object, "instance_url");
  std::optional<long long> expires_in = seconds_field(object, "expires_in");
  token.expires_at = now + (expires_in && *expires_in > 0 ? std::chrono::seconds(*expires_in) : exchange.assumed_lifetime);
  if (rotated_refresh_token != nullptr) *rotated_refresh_token = string_field(object, "refresh_token");
  return token;
}

}  // namespace

std::string salesforce_token_url(std::string_view org_url) {
  return without_trailing_slash(org_url) + "/services/oauth2/token";
}

std::string microsoft_token_url(std::string_view tenant) {
  return "https://login.microsoftonline.com/" + http::percent_encode(tenant) + "/oauth2/v2.0/token";
}

std::string dynamics_scope(std::string_view org_url) {
  std::string base = without_trailing_slash(org_url);
  if (base.find("://") == std::string::npos) base = "https://" + base;
  return base + "/.default";
}

OAuthClientCredentials::OAuthClientCredentials(http::Client& client, ClientCredentialsConfig config)
    : client_(client), config_(std::move(config)) {}

AccessToken OAuthClientCredentials::fetch() {
  Exchange exchange;
  exchange.token_url = config_.token_url;
  exchange.form = {{"grant_type", "client_credentials"},
                   {"client_id", config_.client_id},
                   {"client_secret", config_.client_secret.reveal()}};
  if (!config_.scope.empty()) exchange.form.emplace_back("scope", config_.scope);
  exchange.secrets = {config_.client_secret.reveal(), http::percent_encode(config_.client_secret.reveal())};
  exchange.assumed_lifetime = config_.assumed_lifetime;
  return exchange_token(client_, exchange, now(), nullptr);
}

OAuthRefreshToken::OAuthRefreshToken(http::Client& client, RefreshTokenConfig config)
    : client_(client), config_(std::move(config)) {}

AccessToken OAuthRefreshToken::fetch() {
  Exchange exchange;
  exchange.token_url = config_.token_url;
  exchange.form = {{"grant_type", "refresh_token"},
                   {"refresh_token", config_.refresh_token.reveal()},
                   {"client_id", config_.client_id}};
  exchange.secrets = {config_.refresh_token.reveal(), http::percent_encode(config_.refresh_token.reveal())};
  if (config_.client_secret) {
    exchange.form.emplace_back("client_secret", config_.client_secret->reveal());
    exchange.secrets.push_back(config_.client_secret->reveal());
    exchange.secrets.push_back(http::percent_encode(config_.client_secret->reveal()));
  }
  exchange.assumed_lifetime = config_.assumed_lifetime;
  std::string rotated;
  AccessToken token = exchange_token(client_, exchange, now(), &rotated);
  if (!rotated.empty()) config_.refresh_token = Secret::from_value(std::move(rotated), "token endpoint");
  return token;
}

}  // namespace rapport::auth
