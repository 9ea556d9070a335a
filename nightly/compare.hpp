#pragma once
// This run against the previous one: each finding new, still open or waived; findings resolved
// since; waivers that matched nothing; the state to remember and this run's trend point.

#include <string>
#include <vector>

#include "engine/findings.hpp"
#include "nightly/state.hpp"
#include "nightly/waivers.hpp"
#include "reports/run_report.hpp"

namespace rapport::nightly {

struct RunFacts {
  std::string run_id;
  std::string run_at;  // ISO timestamp
  std::string as_of;   // ISO timestamp
  std::size_t history = 90;  // trend points kept
};

struct Comparison {
  std::vector<reports::ReportFinding> findings;   // in the order given (engine::sort_findings)
  std::vector<reports::ResolvedFinding> resolved;  // severity (highest first), rule, subject id
  std::vector<reports::Waiver> waivers;            // active waivers (ReportFinding::waiver indexes them)
  std::vector<reports::Waiver> unused_waivers;     // active waivers no finding matched
  reports::TrendPoint point;                       // this run
  State next;                                      // the state to save when the run succeeds
};

/// `findings` sorted as engine::sort_findings leaves them; `owners[i]` answers for findings[i].
Comparison compare(std::vector<engine::Finding> findings, const std::vector<std::string>& owners, const State& previous,
                   const std::vector<LoadedWaiver>& active_waivers, const RunFacts& facts);

}  // namespace rapport::nightly
