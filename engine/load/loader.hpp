#pragma once
// Loads a directory of canonical-model files (`<entity>.jsonl` or `<entity>.csv`) into the
// columnar store, reading only the fields the compiled rules use.

#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "diag/diagnostic.hpp"
#include "model/schema.hpp"
#include "model/table.hpp"

namespace rapport::load {

/// What to do with a record that can't be read or has a wrong-typed value.
enum class BadRecordPolicy { Fail, Skip };

/// The data files found in a directory, one per entity.
struct DataFile {
  std::string entity;
  std::string path;
  bool csv = false;
};

/// Lists `<entity>.jsonl` / `<entity>.csv` files in `dir` (sorted by entity). An entity with both a
/// .jsonl and a .csv file is an error reported to `sink`.
std::vector<DataFile> find_data_files(const std::string& dir, diag::DiagnosticSink& sink);

/// Returns model v1 extended with what the files show: fields present in the data but not in the
/// model (typed from their values) and entities not in the model. Reads only the CSV header or
/// the first JSONL records. Also records, per entity, which declared fields the data lacks.
struct Discovery {
  model::Schema schema;
  /// entity -> the field names actually present in its file (header / JSON keys).
  std::map<std::string, std::set<std::string>> present_fields;
  std::vector<DataFile> files;
  /// The directory that was searched (for "no data file for X in DIR").
  std::string dir;
  /// Entities whose file could not be read or has a malformed CSV header (already reported by
  /// discover(); load() fails for them without reporting again).
  std::set<std::string> unreadable;
};
Discovery discover(const std::string& dir, diag::DiagnosticSink& sink);

struct LoadOptions {
  BadRecordPolicy on_bad_record = BadRecordPolicy::Fail;
  /// entity -> fields to load (`id` is always loaded). Entities not named are not loaded.
  std::map<std::string, std::set<std::string>> fields;
  /// Worker threads for parsing (0 = hardware concurrency).
  unsigned threads = 0;
  /// Called with (entity, bytes done, bytes total) while loading; may be empty.
  std::function<void(const std::string&, std::size_t, std::size_t)> progress;
  /// Bytes per parallel parsing chunk (0 = 4 MiB). Tests use small values to exercise chunking.
  std::size_t chunk_bytes = 0;
  /// Keep each table's `source_lines` after loading (for explanations and edits in place). The
  /// loader's own messages have them either way. `check` reads none: 4 bytes a row, 82 MB at a
  /// million accounts.
  bool keep_source_lines = true;
  /// Compact each table as soon as it is loaded (model::compact_table, on a thread of its own
  /// beside the merge), and each reference column as soon as it is resolved
  /// (model::compact_resolved_reference), and drop source lines a table at a time: the load's peak
  /// memory is then about that of the compacted data. For data that is
  /// only read from then on (`rapport check`).
  bool compact = false;
  /// Entities whose ids only name their rows: no rule reads them as values (`activity.id`, a join
  /// on `id`). Unless a loaded reference column points at one of them, its ids are kept
  /// front-coded in Table::label_ids instead of interned in the string pool (duplicates are found
  /// and reported all the same). `check` names every such entity: at a million accounts the 13
  /// million activity and case ids, about 330 MB less and no interning on the merging thread.
  std::set<std::string> label_id_entities;
};

/// Counts for the summary line.
struct LoadStats {
  std::size_t records = 0;
  std::size_t skipped = 0;            // bad records skipped under BadRecordPolicy::Skip
  std::size_t dangling_references = 0;
  std::size_t bytes = 0;
  std::map<std::string, std::size_t> records_by_entity;
  std::size_t bad_records = 0;        // bad records found (errors under Fail, the skipped ones under Skip)
  std::size_t enum_warnings = 0;      // values not among their enum's values (kept)
  /// Seconds per entity, from its first chunk merged to its last (parsing runs ahead on the
  /// workers, so this is the pace of the whole pipeline for that file), and for resolving
  /// references after all files. For `--timings`.
  std::map<std::string, double> seconds_by_entity;
  double reference_seconds = 0;
};

/// Loads the requested entities and fields into `dataset` (whose schema must come from `discover`),
/// resolves Ref columns to row indexes, and reports bad data to `sink` with file:line and field.
/// Returns false when loading must stop (an I/O error, or a bad record under Fail).
bool load(const Discovery& discovery, const LoadOptions& options, model::Dataset& dataset, LoadStats& stats,
          diag::DiagnosticSink& sink);

}  // namespace rapport::load
