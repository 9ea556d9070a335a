#pragma once
// `rapport apply`: pushes a plan's moves and findings' flags and tasks back to the CRM, safely.
// It plans the changes in canonical terms (change_set.hpp), maps them onto the vendor's objects
// and fields through the source's mapping, looks at each record before writing, writes only what
// differs, journals every settled change and never creates a task twice. The CLI is a thin
// wrapper around apply().

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/options.hpp"
#include "connectors/writeback/change_set.hpp"
#include "diag/diagnostic.hpp"

namespace rapport::writeback {

/// Exit codes (docs/cli.md).
enum ApplyExit : int {
  kApplyOk = 0,       // done, or nothing to do
  kApplyConfig = 2,   // the source, mapping, report, journal or a secret is wrong: nothing was sent
  kApplySource = 3,   // the CRM failed for the whole run (no token, nothing reachable)
  kApplyPartial = 4,  // some changes failed or conflict; a re-run completes the rest
};

struct ApplyOptions {
  std::string source_path;
  std::string report_path;  // a plan (rapport.plan/1) or findings (rapport.findings/1) report
  bool apply = false;       // false: a dry run that reads the CRM but writes nothing
  std::string journal_path;  // "" = default_journal_path()
  FindingOptions findings;
  std::string task_key_field;  // "" = the vendor's default (Rapport_Key__c, rapport_key, new_rapportkey)
  http::ClientOptions client;
};

enum class Outcome {
  Pending,    // dry run: would be written
  Applied,    // written now
  Unchanged,  // the CRM already has it (or the task exists)
  Journaled,  // the journal says it was done; not looked at again
  Conflict,   // the record changed since the plan: left alone
  Failed,     // the CRM refused or could not be reached
};

/// "pending", "applied", ... as the journal writes it.
const char* outcome_name(Outcome outcome);

/// What happened to one change, in the vendor's terms.
struct ChangeResult {
  Change change;
  std::string object;  // vendor object (Account, companies, accounts)
  std::string field;   // vendor field; for tasks the key field
  std::optional<std::string> old_value;  // as the CRM had it (tasks: the owner found)
  Outcome outcome = Outcome::Pending;
  std::string detail;  // why it failed or conflicts (redacted)
  long status = 0;     // Failed: the CRM's HTTP status, 0 when it never answered
};

struct ApplyReport {
  int exit_code = kApplyOk;
  bool dry_run = true;
  std::string source;        // "salesforce https://acme.my.salesforce.com"
  std::string journal_path;
  diag::DiagnosticSink sink;  // source and mapping file mistakes, with positions
  std::string error;          // what stopped the run, when something did (redacted)
  std::vector<ChangeResult> results;  // in the order of the changes
  std::vector<std::string> notes;     // findings that could not be written back

  [[nodiscard]] std::size_t count(Outcome outcome) const;
};

/// Reads the report, maps its changes onto the CRM and, with `apply`, writes them.
ApplyReport apply(const ApplyOptions& options);

/// One line per change and a summary, for people; `only_problems` keeps just the changes that
/// failed, conflict or were not done.
/// `how_to_apply` completes a dry run's last line: "nothing was written: HOW_TO_APPLY to make these changes".
std::string render_apply_text(const ApplyReport& report, bool color, bool only_problems = false,
                              std::string_view how_to_apply = "add --apply");

}  // namespace rapport::writeback
