#pragma once
// Subcommands implemented outside app.cpp; each takes the arguments after its name and returns
// the process exit code (see ExitCode in cli/pipeline.hpp).

#include <string>
#include <vector>

namespace rapport::cli {

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

/// `rapport test PACK...`: runs pack test cases.
int command_test(const std::vector<std::string>& args);
/// `rapport doc PACK`: a pack's Markdown reference.
int command_doc(const std::vector<std::string>& args);
/// `rapport explain RULE PACK... --data DIR --subject ID`: how one rule judged one subject.
int command_explain(const std::vector<std::string>& args);
/// `rapport fetch --source source.yaml --out DIR`: CRM data to canonical `<entity>.jsonl` files.
int command_fetch(const std::vector<std::string>& args);

}  // namespace rapport::cli
