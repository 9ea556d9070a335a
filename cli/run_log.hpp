#pragma once
// Progress of a long command on standard error: a line per stage for people, or one JSON object
// per line (`--log-format json`) with per-stage timings and counts for log collectors.
//
//   text:  load       8,504 records, 0 skipped                  0.12 s
//   json:  {"time":"2026-11-22T02:00:05Z","event":"stage","stage":"load","ok":true,"seconds":0.12,"records":8504,"skipped":0}

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace rapport::cli {

class RunLog {
 public:
  enum class Format { Text, Json };
  RunLog(Format format, bool quiet) : format_(format), quiet_(quiet) {}

  [[nodiscard]] bool json() const { return format_ == Format::Json; }

  /// One stage's timing and counts, logged by done() or fail() (or as stopped when neither ran).
  class Stage {
   public:
    Stage(RunLog& log, std::string name);
    ~Stage();
    Stage(const Stage&) = delete;
    Stage& operator=(const Stage&) = delete;
    Stage& count(const std::string& name, std::size_t value);
    void done(const std::string& detail = "");
    void fail(const std::string& detail);

   private:
    void emit(bool ok, const std::string& detail);
    RunLog& log_;
    std::string name_;
    std::chrono::steady_clock::time_point started_;
    std::vector<std::pair<std::string, std::size_t>> counts_;
    bool logged_ = false;
  };

  Stage stage(std::string name) { return Stage(*this, std::move(name)); }
  void start(const std::string& run_id, const std::string& config, const std::string& as_of);
  /// A diagnostic as a JSON event (json format only; text diagnostics are rendered by the caller).
  void diagnostic(const std::string& diagnostic_json);
  /// An error line (never hidden by --quiet).
  void error(const std::string& message);
  /// The last line: the exit code and a one-line summary (shown even with --quiet).
  void done(int exit_code, const std::string& summary);

 private:
  void line(const std::string& text);
  Format format_;
  bool quiet_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace rapport::cli
