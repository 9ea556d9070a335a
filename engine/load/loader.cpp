// load(): plans the files, parses their chunks on worker threads, merges the chunks in file order on
// the calling thread, then resolves references.
//
// Threading: all chunks of all requested files form one ordered task list. `threads` workers take
// tasks in order (at most a window of tasks ahead of the merge, which bounds memory) and parse each
// into its own ChunkOut; the calling thread merges finished chunks strictly in task order: interns
// the chunk's distinct strings into the shared StringPool, checks ids for duplicates, appends the
// rows and reports the chunk's issues with their global line numbers. Results therefore don't
// depend on the number of threads: same rows, same order, same StrIds, same diagnostics. A finished
// table is compacted on a thread of its own while the merge goes on (compact_later()); references
// are resolved once every file is merged, each column's rows split between the cores.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "engine/load/internal.hpp"
#include "engine/load/loader.hpp"
#include "engine/parallel.hpp"
#include "model/prefetch.hpp"

namespace rapport::load {

using namespace detail;

namespace {

constexpr std::size_t kDefaultChunkBytes = 4u << 20;
constexpr std::size_t kShownPerFile = 20;       // bad records / enum warnings shown per file under Skip
constexpr std::size_t kFailLimit = 20;          // bad records reported before stopping under Fail
constexpr std::size_t kDanglingShown = 20;      // dangling references shown per column
constexpr std::size_t kResolvePart = 1u << 16;  // references resolved per thread at least

std::string where(const std::string& path, std::uint64_t line) { return path + ":" + std::to_string(line); }

struct FileState {
  FilePlan plan;
  std::unique_ptr<MappedFile> file;
  std::vector<std::size_t> bounds;  // chunk boundaries
  model::Table* table = nullptr;
  bool id_column = false;  // `id` was requested as a field: also give it a Text column
  bool label_ids = false;  // the ids go to Table::label_ids (LoadOptions::label_id_entities)
  bool reserved = false;   // reserve_for_file() ran (after the first merged chunk)
  /// Label ids: every id so far came after the one before in id order (ids_ascend()), so they
  /// are distinct without looking them up. Exports usually list records by id; the first id
  /// out of order puts the earlier ones into label_rows_, and the file goes on with lookups.
  bool ids_ascending = true;  // the last one is table->label_ids.back()
  std::size_t expected_rows = 0;  // reserve_for_file()'s estimate of the file's rows
  // merge state
  std::size_t expected_start = 0;   // where the next chunk must start to be valid (CSV)
  std::uint64_t line_at_expected = 1;
  std::size_t bad_shown = 0, bad_hidden = 0;
  std::size_t enum_shown = 0, enum_hidden = 0;
  std::chrono::steady_clock::time_point started;  // first chunk merged
};

/// Rows of a table by id, for finding the duplicate ids of a table whose ids are labels
/// (Table::label_ids, which can't be searched): an open-addressing table (linear probing) of
/// slots holding 32 bits of the id's hash and the row; a probe compares the ids themselves only
/// where those bits agree.
class RowsById {
 public:
  /// Makes room for `rows` rows in all without growing.
  void reserve(std::size_t rows) {
    std::size_t capacity = 16;
    while (capacity * 3 < rows * 4) capacity *= 2;
    if (capacity > slots_.size()) rehash(capacity);
  }
  void prefetch(std::uint64_t hash) const {
    if (!slots_.empty()) model::prefetch_for_read(&slots_[home(tag_of(hash))]);
  }
  /// The row whose id is the one hashed to `hash` (`same(row)` tells), else kNoRow after adding
  /// `row` for it.
  template <typename Same>
  std::int32_t find_or_add(std::uint64_t hash, std::int32_t row, Same&& same) {
    if ((size_ + 1) * 4 > slots_.size() * 3) rehash(std::max<std::size_t>(16, 2 * slots_.size()));
    const std::uint32_t tag = tag_of(hash);
    for (std::size_t at = home(tag);; at = (at + 1) & (slots_.size() - 1)) {
      Slot& slot = slots_[at];
      if (slot.row1 == 0) {
        slot = {tag, static_cast<std::uint32_t>(row) + 1};
        ++size_;
        return model::kNoRow;
      }
      const auto held = static_cast<std::int32_t>(slot.row1 - 1);
      if (slot.tag == tag && same(held)) return held;
    }
  }
  /// Frees the table.
  void clear() {
    std::vector<Slot>().swap(slots_);
    size_ = 0;
    shift_ = 64;
  }

 private:
  struct Slot {
    std::uint32_t tag = 0;
    std::uint32_t row1 = 0;  // row + 1, 0 = empty
  };
  static std::uint32_t tag_of(std::uint64_t h) { return static_cast<std::uint32_t>(h ^ (h >> 32)); }
  // The home slot from the tag alone, so that growing needs no ids (as model::StringPool).
  [[nodiscard]] std::size_t home(std::uint32_t tag) const {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(tag) * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  void rehash(std::size_t capacity) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(capacity, Slot{});
    shift_ = 64;
    for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
    for (const Slot& slot : old) {
      if (slot.row1 == 0) continue;
      std::size_t at = home(slot.tag);
      while (slots_[at].row1 != 0) at = (at + 1) & (capacity - 1);
      slots_[at] = slot;
    }
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
  unsigned shift_ = 64;
};

struct Task {
  std::size_t file = 0;
  std::size_t chunk = 0;
};

class Loader {
 public:
  Loader(const Discovery& discovery, const LoadOptions& options, model::Dataset& dataset, LoadStats& stats,
         diag::DiagnosticSink& sink)
      : discovery_(discovery), options_(options), dataset_(dataset), stats_(stats), sink_(sink) {}
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  bool run() {
    if (dataset_.schema.entities().empty()) dataset_.schema = discovery_.schema;
    if (!plan()) return false;
    parse_and_merge();
    finish_compactions();
    if (failed_) return false;
    const auto references_started = std::chrono::steady_clock::now();
    resolve_references();
    stats_.reference_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - references_started).count();
    if (!options_.keep_source_lines) {
      for (auto& [entity, table] : dataset_.tables) std::vector<std::uint32_t>().swap(table.source_lines);
    }
    std::vector<std::int32_t>().swap(row_of_str_);
#ifdef __GLIBC__
    // The workers' chunk buffers were freed into their threads' malloc arenas, which keep the
    // pages: hand them back before the data is evaluated (about 50 MB at a million accounts).
    malloc_trim(0);
#endif
    return true;
  }

 private:
  // ------------------------------------------------------------------------------------------
  // Planning

  bool plan() {
    chunk_bytes_ = options_.chunk_bytes ? options_.chunk_bytes : kDefaultChunkBytes;
    bool ok = true;
    for (const auto& [entity_name, fields] : options_.fields) {
      if (discovery_.unreadable.count(entity_name)) {
        ok = false;  // discover() already said why
        continue;
      }
      const model::EntityDef* entity = dataset_.schema.entity(entity_name);
      const DataFile* found = nullptr;
      for (const auto& file : discovery_.files) {
        if (file.entity == entity_name) found = &file;
      }
      if (!found || !entity) {
        std::string dir = discovery_.dir.empty() ? "the data directory" : discovery_.dir;
        sink_.error(diag::Code::DataFileMissing, nullptr, {},
                    "no data file for `" + entity_name + "`: expected " + entity_name + ".jsonl or " + entity_name +
                        ".csv in " + dir)
            .where = discovery_.dir;
        ok = false;
        continue;
      }
      auto state = std::make_unique<FileState>();
      FilePlan& plan = state->plan;
      plan.entity = entity_name;
      plan.path = found->path;
      plan.csv = found->csv;
      for (const std::string& name : fields) {
        if (name == "id") {
          state->id_column = true;
          continue;
        }
        const model::FieldDef* def = entity->field(name);
        if (!def) continue;  // unknown fields are the checker's to report
        plan.fields.push_back(*def);
        plan.names.push_back(name);
      }
      state->file = std::make_unique<MappedFile>();
      std::string error;
      if (!state->file->open(plan.path, error)) {
        sink_.error(diag::Code::DataFileMissing, nullptr, {}, "cannot read " + plan.path + ": " + error).where =
            plan.path;
        ok = false;
        continue;
      }
      plan.data = state->file->data();
      plan.size = state->file->size();
      if (plan.csv) {
        if (!plan_csv(plan)) {
          ok = false;
          continue;
        }
      } else {
        plan.data_begin = bom_length(plan.data, plan.size);
        plan.first_data_line = 1;
      }
      files_.push_back(std::move(state));
    }
    if (!ok) return false;
    std::set<std::string, std::less<>> referenced;  // entities a loaded reference column points at
    for (const auto& state : files_) {
      for (const model::FieldDef& def : state->plan.fields) {
        if (def.type == model::FieldType::Ref) referenced.insert(def.ref_entity);
      }
    }
    for (std::size_t f = 0; f < files_.size(); ++f) {
      FileState& state = *files_[f];
      state.label_ids = options_.label_id_entities.count(state.plan.entity) && !state.id_column &&
                        !referenced.count(state.plan.entity);
      state.bounds = split_at_newlines(state.plan.data, state.plan.data_begin, state.plan.size, chunk_bytes_);
      // Finding the bounds touched a page at every chunk's end, and where the page cache holds the
      // file in large folios (2 MiB on Linux 6.x), a touch maps the whole folio: half of a 2 GB
      // file would count in the process's RSS until its chunks were merged. Unmap them again.
      state.file->release(0, state.plan.size);
      for (std::size_t c = 0; c + 1 < state.bounds.size(); ++c) tasks_.push_back(Task{f, c});
      state.expected_start = state.plan.data_begin;
      state.line_at_expected = state.plan.first_data_line;
      model::Table& table = dataset_.tables[state.plan.entity];
      table = model::Table{};
      table.entity = state.plan.entity;
      table.source_path = state.plan.path;
      for (const auto& def : state.plan.fields) table.columns[def.name].reset(def);
      state.table = &table;
      stats_.bytes += state.plan.size;
    }
    return true;
  }

  bool plan_csv(FilePlan& plan) {
    std::vector<std::string> names;
    std::uint32_t header_newlines = 0;
    std::string error;
    if (!read_csv_header(plan.data, plan.size, names, plan.data_begin, header_newlines, error)) {
      sink_.error(diag::Code::MalformedRecord, nullptr, {}, "malformed CSV header: " + error).where = where(plan.path, 1);
      return false;
    }
    plan.first_data_line = 1 + header_newlines;
    plan.csv_columns = names.size();
    plan.csv_column_slot.assign(names.size(), kSkipColumn);
    std::vector<bool> found(plan.fields.size(), false);
    for (std::size_t c = 0; c < names.size(); ++c) {
      if (names[c] == "id") {
        if (!plan.csv_has_id) plan.csv_column_slot[c] = kIdColumn;
        plan.csv_has_id = true;
        continue;
      }
      for (std::size_t s = 0; s < plan.names.size(); ++s) {
        if (plan.names[s] == names[c] && !found[s]) {
          plan.csv_column_slot[c] = static_cast<int>(s);
          found[s] = true;
        }
      }
    }
    for (std::size_t s = 0; s < found.size(); ++s) {
      if (!found[s]) plan.csv_absent_slots.push_back(s);
    }
    if (!plan.csv_has_id && plan.data_begin < plan.size) {
      sink_.error(diag::Code::MissingId, nullptr, {}, plan.path + " has no `id` column")
          .help("every entity needs an `id` column in its header")
          .where = where(plan.path, header_newlines);
      return false;
    }
    return true;
  }

  // ------------------------------------------------------------------------------------------
  // Parsing (workers) and merging (this thread)

  std::unique_ptr<ChunkOut> parse_task(const Task& task, JsonParser& json, std::unique_ptr<ChunkOut> out) {
    FileState& state = *files_[task.file];
    if (!out) out = std::make_unique<ChunkOut>();
    std::size_t start = state.bounds[task.chunk];
    std::size_t end = state.bounds[task.chunk + 1];
    if (state.plan.csv) {
      // A record may run past the chunk; one running more than 4 chunks past is left to the
      // serial re-parse (bounds a worker's wasted work when a chunk starts inside quotes).
      std::size_t slack = 4 * chunk_bytes_;
      std::size_t limit = end + std::min(slack, state.plan.size - end);
      parse_csv_chunk(state.plan, start, end, limit, *out);
    } else {
      parse_jsonl_chunk(state.plan, start, end, json, *out);
    }
    return out;
  }

  void parse_and_merge() {
    if (tasks_.empty()) {
      for (auto& state : files_) finish_file(*state);
      return;
    }
    unsigned threads = options_.threads ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = std::min<unsigned>(threads, 256);
    threads = static_cast<unsigned>(std::min<std::size_t>(threads, tasks_.size()));
    const std::size_t window = std::max<std::size_t>(4, 3 * static_cast<std::size_t>(threads));
    results_.clear();
    results_.resize(tasks_.size());

    auto worker = [&] {
      auto json = make_json_parser();
      for (;;) {
        std::size_t t = 0;
        std::unique_ptr<ChunkOut> recycled;
        {
          std::unique_lock lock(mutex_);
          work_cv_.wait(lock, [&] { return cancel_ || next_ >= tasks_.size() || next_ < merged_ + window; });
          if (cancel_ || next_ >= tasks_.size()) return;
          t = next_++;
          if (!spare_.empty()) {
            recycled = std::move(spare_.back());
            spare_.pop_back();
          }
        }
        std::unique_ptr<ChunkOut> out;
        try {
          out = parse_task(tasks_[t], *json, std::move(recycled));
        } catch (const std::exception& e) {  // out of memory on a huge record, ...
          out = std::make_unique<ChunkOut>();
          out->fatal = e.what();
          out->fatal += " while reading";
        }
        {
          std::lock_guard lock(mutex_);
          results_[t] = std::move(out);
        }
        done_cv_.notify_all();
      }
    };
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) pool.emplace_back(worker);

    try {
      merge_in_order();
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        cancel_ = true;
      }
      work_cv_.notify_all();
      for (auto& thread : pool) thread.join();
      throw;
    }
    for (auto& thread : pool) thread.join();
    results_.clear();
    spare_.clear();
  }

  void merge_in_order() {
    std::size_t current_file = static_cast<std::size_t>(-1);
    for (std::size_t t = 0; t < tasks_.size(); ++t) {
      std::unique_ptr<ChunkOut> out;
      {
        std::unique_lock lock(mutex_);
        done_cv_.wait(lock, [&] { return results_[t] != nullptr; });
        out = std::move(results_[t]);
      }
      const Task& task = tasks_[t];
      FileState& state = *files_[task.file];
      if (task.file != current_file) {
        current_file = task.file;
        state.started = std::chrono::steady_clock::now();
        if (options_.progress) options_.progress(state.plan.entity, 0, state.plan.size);
      }
      merge(state, task.chunk, out);
      bool last_chunk = task.chunk + 2 == state.bounds.size();
      if (last_chunk && !stop_) finish_file(state);
      {
        std::lock_guard lock(mutex_);
        merged_ = t + 1;
        if (stop_) cancel_ = true;
        spare_.push_back(std::move(out));  // reused (its buffers too) by the next worker task
      }
      work_cv_.notify_all();
      if (stop_) break;
    }
  }

  void merge(FileState& state, std::size_t chunk_index, std::unique_ptr<ChunkOut>& out) {
    const FilePlan& plan = state.plan;
    if (!out->fatal.empty()) {
      sink_.error(diag::Code::MalformedRecord, nullptr, {}, "cannot load " + plan.path + ": " + out->fatal).where =
          plan.path;
      failed_ = stop_ = true;
      return;
    }
    const std::size_t chunk_end = state.bounds[chunk_index + 1];
    if (out->start != state.expected_start) {
      // The chunk began inside a record (a quoted newline, or the previous chunk gave up on a long
      // record): re-parse this stretch from the true record boundary.
      if (state.expected_start >= chunk_end) {
        report_progress(state, chunk_end);
        return;
      }
      parse_csv_chunk(plan, state.expected_start, chunk_end, plan.size, *out);
    }
    const std::uint64_t line_base = state.line_at_expected;
    model::Table& table = *state.table;
    model::StringPool& strings = dataset_.strings;

    // Local -> global strings, in the chunk's first-occurrence order (deterministic): the local
    // pool's strings, with each id at its place among them. The chunk already hashed every
    // string; the shared pool's slots are prefetched a few strings ahead.
    const std::size_t pool_before = strings.size();
    const LocalPool& local_pool = out->pool;
    const std::size_t distinct = local_pool.size();
    const std::vector<ChunkOut::IdText>& id_texts = out->id_texts;
    global_.resize(distinct);
    id_global_.resize(state.label_ids ? 0 : id_texts.size());
    // Most of a chunk's strings are already in the shared pool (references, enum values), and
    // each costs three dependent misses there (slot, view, text): string k's slot is prefetched
    // kStage * 3 strings ahead, its view kStage * 2 ahead and its text kStage ahead.
    constexpr std::size_t kPrefetchAhead = 8;
    constexpr std::size_t kStage = 6;
    std::size_t slots_hinted = 0, views_hinted = 0, texts_hinted = 0;  // local strings prefetched
    std::size_t next = 0;                                               // next local string to intern
    auto hash_of = [&local_pool](std::size_t local) { return local_pool.hash(static_cast<std::uint32_t>(local)); };
    auto intern_locals = [&](std::size_t until) {
      for (; next < until; ++next) {
        for (; slots_hinted < std::min(next + 3 * kStage, distinct); ++slots_hinted) strings.prefetch(hash_of(slots_hinted));
        for (; views_hinted < std::min(next + 2 * kStage, distinct); ++views_hinted) strings.prefetch_view(hash_of(views_hinted));
        for (; texts_hinted < std::min(next + kStage, distinct); ++texts_hinted) strings.prefetch_text(hash_of(texts_hinted));
        global_[next] = strings.intern(local_pool.view(static_cast<std::uint32_t>(next)), hash_of(next));
      }
    };
    for (std::size_t k = 0; k < id_global_.size(); ++k) {  // none for label ids
      if (k + kPrefetchAhead < id_texts.size()) strings.prefetch(id_texts[k + kPrefetchAhead].hash);
      intern_locals(id_texts[k].strings_before);
      id_global_[k] = strings.intern(id_texts[k].text, id_texts[k].hash);
    }
    intern_locals(distinct);
    if (!state.reserved) reserve_for_file(state, *out, strings.size() - pool_before);
    if (row_of_str_.size() < strings.size()) row_of_str_.resize(strings.size(), model::kNoRow);

    // Duplicate ids (the first occurrence wins).
    const std::size_t rows = out->ids.size();
    const std::size_t base_rows = table.size();
    keep_.assign(rows, 1);
    std::size_t kept = 0;
    kept_local_.clear();
    auto duplicate = [&](std::size_t r, std::int32_t first) {
      keep_[r] = 0;
      auto first_row = static_cast<std::size_t>(first);
      std::uint64_t first_line = first_row < base_rows ? table.source_lines[first_row]
                                                       : line_base + out->lines[kept_local_[first_row - base_rows]];
      out->add_issue(out->lines[r], IssueKind::BadRecord, diag::Code::DuplicateId,
                     plan.entity + ": duplicate id \"" + display_text(id_texts[out->ids[r]].text) +
                         "\" (first at line " + std::to_string(first_line) + ")");
    };
    for (std::size_t r = 0; r < rows; ++r) {
      const auto row = static_cast<std::int32_t>(base_rows + kept);
      if (state.label_ids) {
        const ChunkOut::IdText& id = id_texts[out->ids[r]];
        if (state.ids_ascending) {
          // The ids' text is in the mapped file, parsed long ago by a worker: out of the cache.
          constexpr std::size_t kTextAhead = 32;
          if (r + kTextAhead < rows) model::prefetch_for_read(id_texts[out->ids[r + kTextAhead]].text.data());
          if (table.label_ids.empty() || ids_ascend(table.label_ids.back(), id.text)) {
            table.label_ids.push_back(id.text);
            kept_local_.push_back(static_cast<std::uint32_t>(r));
            ++kept;
            continue;
          }
          index_label_ids(state);
        }
        if (r + kPrefetchAhead < rows) label_rows_.prefetch(id_texts[out->ids[r + kPrefetchAhead]].hash);
        const std::int32_t first = label_rows_.find_or_add(id.hash, row, [&](std::int32_t earlier) {
          id_scratch_.clear();
          table.label_ids.append_to(id_scratch_, static_cast<std::size_t>(earlier));
          return id_scratch_ == id.text;
        });
        if (first != model::kNoRow) {
          duplicate(r, first);
          continue;
        }
        table.label_ids.push_back(id.text);
      } else {
        std::int32_t& first = row_of_str_[id_global_[out->ids[r]]];
        if (first != model::kNoRow) {
          duplicate(r, first);
          continue;
        }
        first = row;
      }
      kept_local_.push_back(static_cast<std::uint32_t>(r));
      ++kept;
    }
    append_rows(table, *out, line_base, kept == rows, state.label_ids);
    report_issues(state, *out, line_base);

    state.expected_start = out->end_pos;
    state.line_at_expected += out->newlines;
    state.file->release(out->start, out->end_pos);
    report_progress(state, std::max(out->end_pos, chunk_end));
  }

  /// The label ids merged so far into label_rows_ (they are distinct: they ascended), for a file
  /// whose ids stopped ascending.
  void index_label_ids(FileState& state) {
    state.ids_ascending = false;
    const model::FrontCodedStrings& ids = state.table->label_ids;
    label_rows_.reserve(std::max(state.expected_rows, ids.size() + 1));
    for (std::size_t row = 0; row < ids.size(); ++row) {
      id_scratch_.clear();
      ids.append_to(id_scratch_, row);
      label_rows_.find_or_add(hash_bytes(id_scratch_.data(), id_scratch_.size()), static_cast<std::int32_t>(row),
                              [](std::int32_t) { return false; });
    }
  }

  using StrIdRef = model::StrId;

  /// After the first chunk of a file: sizes the table's vectors, and the shared string pool, for
  /// the whole file by extrapolating the chunk's rows (and new strings) per byte. Avoids the
  /// rehashing and the reallocation copies (and their peak memory) of growing as rows arrive.
  void reserve_for_file(FileState& state, const ChunkOut& out, std::size_t new_strings) {
    state.reserved = true;
    const std::size_t parsed = out.end_pos > out.start ? out.end_pos - out.start : 0;
    const std::size_t rows = out.ids.size();
    if (parsed == 0 || rows == 0) return;
    const std::size_t remaining = state.plan.size > out.end_pos ? state.plan.size - out.end_pos : 0;
    if (remaining == 0) return;
    auto extrapolate = [&](std::size_t count) {
      const double scale = static_cast<double>(parsed + remaining) / static_cast<double>(parsed);
      return static_cast<std::size_t>(static_cast<double>(count) * scale * 1.02) + 16;
    };
    const std::size_t total_rows = extrapolate(rows);
    model::Table& table = *state.table;
    if (state.label_ids) state.expected_rows = total_rows;  // label_rows_ only if ids come out of order
    else table.ids.reserve(total_rows);
    table.source_lines.reserve(total_rows);
    for (const model::Column& local : out.columns) {
      model::Column& column = table.columns[local.def.name];
      switch (local.def.type) {
        case model::FieldType::Number:
        case model::FieldType::Bool:
        case model::FieldType::Timestamp:
        case model::FieldType::Date:
          column.numbers.reserve(total_rows);
          break;
        case model::FieldType::Text:
        case model::FieldType::Enum:
        case model::FieldType::Ref:
          column.strings.reserve(total_rows);
          break;
        case model::FieldType::TextList:
          column.list_offsets.reserve(total_rows + 1);
          column.list_present.reserve(total_rows);
          column.list_items.reserve(extrapolate(local.list_items.size()));
          break;
      }
    }
    model::StringPool& strings = dataset_.strings;
    const std::size_t remaining_strings = extrapolate(new_strings) - new_strings;
    strings.reserve(strings.size() + remaining_strings);
    row_of_str_.reserve(strings.size() + remaining_strings);
  }

  void append_rows(model::Table& table, const ChunkOut& out, std::uint64_t line_base, bool all, bool label_ids) {
    using model::FieldType;
    const std::size_t rows = out.ids.size();
    auto remap = [&](std::uint32_t local) { return local == model::kMissingStr ? model::kMissingStr : global_[local]; };
    for (std::size_t r = 0; r < rows; ++r) {
      if (!all && !keep_[r]) continue;
      if (!label_ids) table.ids.push_back(id_global_[out.ids[r]]);  // else merge() added them
      table.source_lines.push_back(static_cast<std::uint32_t>(line_base + out.lines[r]));
    }
    for (const model::Column& local : out.columns) {
      model::Column& column = table.columns[local.def.name];
      switch (local.def.type) {
        case FieldType::Number:
        case FieldType::Bool:
        case FieldType::Timestamp:
        case FieldType::Date:
          if (all) {
            column.numbers.insert(column.numbers.end(), local.numbers.begin(), local.numbers.end());
          } else {
            for (std::size_t r = 0; r < rows; ++r) {
              if (keep_[r]) column.numbers.push_back(local.numbers[r]);
            }
          }
          break;
        case FieldType::Text:
        case FieldType::Enum:
        case FieldType::Ref:
          if (column.strings.capacity() < column.strings.size() + rows) {  // geometric, not per chunk
            column.strings.reserve(std::max(column.strings.size() + rows, 2 * column.strings.capacity()));
          }
          for (std::size_t r = 0; r < rows; ++r) {
            if (all || keep_[r]) column.strings.push_back(remap(local.strings[r]));
          }
          break;
        case FieldType::TextList:
          for (std::size_t r = 0; r < rows; ++r) {
            if (!all && !keep_[r]) continue;
            for (std::uint32_t i = local.list_offsets[r]; i < local.list_offsets[r + 1]; ++i) {
              column.list_items.push_back(global_[local.list_items[i]]);
            }
            column.list_offsets.push_back(static_cast<std::uint32_t>(column.list_items.size()));
            column.list_present.push_back(local.list_present[r]);
          }
          break;
      }
    }
  }

  void report_issues(FileState& state, ChunkOut& out, std::uint64_t line_base) {
    const bool skip = options_.on_bad_record == BadRecordPolicy::Skip;
    std::stable_sort(out.issues.begin(), out.issues.end(),
                     [](const Issue& a, const Issue& b) { return a.line < b.line; });
    for (Issue& issue : out.issues) {
      if (issue.kind == IssueKind::EnumValue) {
        ++stats_.enum_warnings;
        if (state.enum_shown >= kShownPerFile) {
          ++state.enum_hidden;
          continue;
        }
        ++state.enum_shown;
        emit(diag::Severity::Warning, issue, state.plan.path, line_base);
        continue;
      }
      ++stats_.bad_records;
      if (skip) {
        ++stats_.skipped;
        if (state.bad_shown >= kShownPerFile) {
          ++state.bad_hidden;
          continue;
        }
        ++state.bad_shown;
        emit(diag::Severity::Warning, issue, state.plan.path, line_base);
      } else {
        failed_ = true;
        if (fail_shown_ >= kFailLimit) {
          stop_ = true;
          continue;
        }
        ++fail_shown_;
        diag::Diagnostic& d = emit(diag::Severity::Error, issue, state.plan.path, line_base);
        if (fail_shown_ == kFailLimit) {
          d.note("stopped after " + std::to_string(kFailLimit) +
                 " bad records; skipping bad records instead of failing loads the rest");
          stop_ = true;
        }
      }
    }
    stats_.enum_warnings += out.enum_overflow;
    state.enum_hidden += out.enum_overflow;
    stats_.bad_records += out.bad_overflow;
    if (skip) {
      stats_.skipped += out.bad_overflow;
      state.bad_hidden += out.bad_overflow;
    } else if (out.bad_overflow) {
      failed_ = true;
      stop_ = true;
    }
  }

  diag::Diagnostic& emit(diag::Severity severity, Issue& issue, const std::string& path, std::uint64_t line_base) {
    diag::Diagnostic& d = sink_.report(severity, issue.code, nullptr, {}, std::move(issue.message));
    d.where = where(path, line_base + issue.line);
    if (!issue.help.empty()) d.help(std::move(issue.help));
    return d;
  }

  void report_progress(const FileState& state, std::size_t done) {
    if (options_.progress) options_.progress(state.plan.entity, std::min(done, state.plan.size), state.plan.size);
  }

  void finish_file(FileState& state) {
    model::Table& table = *state.table;
    if (state.bad_hidden) {
      sink_.warning(diag::Code::MalformedRecord, nullptr, {},
                    std::to_string(state.bad_hidden) + " more bad record" + (state.bad_hidden == 1 ? "" : "s") +
                        " skipped")
          .where = state.plan.path;
    }
    if (state.enum_hidden) {
      sink_.warning(diag::Code::BadEnumValueInData, nullptr, {},
                    std::to_string(state.enum_hidden) + " more value" + (state.enum_hidden == 1 ? "" : "s") +
                        " not among their enum's values")
          .where = state.plan.path;
    }
    for (model::StrId id : table.ids) row_of_str_[id] = model::kNoRow;
    if (state.label_ids) {
      label_rows_.clear();
      table.label_ids.shrink_to_fit();
    }
    if (state.id_column) {
      model::Column& column = table.columns["id"];
      column.reset(*dataset_.schema.entity(state.plan.entity)->field("id"));
      column.strings = table.ids;
    }
    if (options_.compact) compact_later(table);
    stats_.records += table.size();
    stats_.records_by_entity[state.plan.entity] = table.size();
    stats_.seconds_by_entity[state.plan.entity] =
        state.started == std::chrono::steady_clock::time_point{}
            ? 0.0
            : std::chrono::duration<double>(std::chrono::steady_clock::now() - state.started).count();
    report_progress(state, state.plan.size);
    state.file->close();
  }

  /// Compacts a finished table on a thread of its own, while the merge goes on with the next file
  /// (the table is the only thing it touches, and nothing reads it before finish_compactions()):
  /// done on the merging thread, it held up the merge, and the workers once their window was full.
  void compact_later(model::Table& table) {
    try {
      compactions_.push_back(std::async(std::launch::async, [&table] { model::compact_table(table); }));
    } catch (const std::system_error&) {  // no thread to be had: here
      model::compact_table(table);
    }
  }

  /// Waits for the compactions; rethrows the first one's exception.
  void finish_compactions() {
    std::exception_ptr error;
    for (auto& compaction : compactions_) {
      try {
        compaction.get();
      } catch (...) {
        if (!error) error = std::current_exception();
      }
    }
    compactions_.clear();
    if (error) std::rethrow_exception(error);
  }

  // ------------------------------------------------------------------------------------------
  // References and id maps

  void resolve_references() {
    // Row by id of one target table at a time, by string id over the whole pool, in the merge's
    // row_of_str_ (its memory reused, not allocated again). Switching targets clears the previous
    // target's entries only, not the whole array.
    std::vector<std::int32_t>& dense = row_of_str_;
    dense.assign(dataset_.strings.size(), model::kNoRow);
    const model::Table* dense_for = nullptr;
    // Deterministic order: tables by name, columns by name.
    for (auto& state : files_) {
      model::Table& table = *state->table;
      for (auto& [name, column] : table.columns) {
        if (column.def.type != model::FieldType::Ref) continue;
        column.rows.assign(column.strings.size(), model::kNoRow);
        const model::Table* target = dataset_.table(column.def.ref_entity);
        if (column.def.ref_entity.empty() || !target || !target->interned_ids()) continue;  // plan() keeps them
        if (dense_for != target) {
          if (dense_for) {
            for (model::StrId id : dense_for->ids) dense[id] = model::kNoRow;
          }
          for (std::size_t r = 0; r < target->ids.size(); ++r) dense[target->ids[r]] = static_cast<std::int32_t>(r);
          dense_for = target;
        }
        // The rows on both cores (millions of lookups in an array of the pool's size), then the
        // dangling references, if any, in row order.
        std::atomic<std::size_t> dangling{0};
        const std::vector<model::StrId>& texts = column.strings;  // clang 14 cannot capture a structured binding
        std::vector<std::int32_t>& rows = column.rows;
        engine::for_each_part(texts.size(), kResolvePart, [&](std::size_t begin, std::size_t end) {
          std::size_t missed = 0;
          for (std::size_t r = begin; r < end; ++r) {
            const model::StrId id = texts[r];
            if (id == model::kMissingStr) continue;
            const std::int32_t row = id < dense.size() ? dense[id] : model::kNoRow;
            rows[r] = row;
            missed += row == model::kNoRow ? 1 : 0;
          }
          dangling += missed;
        });
        const std::size_t dangling_here = dangling;
        stats_.dangling_references += dangling_here;
        std::size_t shown = 0, hidden = 0;
        for (std::size_t r = 0; dangling_here > 0 && r < column.strings.size(); ++r) {
          const model::StrId id = column.strings[r];
          if (id == model::kMissingStr || column.rows[r] != model::kNoRow) continue;
          if (shown >= kDanglingShown) {
            ++hidden;
            continue;
          }
          ++shown;
          sink_.warning(diag::Code::DanglingReference, nullptr, {},
                        table.entity + "." + name + ": \"" + display_text(dataset_.strings.view(id)) +
                            "\" is not an id of " + column.def.ref_entity)
              .where = where(table.source_path, table.source_lines[r]);
        }
        if (hidden) {
          sink_.warning(diag::Code::DanglingReference, nullptr, {},
                        std::to_string(hidden) + " more dangling reference" + (hidden == 1 ? "" : "s") + " in " +
                            table.entity + "." + name)
              .where = table.source_path;
        }
        if (options_.compact) model::compact_resolved_reference(column);  // its rows came from the target's ids
      }
      // The table's references are reported: its source lines are read no more.
      if (!options_.keep_source_lines) std::vector<std::uint32_t>().swap(table.source_lines);
    }
  }

  const Discovery& discovery_;
  const LoadOptions& options_;
  model::Dataset& dataset_;
  LoadStats& stats_;
  diag::DiagnosticSink& sink_;

  std::size_t chunk_bytes_ = kDefaultChunkBytes;
  std::vector<std::unique_ptr<FileState>> files_;
  std::vector<Task> tasks_;

  std::mutex mutex_;
  std::condition_variable work_cv_, done_cv_;
  std::vector<std::unique_ptr<ChunkOut>> results_;
  std::vector<std::unique_ptr<ChunkOut>> spare_;
  std::size_t next_ = 0;
  std::size_t merged_ = 0;
  bool cancel_ = false;

  // merge scratch
  std::vector<model::StrId> global_;     // per local string
  std::vector<model::StrId> id_global_;  // per ChunkOut::id_texts entry
  std::vector<std::int32_t> row_of_str_;
  std::vector<std::uint8_t> keep_;
  std::vector<std::uint32_t> kept_local_;
  RowsById label_rows_;     // the ids of the file being merged, when they are labels
  std::string id_scratch_;  // a label id read back to compare

  std::vector<std::future<void>> compactions_;  // tables being compacted (compact_later())

  bool failed_ = false;
  bool stop_ = false;
  std::size_t fail_shown_ = 0;
};

}  // namespace

bool load(const Discovery& discovery, const LoadOptions& options, model::Dataset& dataset, LoadStats& stats,
          diag::DiagnosticSink& sink) {
  Loader loader(discovery, options, dataset, stats, sink);
  return loader.run();
}

}  // namespace rapport::load
