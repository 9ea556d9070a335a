#pragma once
// Waivers: findings a team has decided to live with for a while, each with a reason, the person
// who granted it and an expiry date (docs/nightly.md).
//
//   waivers:
//     - rule: dunbar_portfolio_limit
//       subject: usr-000010        # the finding's subject id; "*" waives every subject of the rule
//       reason: Covering Dana's book until the new hire starts
//       owner: maria.lopez@example.com
//       expires: 2026-12-31        # applies up to and including this day

#include <optional>
#include <string>
#include <vector>

#include "diag/diagnostic.hpp"
#include "reports/run_report.hpp"

namespace rapport::nightly {

struct LoadedWaiver {
  reports::Waiver waiver;
  double expires_at = 0;  // the first second after the expiry day (UTC)
  diag::SourceFilePtr file;
  diag::Span rule_span;
  diag::Span expires_span;
};

/// Reads a waivers file; every malformed waiver is reported at its place. nullopt on errors.
std::optional<std::vector<LoadedWaiver>> load_waivers(const std::string& path, diag::DiagnosticSink& sink);

struct WaiverSplit {
  std::vector<LoadedWaiver> active;
  std::vector<LoadedWaiver> expired;
};
/// Splits waivers into those in force at `as_of` and those past their date; each expired one and
/// each naming a rule not in `rule_ids` gets a warning at its place.
WaiverSplit split_waivers(std::vector<LoadedWaiver> waivers, double as_of, const std::vector<std::string>& rule_ids,
                          diag::DiagnosticSink& sink);

/// The first waiver in `active` that matches the finding's rule and subject, or -1.
int match_waiver(const std::vector<LoadedWaiver>& active, std::string_view rule, std::string_view subject_id);

}  // namespace rapport::nightly
