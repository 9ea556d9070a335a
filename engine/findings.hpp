#pragma once
// Findings: what a rule reports about one subject, and the run's per-rule counts.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "dsl/program.hpp"

namespace rapport::engine {

/// One `let` value recorded with a finding.
struct Evidence {
  std::string name;
  std::string json;  // the value as JSON (numbers, strings, arrays truncated to 10 items)
  std::string text;  // the value as a person reads it
};

struct Finding {
  std::string pack;
  std::string pack_version;
  std::string rule;
  std::string title;  // the rule's; its rationale is in the compiled pack
  dsl::Severity base_severity = dsl::Severity::Medium;
  dsl::Severity severity = dsl::Severity::Medium;  // after escalation
  std::string subject_entity;  // "accounts"; for value subjects the entity the values come from
  std::string subject_id;      // the row id, or the value
  bool value_subject = false;
  std::string subject_name;    // the row's `name` when it has one
  std::string message;
  std::string remedy;
  std::vector<std::string> tags;
  std::vector<Evidence> evidence;
  std::string fingerprint;  // stable across runs: hash of pack, rule, entity and id
};

/// Counts for one rule in one run.
struct RuleSummary {
  std::string pack;
  std::string rule;
  std::string title;  // the rule's; its rationale is in the compiled pack
  dsl::Severity severity = dsl::Severity::Medium;
  bool enabled = true;
  std::size_t subjects = 0;  // subjects the rule looked at
  std::size_t findings = 0;
  std::size_t unknown = 0;   // subjects for which `when` was unknown because of missing data
  double milliseconds = 0;
};

/// The deterministic output order: severity (highest first), rule id, subject id.
void sort_findings(std::vector<Finding>& findings);
/// The findings of `parts` (in the order of their concatenation) sorted into one vector, each
/// moved once; `parts` are left empty.
std::vector<Finding> sort_findings(std::vector<std::vector<Finding>>& parts);

/// A 16-hex-digit FNV-1a hash of `pack|rule|entity|id`.
std::string fingerprint(std::string_view pack, std::string_view rule, std::string_view entity, std::string_view id);

}  // namespace rapport::engine
