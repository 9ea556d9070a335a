#pragma once
// One nightly run as the reports see it: the findings with their status against the previous
// run (new, still open, waived), the findings resolved since, expired waivers, the rules with
// their rule-file locations, the account managers' portfolios and the trend over earlier runs.
// `rapport run` (nightly/) fills it; every renderer in this folder reads it and nothing else.

#include <cstddef>
#include <string>
#include <vector>

#include "engine/findings.hpp"

namespace rapport::reports {

/// Where a finding stands against the previous run.
enum class Status {
  New,     // not open in the previous run
  Open,    // open in the previous run too ("still open")
  Waived,  // matched by a waiver that has not expired
};
std::string_view status_name(Status status);  // "new", "open", "waived"

/// A person of the provider (a `users` row), as far as the data has them; empty when unknown.
struct Person {
  std::string id;
  std::string name;
  std::string email;
  std::string team;
  std::string region;
  std::string role;
};

/// A waiver as written in the waivers file.
struct Waiver {
  std::string rule;      // rule id
  std::string subject;   // subject id ("*" = every subject of the rule)
  std::string reason;
  std::string owner;     // who granted it (a name or an email)
  std::string expires;   // YYYY-MM-DD: applies up to and including that day
  std::string location;  // "waivers.yaml:12:5"
};

struct ReportFinding {
  engine::Finding finding;
  Status status = Status::New;
  std::string first_seen;  // as_of (ISO) of the first run that reported it
  std::string owner_id;    // the person responsible (an account manager), empty when nobody is
  std::string team;        // the owner's team and region, empty when unknown
  std::string region;
  int waiver = -1;         // when status == Waived: its index in RunReport::waivers
};

/// A finding open in the previous run that this run no longer reports.
struct ResolvedFinding {
  std::string fingerprint;
  std::string pack;
  std::string rule;
  std::string title;
  dsl::Severity severity = dsl::Severity::Medium;
  std::string subject_entity;
  std::string subject_id;
  std::string subject_name;
  std::string owner_id;
  std::string first_seen;
};

/// A rule of a pack that ran, with where it is written.
struct RuleInfo {
  std::string pack;
  std::string pack_version;
  std::string id;
  std::string title;
  std::string rationale;
  dsl::Severity severity = dsl::Severity::Medium;
  std::vector<std::string> tags;
  bool enabled = true;
  std::string file;          // rule file path as given (relative to the working directory)
  unsigned line = 0;         // 1-based position of the rule in it
  unsigned column = 0;
  std::size_t subjects = 0;  // subjects evaluated this run
  std::size_t findings = 0;  // findings this run (waived ones included)
};

/// One account manager's portfolio for the Dunbar chart.
struct PortfolioBar {
  std::string manager_id;
  std::string name;
  std::string team;
  std::string region;
  std::size_t accounts = 0;
  std::size_t strategic = 0;
};

/// One earlier (or this) run in the trend, oldest first.
struct TrendPoint {
  std::string run_at;  // when the run happened (ISO timestamp)
  std::string as_of;   // the as-of date it judged
  std::size_t open = 0;                // findings open (new + still open), waived excluded
  std::size_t by_severity[5] = {};     // open findings by dsl::Severity (Info..Critical)
  std::size_t new_findings = 0;
  std::size_t resolved = 0;
  std::size_t waived = 0;
};

struct RunReport {
  std::string rapport_version;
  std::string run_id;       // unique per run, e.g. "2026-11-22T02:00:05Z-4711"
  std::string run_at;       // when the run started (ISO timestamp)
  std::string as_of;        // the as-of the rules used (ISO timestamp)
  std::string title;        // from the config: "Acme nightly check"
  std::string config_path;  // the nightly.yaml
  std::string source;       // "files examples/data" or "salesforce https://acme.my.salesforce.com"
  bool first_run = true;    // no previous run in the state directory: every finding is new
  std::vector<std::pair<std::string, std::string>> packs;  // name, version
  std::size_t records = 0;

  std::vector<RuleInfo> rules;             // every rule of every pack that ran, in pack order
  std::vector<ReportFinding> findings;     // open and waived findings, in engine::sort_findings order
  std::vector<ResolvedFinding> resolved;   // sorted by severity (highest first), rule, subject
  std::vector<Waiver> waivers;             // waivers in force (referenced by findings)
  std::vector<Waiver> expired_waivers;     // waivers past their date (they no longer apply)
  std::vector<Waiver> unused_waivers;      // waivers in force that matched no finding
  std::vector<Person> people;              // owners and managers referenced above, sorted by id

  std::vector<PortfolioBar> portfolios;    // every active account manager, sorted by accounts desc, id
  double dunbar_line = 150;                // the portfolio limit drawn on the chart
  double inner_circle = 5;                 // the strategic-accounts limit

  std::vector<TrendPoint> trend;           // earlier runs then this one, oldest first (at most 90)

  /// The person with this id, or nullptr.
  [[nodiscard]] const Person* person(std::string_view id) const;
};

}  // namespace rapport::reports
