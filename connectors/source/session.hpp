#pragma once
// An authenticated connection to one CRM source: the transport, the token provider its kind
// needs and the client that adds the token. `rapport fetch` reads through it, `rapport apply`
// writes through it, so credentials are set up in one place.

#include <memory>
#include <optional>

#include "connectors/auth/authenticated_client.hpp"
#include "connectors/http/options.hpp"
#include "connectors/mapping/mapping.hpp"
#include "connectors/source/source_config.hpp"

namespace rapport::source {

/// Owns what an AuthenticatedClient refers to; movable, not copyable.
struct Session {
  std::unique_ptr<http::Client> http;
  std::unique_ptr<auth::TokenProvider> tokens;
  std::unique_ptr<auth::AuthenticatedClient> client;
};

/// The session of a Salesforce, Dynamics or HubSpot source: OAuth client credentials or refresh
/// token (Salesforce), client credentials against Microsoft's identity platform (Dynamics), the
/// private app's bearer token (HubSpot). Secrets are resolved now: throws auth::SecretError when
/// one is missing, std::invalid_argument for a `files` source. No request is sent yet.
Session open_session(const SourceConfig& config, const http::ClientOptions& options);

/// The mapping of a source: its kind's defaults with the source's `mapping:` file applied;
/// nullopt (mistakes reported to `sink`) when that file has errors. A files source maps nothing
/// and gets the Salesforce defaults, unused.
std::optional<mapping::Mapping> load_mapping(const SourceConfig& config, diag::DiagnosticSink& sink);

}  // namespace rapport::source
