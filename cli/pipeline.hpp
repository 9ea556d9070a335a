#pragma once
// The stages every command shares: find rule files, parse, discover data, compile, configure
// parameters, load data, evaluate. Each stage reports to one sink and says whether to go on.

#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "diag/diagnostic.hpp"
#include "dsl/ast.hpp"
#include "engine/evaluator.hpp"
#include "engine/load/loader.hpp"
#include "packs/manifest.hpp"
#include "packs/params.hpp"

namespace rapport::cli {

/// Exit codes a scheduler can act on (docs/cli.md).
enum ExitCode : int {
  kExitClean = 0,
  kExitFindings = 1,
  kExitUsage = 2,  // usage, rule-file and configuration errors
  kExitData = 3,   // data files missing, malformed or lacking fields the rules use; a source failed
  kExitPartial = 4,  // some write-back changes failed or conflict (`apply`, `run`)
  kExitBusy = 5,     // another `rapport run` holds the state folder
};

struct PipelineOptions {
  std::vector<std::string> pack_paths;   // rule files or directories of them
  std::optional<std::string> data_dir;
  std::vector<std::string> param_files;
  std::vector<std::string> sets;         // name=value
  load::BadRecordPolicy on_bad_record = load::BadRecordPolicy::Fail;
  bool progress = false;                 // progress on stderr while loading
  std::vector<std::string> only_rules;   // --rule: evaluate (and load data for) these rules only
  bool rules = true;                     // false: load data for no rule (`rapport plan`)
  std::vector<std::string> plans;        // load data for these plans too
  /// More fields to load where the data has them (no error where it doesn't): `rapport run`'s
  /// owners and portfolios.
  std::map<std::string, std::set<std::string>> extra_fields;
  std::string rapport_version = "0.0.0";  // checked against pack manifests' `requires`
  bool keep_source_lines = true;  // load::LoadOptions::keep_source_lines
  /// Compact the tables as they load (load::LoadOptions::compact) and narrow the string pool's
  /// index after loading (StringPool::narrow_index): for runs that only read the data.
  bool compact_data = false;
  unsigned load_threads = 0;  // load::LoadOptions::threads (0 = one per core)
};

/// Everything a run produced; `exit_code` is set when a stage stopped the run.
struct Pipeline {
  std::vector<dsl::ast::File> files;
  std::optional<load::Discovery> discovery;
  std::vector<packs::ConfiguredPack> packs;
  std::vector<packs::Manifest> manifests;  // pack folders, extended ones first
  std::vector<int> pack_manifest;          // per pack: the manifest it belongs to, or -1
  /// Per manifest: the packs it runs (those it extends, then its own), by index into `packs`.
  std::vector<std::vector<std::size_t>> manifest_packs;
  model::Dataset dataset;
  load::LoadStats stats;
  diag::DiagnosticSink sink;
  int exit_code = kExitClean;
};

/// The rule files named by `paths`: files as given, directories searched for `*.rules` (sorted).
std::vector<std::string> find_rule_files(const std::vector<std::string>& paths, diag::DiagnosticSink& sink);

/// Parses, checks and configures the packs (and discovers the data's schema when a data dir is
/// given). Stops with kExitUsage on rule or parameter errors, kExitData on discovery errors.
void prepare(const PipelineOptions& options, Pipeline& pipeline);

/// Checks that the data has every field the packs use, then loads what they need.
/// Stops with kExitData on any data error.
void load_data(const PipelineOptions& options, Pipeline& pipeline);

/// Evaluates every configured pack and merges their findings in the deterministic order.
engine::EvalResult evaluate_all(Pipeline& pipeline, const engine::EvalOptions& options);

/// A file written in pieces and put in place atomically: a temporary file in the same directory,
/// renamed over `path` by commit(); removed when it is never committed. A `path` that is a device,
/// pipe or socket (`/dev/null`, `/dev/stdout`, a FIFO) is written directly instead.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  /// Creates the temporary file; false with `error` when it can't.
  bool open(std::string& error);
  /// Appends; a failure shows at commit().
  void write(std::string_view piece);
  /// Flushes, checks every write and renames into place; false with `error` (the target untouched).
  bool commit(std::string& error);

 private:
  std::string path_;
  std::string temp_;
  std::ofstream out_;
  bool committed_ = false;
  bool direct_ = false;  // `path` is not a regular file: written in place, never renamed over
};

/// Writes `content` to `path` atomically (temporary file in the same directory, then rename).
bool write_file_atomically(const std::string& path, const std::string& content, std::string& error);

}  // namespace rapport::cli
