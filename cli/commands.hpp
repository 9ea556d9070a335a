#pragma once
// Subcommands implemented outside app.cpp; each takes the arguments after its name and returns
// the process exit code (see ExitCode in cli/pipeline.hpp).

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "diag/diagnostic.hpp"
#include "engine/findings.hpp"
#include "engine/output.hpp"

namespace rapport::serve {
class Backend;
struct Config;
}  // namespace rapport::serve

namespace rapport::model {
struct Dataset;
}  // namespace rapport::model

namespace rapport::cli {

/// --color auto|always|never for `stream` (auto: a terminal, and NO_COLOR unset).
bool color_wanted(const std::string& color, FILE* stream);
/// Prints only the errors of `sink` to stderr, as text or json: warnings about the packs are
/// `lint`'s business, not that of commands that produce a report.
void print_errors(const diag::DiagnosticSink& sink, const std::string& format, const std::string& color);
/// Prints "rapport COMMAND: MESSAGE" and the synopsis; returns the usage exit code (2).
int usage_error(const std::string& command, const std::string& synopsis, const std::string& message);

/// --fail-on: a severity, or none/never (then no finding fails the run).
struct FailOn {
  bool never = true;
  dsl::Severity threshold = dsl::Severity::Critical;
};
std::optional<FailOn> parse_fail_on(const std::string& text);
/// 1 (findings) when a finding is at or above the threshold, else 0.
int findings_exit(const FailOn& fail_on, const std::vector<engine::Finding>& findings);

/// Writes a report to standard output, or atomically to `output`. False (the error printed as
/// "rapport COMMAND: ...") when the file could not be written.
bool deliver_report(const std::string& command, const std::string& report, const std::string& output);
/// The same for a report rendered in pieces (engine::ReportWriter), never held whole in memory.
bool deliver_report(const std::string& command, const std::string& output,
                    const std::function<void(const engine::ReportWriter&)>& render);

/// Keeps `value` alive, never destroyed, until the process exits: a command about to return from
/// main() hands over its large results (a million findings, a 20-million-row dataset), whose
/// freeing would cost about a second that the operating system spends on nothing when the
/// process ends. Only for commands that end the process (the CLI runs one command).
template <class T>
void leave_for_exit(T&& value) {
  static auto* const kept = new std::vector<std::shared_ptr<void>>();  // reachable, never freed
  kept->push_back(std::make_shared<std::decay_t<T>>(std::forward<T>(value)));
}

/// The process's peak resident memory so far ("4,766 MB"), for --timings.
std::string peak_memory_text();
/// CPU seconds (user + system, all threads) the process has used so far: `--timings` shows each
/// stage's, which varies less than wall time on a shared machine.
double cpu_seconds();

/// For --timings: what the loaded data holds in memory, the string pool (text, views, index) and
/// each table's columns, in MB, to standard error.
void print_memory_breakdown(const model::Dataset& dataset);

/// --as-of: a date or a UTC timestamp; nullopt when malformed. Empty text: the current time.
std::optional<double> parse_as_of(const std::string& text);

/// A temporary folder (under the system's temp dir) removed with everything in it on scope exit;
/// `path()` is empty when it could not be created.
class ScratchFolder {
 public:
  ScratchFolder();
  ~ScratchFolder();
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Fetches a CRM source into `out_dir` (as `rapport fetch` does), printing its diagnostics;
/// returns the exit code (0, 2 or 3).
int fetch_into(const std::string& source_path, const std::string& out_dir, bool quiet, bool color);

/// For `--source`: fetches the source into `scratch` and points `data_dir` at it. Returns the
/// exit code when the fetch failed (its diagnostics printed), nullopt when it worked or there was
/// no source.
std::optional<int> fetch_source(const std::string& command, const std::string& source_file,
                                std::optional<ScratchFolder>& scratch, std::string& data_dir, bool quiet, bool color);

/// `rapport test PACK...`: runs pack test cases.
int command_test(const std::vector<std::string>& args);
/// `rapport doc PACK`: a pack's Markdown reference.
int command_doc(const std::vector<std::string>& args);
/// `rapport explain RULE PACK... --data DIR --subject ID`: how one rule judged one subject.
int command_explain(const std::vector<std::string>& args);
/// `rapport plan PACK... --data DIR`: a plan's proposed moves.
int command_plan(const std::vector<std::string>& args);
/// `rapport fetch --source source.yaml --out DIR`: CRM data to canonical `<entity>.jsonl` files.
int command_fetch(const std::vector<std::string>& args);
/// `rapport apply --source source.yaml (--plan FILE | --findings FILE) [--apply]`: write-back.
int command_apply(const std::vector<std::string>& args);
/// `rapport run nightly.yaml`: the nightly job (docs/nightly.md).
int command_run(const std::vector<std::string>& args);
/// `rapport serve --config serve.yaml`: the HTTP server of live checks (docs/serve.md).
int command_serve(const std::vector<std::string>& args);
/// rapport serve's packs and data: the pipeline above, as serve::Backend (tests start servers with it).
std::unique_ptr<serve::Backend> serve_backend(const serve::Config& config);

}  // namespace rapport::cli
