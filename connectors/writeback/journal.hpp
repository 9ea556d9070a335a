#pragma once
// The write-back journal: one JSON line per change `rapport apply --apply` settled (applied,
// found already done, refused or failed), appended and flushed to disk before the next write,
// so a re-run after a crash or a partial failure skips what is done without asking the CRM.
// Lines hold ids, field names, values and redacted errors: never a secret.

#include <cstdio>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>

namespace rapport::writeback {

/// The journal can't be read or written: the run stops before the next write.
class JournalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct JournalEntry {
  std::string time;    // UTC, 2026-03-01T09:30:00Z
  std::string source;  // "salesforce https://acme.my.salesforce.com": the CRM the line is about
  std::string kind;    // move, flags, task
  std::string key;     // move id, flags:<entity>:<id>, finding fingerprint
  std::string entity, record;
  std::string object, field;  // the vendor's
  std::optional<std::string> old_value;
  std::string new_value;
  std::string outcome;  // applied, unchanged, conflict, failed
  std::string error;    // redacted, when failed
};

/// The default journal: $RAPPORT_STATE_DIR, else $XDG_STATE_HOME/rapport, else
/// ~/.local/state/rapport, then /rapport-journal.jsonl.
std::string default_journal_path();

class Journal {
 public:
  /// Reads the journal at `path` (a missing file is an empty journal; a torn last line is
  /// ignored). Throws JournalError when it exists but can't be read.
  explicit Journal(std::string path);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  /// True when a line says this change (same source, key and new value) was applied or found
  /// already done.
  [[nodiscard]] bool done(const std::string& source, const std::string& key, const std::string& new_value) const;
  /// Opens the file for appending (creating it and its folder), so a journal that can't be
  /// written stops the run before the first write. Throws JournalError.
  void open_for_append();
  /// Appends one line and flushes it to disk. Throws JournalError when it can't.
  void append(const JournalEntry& entry);

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::set<std::tuple<std::string, std::string, std::string>> done_;
  std::FILE* file_ = nullptr;
};

}  // namespace rapport::writeback
