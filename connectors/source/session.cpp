#include "connectors/source/session.hpp"

#include <stdexcept>

#include "connectors/auth/oauth.hpp"
#include "connectors/auth/secret.hpp"

namespace rapport::source {

namespace {

std::unique_ptr<auth::TokenProvider> token_provider(const SourceConfig& config, http::Client& client) {
  const AuthConfig& a = *config.auth;
  switch (config.kind) {
    case Kind::Hubspot: return std::make_unique<auth::StaticBearer>(*a.token);
    case Kind::Dynamics: {
      auth::ClientCredentialsConfig credentials{a.token_url ? *a.token_url : auth::microsoft_token_url(config.tenant),
                                                auth::Secret::resolve(a.client_id).reveal(),
                                                auth::Secret::resolve(a.client_secret),
                                                auth::dynamics_scope(config.instance), std::chrono::minutes(30)};
      return std::make_unique<auth::OAuthClientCredentials>(client, std::move(credentials));
    }
    case Kind::Salesforce: {
      std::string token_url = a.token_url ? *a.token_url : auth::salesforce_token_url(config.instance);
      std::string client_id = auth::Secret::resolve(a.client_id).reveal();
      if (a.refresh_token) {
        auth::RefreshTokenConfig c{token_url, client_id, auth::Secret::resolve(a.client_secret),
                                   auth::Secret::resolve(*a.refresh_token), std::chrono::minutes(30)};
        return std::make_unique<auth::OAuthRefreshToken>(client, std::move(c));
      }
      auth::ClientCredentialsConfig c{token_url, client_id, auth::Secret::resolve(a.client_secret), "",
                                      std::chrono::minutes(30)};
      return std::make_unique<auth::OAuthClientCredentials>(client, std::move(c));
    }
    case Kind::Files: break;
  }
  throw std::invalid_argument("a files source has no CRM session");
}

}  // namespace

Session open_session(const SourceConfig& config, const http::ClientOptions& options) {
  if (config.kind == Kind::Files || !config.auth) throw std::invalid_argument("a files source has no CRM session");
  Session session;
  session.http = std::make_unique<http::Client>(options);
  session.tokens = token_provider(config, *session.http);
  session.client = std::make_unique<auth::AuthenticatedClient>(*session.http, *session.tokens);
  return session;
}

std::optional<mapping::Mapping> load_mapping(const SourceConfig& config, diag::DiagnosticSink& sink) {
  mapping::Mapping mapping = config.kind == Kind::Dynamics  ? mapping::dynamics_default()
                             : config.kind == Kind::Hubspot ? mapping::hubspot_default()
                                                            : mapping::salesforce_default();
  if (config.kind != Kind::Files && config.mapping && !mapping::apply_mapping_file(*config.mapping, mapping, sink)) {
    return std::nullopt;
  }
  return mapping;
}

}  // namespace rapport::source
