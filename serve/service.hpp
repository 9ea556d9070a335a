#pragma once
// What `rapport serve` answers: the live snapshot of findings (engine/live.hpp), what-if
// questions against it, CRM webhooks that change it, record checks, health, metrics and the
// OpenAPI document, plus hot reload of packs, parameters and data. The snapshot is swapped
// atomically: a request keeps the snapshot it started with, and no request waits for a reload.

#include <boost/json.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connectors/mapping/mapping.hpp"
#include "engine/live.hpp"
#include "serve/config.hpp"
#include "serve/http_server.hpp"
#include "serve/metrics.hpp"
#include "serve/webhook_auth.hpp"
#include "serve/writeback.hpp"

namespace rapport::nightly {
class Directory;
}

namespace rapport::serve {

/// Compiling packs and loading data, supplied by the composition root (the CLI's pipeline), so
/// this library needs no command-line code.
class Backend {
 public:
  virtual ~Backend() = default;

  struct Loaded {
    std::shared_ptr<const engine::LiveSnapshot> snapshot;  // null when something failed
    std::size_t records = 0;
    std::string diagnostics_json = "[]";  // errors and warnings, diag::render_json
    std::string diagnostics_text;         // the same, rendered for the log
  };
  /// Compiles the configured packs with their parameters and loads the data, evaluated at `as_of`.
  virtual Loaded load(double as_of) = 0;

  struct Checked {
    int status = 200;
    std::string body;  // a rapport.findings/1 report, or an error body
  };
  /// Evaluates the rules (of the packs named, or all) that need only `records` (entity -> list of
  /// canonical records) at `as_of`.
  virtual Checked check(const boost::json::object& records, const std::vector<std::string>& packs, double as_of) = 0;

  /// Files (or folders) whose change means a reload: rule packs and parameter files.
  virtual std::vector<std::string> watched_paths() = 0;
};

class Service {
 public:
  Service(Config config, std::unique_ptr<Backend> backend, std::string rapport_version);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  /// Builds a new snapshot from the packs and data; on success it is served from now on, on
  /// failure the running one keeps serving and /readyz shows the diagnostics. Serialised.
  bool reload(const std::string& trigger);
  /// Starts the file watcher and the scheduled refresh (as configured).
  void start_background();
  /// Stops them.
  void stop_background();

  /// Every endpoint, for the Server (and for the test that compares them with the OpenAPI document).
  [[nodiscard]] Router router();
  [[nodiscard]] Metrics& metrics() { return metrics_; }
  [[nodiscard]] const AccessLog& log() const { return log_; }
  [[nodiscard]] const Config& config() const { return config_; }

 private:
  struct State;
  std::shared_ptr<const State> state() const { return state_.load(); }
  void publish(std::shared_ptr<const engine::LiveSnapshot> snapshot, std::size_t records);
  double evaluation_time() const;

  Response check(const Request& request);
  Response what_if(const Request& request);
  Response findings(const Request& request);
  Response webhook(const Request& request, const std::string& vendor);
  Response readyz(const Request& request) const;
  /// The effect as JSON: `extra` members first (each followed by ", "), `more` members last
  /// (each preceded by ", ").
  Response change_effect(const engine::ChangeEffect& effect, const std::string& extra, const std::string& more = "") const;

  Config config_;
  std::unique_ptr<Backend> backend_;
  std::string rapport_version_;
  Metrics metrics_;
  AccessLog log_;
  ReplayGuard replays_;
  mapping::Mapping hubspot_mapping_;
  mapping::Mapping dynamics_mapping_;
  mapping::Mapping salesforce_mapping_;
  WebhookWriteback writeback_;

  std::atomic<std::shared_ptr<const State>> state_;
  std::mutex write_mutex_;   // webhooks and reloads replace the snapshot one at a time
  std::mutex reload_mutex_;  // one reload at a time
  mutable std::mutex status_mutex_;
  std::string last_reload_json_ = "null";

  std::mutex background_mutex_;
  std::condition_variable background_wake_;
  bool background_stop_ = false;
  std::thread background_;
};

/// The OpenAPI 3.0 document served at /openapi.json.
const std::string& openapi_document();

}  // namespace rapport::serve
