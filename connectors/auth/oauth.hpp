#pragma once
// OAuth 2.0 token endpoints: client credentials (Salesforce, Microsoft identity platform for
// Dynamics 365) and refresh tokens (Salesforce).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "connectors/auth/secret.hpp"
#include "connectors/auth/token_provider.hpp"
#include "connectors/http/client.hpp"

namespace rapport::auth {

/// `https://ACME.my.salesforce.com` -> `https://ACME.my.salesforce.com/services/oauth2/token`.
std::string salesforce_token_url(std::string_view org_url);
/// The Microsoft identity platform's v2.0 token endpoint of a tenant (id or domain).
std::string microsoft_token_url(std::string_view tenant);
/// `https://ORG.crm.dynamics.com` (or just the host) -> `https://ORG.crm.dynamics.com/.default`.
std::string dynamics_scope(std::string_view org_url);

/// The client-credentials grant (RFC 6749 §4.4) with the secret in the form body.
struct ClientCredentialsConfig {
  std::string token_url;
  std::string client_id;
  Secret client_secret;
  std::string scope;  // Microsoft: https://ORG/.default; Salesforce: empty
  /// Lifetime assumed when the response has no expires_in (Salesforce sends none).
  std::chrono::seconds assumed_lifetime{std::chrono::minutes(30)};
};

/// The refresh-token grant (RFC 6749 §6), as Salesforce connected apps use it.
struct RefreshTokenConfig {
  std::string token_url;
  std::string client_id;
  std::optional<Secret> client_secret;  // optional for public clients
  Secret refresh_token;
  std::chrono::seconds assumed_lifetime{std::chrono::minutes(30)};
};

/// Tokens from the client-credentials grant.
class OAuthClientCredentials : public TokenProvider {
 public:
  /// `client` carries the token requests; it must outlive the provider. When workers on other
  /// threads share the provider, `client` must be its own: a Client is driven by one thread at a
  /// time, and the provider uses it from whichever worker needs a token (one at a time).
  OAuthClientCredentials(http::Client& client, ClientCredentialsConfig config);

 protected:
  AccessToken fetch() override;

 private:
  http::Client& client_;
  ClientCredentialsConfig config_;
};

/// Tokens from the refresh-token grant. A rotated refresh token in the response is kept (in memory).
class OAuthRefreshToken : public TokenProvider {
 public:
  OAuthRefreshToken(http::Client& client, RefreshTokenConfig config);

 protected:
  AccessToken fetch() override;

 private:
  http::Client& client_;
  RefreshTokenConfig config_;
};

}  // namespace rapport::auth
