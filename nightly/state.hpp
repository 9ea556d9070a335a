#pragma once
// The state directory of nightly runs: the findings of the last run by fingerprint (to tell new,
// still open and resolved apart), the history the trend is drawn from, and the run lock.
//
//   <state>/state.json   {"schema": "rapport.state/1", "last_run": {...}, "findings": [...], "history": [...]}
//   <state>/lock         held (flock) while a run works; its text names the holder
//
// state.json is replaced atomically, and only when a run has written every report.

#include <optional>
#include <string>
#include <vector>

#include "reports/run_report.hpp"

namespace rapport::nightly {

/// A finding as the state remembers it between runs: what a resolved finding shows, and whether
/// it was waived.
struct KnownFinding : reports::ResolvedFinding {
  bool waived = false;
};

struct State {
  bool exists = false;  // false before the first run
  std::string last_run_id;
  std::string last_run_at;
  std::string last_as_of;
  std::vector<KnownFinding> findings;  // sorted by fingerprint
  std::vector<reports::TrendPoint> history;  // oldest first
};

/// Reads <dir>/state.json. A missing file is a first run; an unreadable or malformed one is an
/// error (nullopt, `error` names the file and what is wrong) — never silently a first run.
std::optional<State> read_state(const std::string& dir, std::string& error);
/// The state as JSON (deterministic).
std::string state_json(const State& state);

/// An exclusive lock on a state directory, released when destroyed (or when the process dies).
class RunLock {
 public:
  RunLock() = default;
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  /// Creates `dir` if needed and takes its lock without waiting. False with `error` saying who
  /// holds it (pid, start time) when another run does, or why the folder can't be used.
  bool acquire(const std::string& dir, const std::string& holder, std::string& error);

 private:
  int fd_ = -1;
};

}  // namespace rapport::nightly
