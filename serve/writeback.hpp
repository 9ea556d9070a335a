#pragma once
// Write-back of webhook changes (docs/serve.md, "Write-back"): after a CRM notification changed the
// snapshot, the findings it created (and the records whose findings it resolved) are written back
// to the CRM as serve.yaml's `writeback:` says, with the nightly run's machinery
// (connectors/writeback): the same flags and tasks, the same journal, so a manager is flagged once.

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "engine/live.hpp"
#include "serve/config.hpp"

namespace rapport::serve {

/// What one webhook's write-back did, for its answer, its log and the metrics.
struct WritebackOutcome {
  std::string json;  // the answer's "writeback" member, {"mode": ...}; "" when the mode is off
  std::vector<std::string> log_lines;  // one per planned, written or failed change (no secrets)
  std::uint64_t planned = 0;  // dry-run: changes listed
  std::uint64_t written = 0;  // apply: changes the CRM took
  std::uint64_t failed = 0;   // apply: changes the CRM refused or that could not be tried
};

/// The findings to write back after `effect`: every open finding of `open` about a record that a
/// created or resolved finding of the policy's rules and severity is about. A record is written
/// with all its findings, as the nightly write-back writes it (its flags list every rule it
/// breaks); a record left without findings gets nothing, as in the nightly run.
std::vector<engine::Finding> writeback_findings(const std::vector<engine::Finding>& open, const engine::ChangeEffect& effect,
                                                const nightly::Writeback& policy);

/// Write-back for one server: serialised (one journal, one CRM session at a time), run after the
/// snapshot swap so no other request waits for the CRM.
class WebhookWriteback {
 public:
  WebhookWriteback(nightly::Writeback policy, http::ClientOptions client, std::string rapport_version);

  /// Writes back what `effect` changed in `snapshot` (the snapshot after the change), per mode:
  /// off nothing; dry-run lists the planned changes without any request; apply writes them
  /// through the CRM's adapter and journal. Never throws for CRM or journal failures: they are
  /// reported in the outcome.
  WritebackOutcome run(const engine::LiveSnapshot& snapshot, const engine::ChangeEffect& effect);

 private:
  WritebackOutcome plan(const std::string& report) const;
  WritebackOutcome apply(const std::string& report);

  nightly::Writeback policy_;
  http::ClientOptions client_;
  std::string rapport_version_;
  std::mutex mutex_;
  std::uint64_t runs_ = 0;
};

}  // namespace rapport::serve
