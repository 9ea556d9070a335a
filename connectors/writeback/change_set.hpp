#pragma once
// What `rapport apply` intends to change, in canonical terms, read from a plan report
// (rapport.plan/1: its moves, and its findings) or a findings report (rapport.findings/1).
// Nothing here knows a CRM: the vendor's objects and fields come later, from the mapping.

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rapport::writeback {

enum class ChangeKind {
  Move,   // set the plan's link field (accounts.owner_id) to the move's target
  Flags,  // set the flags field of a finding's subject to its rule ids
  Task,   // create one task per finding for the subject's owner, keyed by the fingerprint
};

/// "move", "flags", "task".
const char* change_kind_name(ChangeKind kind);

/// A task's text, from its finding.
struct TaskText {
  std::string subject;  // "Rapport R05: Strategic account without a recent meeting (Acme)"
  std::string body;     // message, remedy, pack/rule and fingerprint
  bool high_priority = false;  // high and critical findings
  std::string due;      // the report's as-of date, YYYY-MM-DD
};

/// One intended change. `key` is what the journal remembers it by: the move's stable id,
/// "flags:<entity>:<record>" or the finding's fingerprint.
struct Change {
  ChangeKind kind = ChangeKind::Move;
  std::string key;
  std::string entity;  // canonical entity of the record (accounts)
  std::string record;  // its id
  std::string record_name;
  std::string field;   // Move: the canonical link field (owner_id); Flags: the vendor flags field
  std::optional<std::string> expected;  // Move: the value the plan saw (nullopt: nobody)
  std::string value;   // Move: the new id; Flags: the rule ids joined by ";"; Task: ""
  TaskText task;       // Task only
};

/// What to take from the findings of a report.
struct FindingOptions {
  std::optional<std::string> flag_field;  // set: a Flags change per subject record
  bool tasks = false;                     // a Task change per finding
  std::string min_severity = "info";      // findings below it are left out
};

struct ChangeSet {
  std::string schema;  // rapport.plan/1 or rapport.findings/1
  std::string as_of;
  std::vector<Change> changes;     // moves first (in report order), then flags and tasks
  std::vector<std::string> notes;  // findings that cannot be written back, and why
};

/// The report is not a plan or findings report this version understands.
class ChangeSetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The changes of a report: a plan's moves (and, as `findings` asks, its findings), or a findings
/// report's findings. Throws ChangeSetError for malformed JSON, an unknown schema or a missing member.
ChangeSet read_change_set(const std::string& json_text, const FindingOptions& findings);

/// The severities in increasing order; false for an unknown name.
bool is_severity(const std::string& name);

}  // namespace rapport::writeback
