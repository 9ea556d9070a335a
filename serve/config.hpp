#pragma once
// serve.yaml: what `rapport serve` listens on, the packs and data its snapshot holds, how callers
// and CRM webhooks authenticate, and its limits (docs/serve.md). Paths are relative to the file's
// folder; secrets are references (env:NAME or file:/path), resolved here and never printed.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "connectors/auth/secret.hpp"
#include "connectors/http/options.hpp"
#include "diag/diagnostic.hpp"
#include "nightly/config.hpp"

namespace rapport::serve {

enum class LogFormat { Text, Json };

/// Verification of one vendor's change notifications; the endpoint answers only when it is set.
struct HubspotWebhook {
  auth::Secret client_secret;  // the app's client secret: key of the v3 signature
  double max_age_seconds = 300;  // older X-HubSpot-Request-Timestamp values are refused
};
struct DynamicsWebhook {
  std::string header = "x-rapport-key";  // the header (HttpHeader auth) or query key (HttpQueryString)
  bool query_string = false;
  auth::Secret value;
};
struct SalesforceWebhook {
  auth::Secret bearer;  // the Named Credential's token, sent as `Authorization: Bearer ...`
};

/// The CRM client settings of write-back: 5 s to connect, 10 s per request, two retries after
/// 0.2 s and 0.4 s (at most about 30 s per change when the CRM hangs; docs/serve.md).
http::ClientOptions writeback_client_options();

struct Config {
  std::string path;  // the serve.yaml
  std::string address = "127.0.0.1";
  int port = 8080;
  /// The URL callers and vendors use (`https://rapport.example.com`), for the HubSpot signature
  /// behind a reverse proxy; empty: `http://<Host header>`.
  std::string public_url;
  unsigned threads = 2;
  std::size_t max_body_bytes = 1 << 20;
  double read_timeout_seconds = 10;
  double write_timeout_seconds = 10;
  std::size_t max_in_flight = 32;  // evaluating requests at once; more get 503
  LogFormat log_format = LogFormat::Text;

  std::string data_dir;
  std::string source_file;  // a CRM source (connectors/source): fetched at every (re)load instead of `data`
  std::vector<std::string> packs;
  std::vector<std::string> param_files;
  std::vector<std::string> sets;  // name=value
  std::optional<std::string> as_of;   // fixed evaluation time; nullopt: now, moved on by refreshes
  double refresh_seconds = 0;         // reload data and packs this often (0: never)
  bool watch = true;                  // reload when a pack or parameter file changes
  double watch_interval_seconds = 2;

  std::vector<auth::Secret> api_keys;  // none: the API endpoints are open (loopback use)
  std::optional<HubspotWebhook> hubspot;
  std::optional<DynamicsWebhook> dynamics;
  std::optional<SalesforceWebhook> salesforce;
  double replay_window_seconds = 300;  // event ids and signatures remembered this long

  /// What a webhook's new findings write back to the CRM: the `writeback:` section, read as in
  /// nightly.yaml. `source` is required unless the mode is off; an empty journal means
  /// writeback::default_journal_path().
  nightly::Writeback writeback;
  /// How write-back talks to the CRM (not in serve.yaml): it runs on the webhook's worker thread,
  /// so retries are fewer and shorter than a nightly run's (see writeback_client_options()).
  http::ClientOptions writeback_client = writeback_client_options();
};

/// Reads and validates a serve.yaml; every mistake is reported at file:line:col with a hint.
std::optional<Config> load_config(const std::string& path, diag::DiagnosticSink& sink);

}  // namespace rapport::serve
