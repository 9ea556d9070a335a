#pragma once
// What several reports say the same way: the counts of a run, findings grouped by rule, team
// or region, severity colours, who owns what. One place, so the HTML page, the digests, the
// webhook and the run JSON never disagree.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "reports/run_report.hpp"

namespace rapport::reports {

class JsonWriter;

/// The run JSON's `portfolios` (Dunbar line, inner circle, managers) and `trend` members; the
/// HTML page embeds the same for its charts.
void write_portfolios(JsonWriter& json, const RunReport& report);
void write_trend(JsonWriter& json, const RunReport& report);

/// A finding that needs work: new or still open, not waived.
bool is_open(const ReportFinding& finding);

/// A run's findings counted by status, and the open ones by severity.
struct RunCounts {
  std::size_t new_findings = 0;
  std::size_t still_open = 0;
  std::size_t waived = 0;
  std::size_t resolved = 0;
  std::array<std::size_t, 5> open_by_severity{};  // indexed by dsl::Severity (Info..Critical)
  [[nodiscard]] std::size_t open() const { return new_findings + still_open; }
};
RunCounts count_findings(const RunReport& report);

/// The open findings as engine findings, for engine::severity_counts ("2 critical, 5 high").
std::vector<engine::Finding> open_findings(const RunReport& report);

/// Findings of one rule, team or region.
struct FindingGroup {
  std::string key;    // rule id ("pack/rule" inside), team or region; "" for none
  std::string label;  // the rule's title, or the key
  dsl::Severity severity = dsl::Severity::Info;  // the highest open severity (rules: the rule's)
  std::size_t open = 0;
  std::size_t new_findings = 0;
  std::size_t waived = 0;
};
/// Every rule with findings, most open findings first (then severity, then rule id).
std::vector<FindingGroup> group_by_rule(const RunReport& report);
/// Open findings by the owner's team or region, most first; the empty key is "no team/region".
std::vector<FindingGroup> group_by_team(const RunReport& report);
std::vector<FindingGroup> group_by_region(const RunReport& report);

/// The highest severity among open findings; nullopt when nothing is open.
std::optional<dsl::Severity> worst_open_severity(const RunReport& report);

/// The display colour of a severity ("#b3261e"), shared by the HTML page, the digest and Teams.
std::string_view severity_color(dsl::Severity severity);

/// The owner's name, else their id, else "unassigned".
std::string owner_label(const RunReport& report, std::string_view owner_id);

/// "1 finding" / "3 findings".
std::string count_noun(std::size_t n, std::string_view singular, std::string_view plural);

/// The subject as people read it: "Acme & Co (acc-000123)", or just the id when unnamed.
std::string subject_label(std::string_view name, std::string_view id);

}  // namespace rapport::reports
