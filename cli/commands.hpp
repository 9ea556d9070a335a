#pragma once
// Subcommands implemented outside app.cpp; each takes the arguments after its name and returns
// the process exit code (see ExitCode in cli/pipeline.hpp).

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "diag/diagnostic.hpp"

namespace rapport::cli {

/// --color auto|always|never for `stream` (auto: a terminal, and NO_COLOR unset).
bool color_wanted(const std::string& color, FILE* stream);
/// Prints only the errors of `sink` to stderr, as text or json: warnings about the packs are
/// `lint`'s business, not that of commands that produce a report.
void print_errors(const diag::DiagnosticSink& sink, const std::string& format, const std::string& color);
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

}  // namespace rapport::cli
