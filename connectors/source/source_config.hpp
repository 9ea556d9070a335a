#pragma once
// `source.yaml`: where a deployment's CRM data comes from, validated with positions. Secrets are
// only ever references (env:NAME, file:/path); an inline secret is refused without echoing it.

#include <optional>
#include <string>
#include <vector>

#include "diag/diagnostic.hpp"

namespace rapport::source {

enum class Kind { Salesforce, Files, Dynamics, Hubspot };

/// Queries of one source in flight at once (`concurrency:`): the default and the most allowed.
inline constexpr int kDefaultConcurrency = 4;
inline constexpr int kMaxConcurrency = 16;

/// OAuth settings; every credential is a reference, resolved only when fetching.
struct AuthConfig {
  std::string client_id;      // env:NAME or file:/path
  std::string client_secret;  // env:NAME or file:/path
  std::optional<std::string> refresh_token;  // present: the refresh-token grant
  std::optional<std::string> token_url;      // default: {instance}/services/oauth2/token (Dynamics: Microsoft's, of `tenant`)
  std::optional<std::string> token;          // HubSpot: the private app's access token (client_id, client_secret unused)
};

struct SourceConfig {
  std::string path;  // of the source.yaml itself
  Kind kind = Kind::Salesforce;
  std::string instance;        // Salesforce: https://ACME.my.salesforce.com; Dynamics (`org`): https://ORG.crm.dynamics.com
                               // HubSpot (`base_url`): https://api.hubapi.com
  std::string tenant;          // Dynamics: the Microsoft Entra tenant (id or domain) of the token endpoint
  int page_size = 0;           // Dynamics: `Prefer: odata.maxpagesize`; 0 = the dialect's default
  int concurrency = kDefaultConcurrency;  // CRM sources: vendor objects fetched at once
  std::string api_version = "v59.0";
  std::optional<AuthConfig> auth;
  std::optional<std::string> mapping;  // resolved against the source file's folder
  std::string files_path;              // files: the folder of canonical files
  std::vector<std::string> objects;    // canonical entity names
  std::optional<std::string> modified_since;  // canonical UTC timestamp
};

/// Reads and validates a source file; nullopt (with diagnostics) when it has errors.
std::optional<SourceConfig> load_source(const std::string& path, diag::DiagnosticSink& sink);

/// The entities a kind can fetch.
std::vector<std::string> fetchable_entities(Kind kind);

}  // namespace rapport::source
