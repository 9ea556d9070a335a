#pragma once
// Requests with an Authorization header, refreshed once when a server refuses the token.

#include "connectors/auth/token_provider.hpp"
#include "connectors/http/client.hpp"

namespace rapport::auth {

/// True for a 401 that refuses the access token: Salesforce's INVALID_SESSION_ID, HubSpot's 401
/// (EXPIRED_AUTHENTICATION, INVALID_AUTHENTICATION), a `WWW-Authenticate: Bearer
/// error="invalid_token"` (Dynamics 365) or a bare 401. A challenge naming another error
/// (insufficient_scope, invalid_request) is not a token problem and is not retried.
bool is_token_rejected(const http::Response& response);

/// Sends requests of one source with its token. Neither the client nor the provider is owned.
/// Like its Client, driven by one thread at a time; concurrent workers each have their own
/// AuthenticatedClient and Client, sharing one TokenProvider.
class AuthenticatedClient {
 public:
  AuthenticatedClient(http::Client& client, TokenProvider& tokens) : client_(client), tokens_(tokens) {}

  /// Sends with "Authorization: Bearer ..."; when the token is refused, obtains a new one and
  /// sends once more. Returns the final response whatever its status; throws HttpError when no
  /// response arrived and AuthError when no token could be obtained.
  http::Response send(http::Request request);

  /// send(), and an HttpError for a final status of 400 or more.
  http::Response perform(http::Request request);

  [[nodiscard]] http::Client& client() { return client_; }
  [[nodiscard]] TokenProvider& tokens() { return tokens_; }

 private:
  http::Client& client_;
  TokenProvider& tokens_;
};

}  // namespace rapport::auth
