#pragma once
// Loader internals shared by the readers (jsonl_reader.cpp, csv_reader.cpp), discovery and the
// orchestration in loader.cpp. Not part of the public API.
//
// Data flow: a file is mapped (MappedFile), split at line boundaries into chunks; each chunk is
// parsed by a worker into a ChunkOut (its own columns, with strings interned into a chunk-local
// LocalPool, ids kept as text); the main thread merges chunks in file order into the Table,
// interning the chunk's distinct strings and its ids into the shared StringPool (so StrIds are
// deterministic: first occurrence in load order).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "diag/bytes.hpp"
#include "diag/codes.hpp"
#include "model/prefetch.hpp"
#include "model/schema.hpp"
#include "model/table.hpp"

namespace rapport::load::detail {

// ---------------------------------------------------------------------------------------------
// Files

/// A read-only view of a whole file: mmap when possible, else read into memory.
class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  /// Opens and maps `path`; on failure returns false and sets `error` (strerror text).
  bool open(const std::string& path, std::string& error);
  [[nodiscard]] const char* data() const { return data_; }
  [[nodiscard]] std::size_t size() const { return size_; }
  /// Tells the kernel the pages of [begin, end) won't be needed again (drops them from RSS; the
  /// data stays readable, it is re-read from the page cache when touched).
  void release(std::size_t begin, std::size_t end) const;
  void close();

 private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;
  std::unique_ptr<char[]> owned_;
};

/// Length of a UTF-8 byte-order mark at the start of `data`, 0 or 3.
inline std::size_t bom_length(const char* data, std::size_t size) {
  return size >= 3 && static_cast<unsigned char>(data[0]) == 0xEF && static_cast<unsigned char>(data[1]) == 0xBB &&
                 static_cast<unsigned char>(data[2]) == 0xBF
             ? 3
             : 0;
}

/// Chunk boundaries over [begin, size): each boundary after the first is just past a '\n'.
/// Returns begin, b1, ..., size (at least {begin, size}).
std::vector<std::size_t> split_at_newlines(const char* data, std::size_t begin, std::size_t size,
                                           std::size_t chunk_size);

// ---------------------------------------------------------------------------------------------
// Strings

/// Bump allocator for strings that must outlive a parse buffer (unescaped JSON/CSV strings).
class Arena {
 public:
  void clear();
  std::string_view copy(std::string_view text);
  char* allocate(std::size_t size);

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::size_t used_ = 0;
  std::size_t capacity_ = 0;
};

/// model::StringPool::hash() of the bytes.
inline std::uint64_t hash_bytes(const char* data, std::size_t size) {
  return model::StringPool::hash(std::string_view(data, size));
}

using model::same_bytes;

/// True when [data, data + size) contains a backslash: 8 bytes at a time (JSON string values are
/// short, a call to memchr costs more than the scan).
inline bool has_backslash(const char* data, std::size_t size) {
  auto has = [](std::uint64_t word) { return diag::word_has_byte(word, '\\') != 0; };
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data + i, 8);
    if (has(word)) return true;
  }
  if (size >= 8) {  // the last bytes, as the word ending at the end
    std::uint64_t word;
    std::memcpy(&word, data + size - 8, 8);
    return has(word);
  }
  for (; i < size; ++i) {
    if (data[i] == '\\') return true;
  }
  return false;
}

/// has_backslash() for input with at least 8 readable bytes after its end (simdjson's padding
/// guarantees far more after any string in a document): whole words, the last one reaching past
/// the end and masked to the bytes inside. A JSON string value is usually one word or two.
/// word_has_byte() may also flag the byte after a backslash, never one before it: a flag inside
/// the mask always means a backslash inside.
[[gnu::always_inline]] inline bool has_backslash_padded(const char* data, std::size_t size) {
  if constexpr (std::endian::native != std::endian::little) {
    return has_backslash(data, size);
  } else {
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, data + i, 8);
      if (diag::word_has_byte(word, '\\')) return true;
    }
    if (i == size) return false;
    std::uint64_t word;
    std::memcpy(&word, data + i, 8);
    const std::uint64_t inside = (std::uint64_t{1} << (8 * (size - i))) - 1;  // the first size - i bytes
    return (diag::word_has_byte(word, '\\') & inside) != 0;
  }
}

/// Chunk-local interning: distinct strings get dense local ids in first-occurrence order. The views
/// point into the mapped file or the chunk's Arena and must stay valid until the chunk is merged.
class LocalPool {
 public:
  LocalPool();
  std::uint32_t intern(std::string_view text) { return intern(text, hash_bytes(text.data(), text.size())); }
  /// Same, with `text_hash == hash_bytes(text)` already computed.
  std::uint32_t intern(std::string_view text, std::uint64_t text_hash);
  /// Hints that a string with this hash will be interned soon.
  void prefetch(std::uint64_t text_hash) const { model::prefetch_for_read(&slots_[text_hash & mask_]); }
  /// Forgets all strings. The table keeps its capacity unless it is far larger than the strings
  /// just forgotten needed (one chunk with many distinct strings must not leave every later
  /// chunk probing, and clearing, a table too large for the cache).
  void clear();
  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  [[nodiscard]] std::string_view view(std::uint32_t id) const {
    return {text_.data() + entries_[id].offset, entries_[id].size};
  }
  /// model::StringPool::hash() of the string (computed once, reused when merging).
  [[nodiscard]] std::uint64_t hash(std::uint32_t id) const { return hashes_[id]; }

 private:
  void rehash(std::size_t capacity);
  /// The strings' text is copied here, one after another: comparing with a string seen before
  /// then reads this small block, not the string's first occurrence megabytes back in the input
  /// (a cache miss per repeated string); the merge reads it too.
  std::vector<char> text_;
  struct Entry {
    std::size_t offset = 0;
    std::size_t size = 0;
  };
  std::vector<Entry> entries_;
  std::vector<std::uint64_t> hashes_;  // per local id
  struct Slot {
    std::uint32_t id1 = 0;  // local id + 1, 0 = empty
    std::uint32_t tag = 0;  // high hash bits of the slot's string (one cache line per probe)
  };
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
};

/// True when `after` comes strictly after `before` in id order: ids compared as runs of digits
/// and runs of other bytes, a run of digits before any other run; digit runs by their value,
/// then by their count of leading zeros; other runs byte by byte, a run that is a prefix of the
/// other first. Distinct ids never compare equal (the runs spell the id back), so ids that each
/// come after the one before are distinct. In this order `act-9-2` < `act-9-10` < `act-10-1`,
/// as exports number records.
bool ids_ascend(std::string_view before, std::string_view after);

/// True when `text` is valid UTF-8 (fast path for ASCII).
bool valid_utf8(std::string_view text);
/// A value for a message: control characters and invalid UTF-8 escaped as \xNN, cut at ~60 bytes.
std::string display_text(std::string_view text);

// ---------------------------------------------------------------------------------------------
// What to read from a file

/// The fields to load from one file and how to find them.
struct FilePlan {
  std::string entity;
  std::string path;
  bool csv = false;
  std::vector<model::FieldDef> fields;  // requested fields except `id`, in slot order
  /// JSON: field name per slot (same order as `fields`).
  std::vector<std::string> names;
  /// CSV: slot of each header column; kIdColumn for `id`, kSkipColumn for unrequested columns.
  std::vector<int> csv_column_slot;
  std::size_t csv_columns = 0;
  bool csv_has_id = false;
  std::vector<std::size_t> csv_absent_slots;  // requested fields with no column in the header

  const char* data = nullptr;
  std::size_t size = 0;
  std::size_t data_begin = 0;        // after BOM (and the CSV header)
  std::uint32_t first_data_line = 1;  // 1-based line number at data_begin
};
constexpr int kIdColumn = -2;
constexpr int kSkipColumn = -1;

// ---------------------------------------------------------------------------------------------
// Chunk results

enum class IssueKind : std::uint8_t { BadRecord, EnumValue };

/// A problem found by a worker, reported by the main thread once the chunk's line base is known.
struct Issue {
  std::uint32_t line = 0;  // chunk-relative, 0-based
  IssueKind kind = IssueKind::BadRecord;
  diag::Code code = diag::Code::MalformedRecord;
  std::string message;
  std::string help;
};

/// Messages kept per chunk and kind; more are only counted (the sink shows ~20 a file anyway).
constexpr std::size_t kIssuesKeptPerChunk = 24;

struct ChunkOut {
  std::size_t start = 0;    // where parsing began
  std::size_t end_pos = 0;  // just past the last record parsed
  std::uint32_t newlines = 0;  // '\n' bytes in [start, end_pos)

  LocalPool pool;
  Arena arena;
  std::vector<std::unique_ptr<char[]>> padded_copies;  // lines copied for simdjson padding
  /// Ids are nearly all distinct, so interning them in the chunk's pool would cost a miss and an
  /// insert per row for nothing: they are kept as text, with their hash and their place among
  /// the pool's strings, and the merge interns them into the shared pool at that place (StrIds
  /// stay in first-occurrence order). Every id read is kept, a rejected record's too, as the
  /// rejected record's other strings stay in the pool: which records are kept doesn't change the
  /// order of the strings.
  struct IdText {
    std::string_view text;
    std::uint64_t hash = 0;
    std::uint32_t strings_before = 0;  // pool.size() when the id was read
  };
  std::vector<IdText> id_texts;
  std::vector<std::uint32_t> ids;    // per row, the index of its id in id_texts
  std::vector<std::uint32_t> lines;  // chunk-relative 0-based line of each row
  std::vector<model::Column> columns;  // one per FilePlan field; strings hold local ids
  /// Per Enum slot, the local id of each of the enum's values (kMissingStr until seen): a value
  /// is recognized by comparing it with the enum's few values, without hashing it.
  std::vector<std::vector<std::uint32_t>> enum_ids;
  /// Per slot, the last string interned and its local id: exports often repeat a value on
  /// consecutive rows (an activity's account and owner), and comparing with it costs less than
  /// hashing and probing the pool.
  struct LastString {
    std::string_view text;
    std::uint32_t id = 0;
    bool set = false;
    bool bad = false;  // an Enum value not among the enum's values
  };
  std::vector<LastString> last_string;
  /// Strings read but not yet interned. Interning one the pool holds waits for its slot, a cache
  /// miss at scale; so a string's slot is prefetched when the string is read, and the record's
  /// strings are interned together when it ends (intern_pending()), in the order they were read,
  /// which keeps local ids in first-occurrence order. The row's entry (and the column's last
  /// string, or the enum value's id) holds kPendingStr until then.
  struct PendingString {
    std::string_view text;
    std::uint64_t hash = 0;
    std::vector<std::uint32_t>* target = nullptr;  // a column's strings or list items
    std::size_t index = 0;
    LastString* last = nullptr;   // the column's last string, or null (list items)
    std::uint32_t* known = nullptr;  // the enum value's id, or null
  };
  std::vector<PendingString> pending;
  void defer_intern(std::string_view text, std::vector<std::uint32_t>& target, LastString* last, std::uint32_t* known) {
    const std::uint64_t h = hash_bytes(text.data(), text.size());
    pool.prefetch(h);
    pending.push_back(PendingString{text, h, &target, target.size(), last, known});
  }
  /// Interns the pending strings and writes their ids where they were left pending. Runs before
  /// anything that reads the pool's size (take_id), truncates a column, or ends a record.
  void intern_pending() {
    for (const PendingString& p : pending) {
      const std::uint32_t id = pool.intern(p.text, p.hash);
      if (p.index < p.target->size()) (*p.target)[p.index] = id;  // always, as callers resolve before truncating
      if (p.last) p.last->id = id;
      if (p.known) *p.known = id;
    }
    pending.clear();
  }

  std::vector<Issue> issues;
  std::size_t bad_records = 0;     // all bad records (kept in `issues` or not)
  std::size_t bad_overflow = 0;    // bad records beyond the kept messages
  std::size_t enum_warnings = 0;
  std::size_t enum_overflow = 0;
  std::string fatal;  // the chunk could not be parsed at all (out of memory): the load stops

  /// Prepares the columns for `plan`; a ChunkOut may be reused (buffers keep their capacity).
  void init(const FilePlan& plan);
  /// Drops rows from `row` on (a record that turned out bad).
  void truncate(std::size_t row);
  /// Keeps a record's id (see IdText); returns its index for `ids`.
  std::uint32_t take_id(std::string_view text) {
    intern_pending();
    id_texts.push_back(IdText{text, hash_bytes(text.data(), text.size()), static_cast<std::uint32_t>(pool.size())});
    return static_cast<std::uint32_t>(id_texts.size() - 1);
  }
  void add_issue(std::uint32_t line, IssueKind kind, diag::Code code, std::string message, std::string help = {});
};

/// Truncates a column to `rows` rows.
void truncate_column(model::Column& column, std::size_t rows);

// ---------------------------------------------------------------------------------------------
// Typed values from text (CSV cells; also JSON strings for timestamps and dates)

/// The phrase after "expected" in type errors: "a number", "a timestamp", ...
std::string_view expected_phrase(model::FieldType type);
/// The help line for a type error, or "".
std::string_view type_help(model::FieldType type);
/// `accounts.annual_revenue: expected a number, got "lots"` (`got` is already formatted).
std::string type_error_message(const std::string& entity, const model::FieldDef& field, std::string_view got);

/// A strict decimal number (optional sign, digits, fraction, exponent; no inf/nan/hex), finite.
bool parse_number(std::string_view text, double& value);
/// true/false (any case), 1/0.
bool parse_bool_text(std::string_view text, double& value);
/// Timestamp field: an ISO timestamp in UTC, or a date taken as 00:00Z.
bool parse_timestamp_value(std::string_view text, double& value);
/// Date field: a date, or a timestamp at exactly 00:00:00Z.
bool parse_date_value(std::string_view text, double& value);
/// ASCII blanks trimmed at both ends.
std::string_view trim(std::string_view text);

/// A local id left pending (ChunkOut::PendingString); not a StrId any pool hands out.
constexpr std::uint32_t kPendingStr = model::kMissingStr - 1;

/// The local id of a Text/Enum/Ref value of column `slot` not equal to the column's last one, or
/// kPendingStr when the value is left pending (ChunkOut::defer_intern) for the row about to be
/// pushed; `bad`: an Enum value not among the enum's values.
std::uint32_t intern_string(ChunkOut& out, std::size_t slot, const model::FieldDef& def, std::string_view text,
                            bool& bad);
/// The warning for an Enum value not among the enum's values.
[[gnu::cold]] void warn_enum_value(ChunkOut& out, const model::FieldDef& def, const std::string& entity,
                                   std::string_view text, std::uint32_t line);

/// Appends an interned string to a Text/Enum/Ref chunk column; checks enum values (a warning at
/// every occurrence of a value not among them). Inline: called for most fields of most records.
inline void push_string(ChunkOut& out, std::size_t slot, const model::FieldDef& def, const std::string& entity,
                        std::string_view text, std::uint32_t line) {
  ChunkOut::LastString& last = out.last_string[slot];
  if (!(last.set && last.text.size() == text.size() && same_bytes(last.text.data(), text.data(), text.size()))) {
    bool bad = false;
    const std::uint32_t id = intern_string(out, slot, def, text, bad);
    last = {text, id, true, bad};
  }
  out.columns[slot].strings.push_back(last.id);
  if (last.bad) warn_enum_value(out, def, entity, text, line);
}

/// Appends a TextList item to a chunk column, its id left pending until the record ends (the
/// entry is deferred at its index before it is pushed).
inline void push_list_item(ChunkOut& out, model::Column& column, std::string_view text) {
  out.defer_intern(text, column.list_items, nullptr, nullptr);
  column.list_items.push_back(kPendingStr);
}

// ---------------------------------------------------------------------------------------------
// Readers

/// JSONL: parses the lines in [start, end) of plan.data into `out`. `parser_state` is the worker's
/// reusable simdjson parser (opaque here).
struct JsonParser;
struct JsonParserDeleter {
  void operator()(JsonParser* parser) const;
};
using JsonParserPtr = std::unique_ptr<JsonParser, JsonParserDeleter>;
JsonParserPtr make_json_parser();
void parse_jsonl_chunk(const FilePlan& plan, std::size_t start, std::size_t end, JsonParser& parser, ChunkOut& out);

/// One CSV cell as found in the buffer.
struct CsvCell {
  const char* data = nullptr;
  std::size_t size = 0;
  bool quoted = false;
  bool has_escapes = false;  // contains "" that must be unescaped
};
enum class CsvStatus { Ok, Eof, Unterminated, BadQuote, GaveUp };
/// Scans one record at `pos` (advances it past the line end). `limit`: give up (GaveUp) when the
/// record runs past it. `newlines` is incremented by the '\n' bytes consumed.
CsvStatus scan_csv_record(const char* data, std::size_t size, std::size_t& pos, std::size_t limit,
                          std::vector<CsvCell>& cells, std::uint32_t& newlines);
/// The cell's text: a view into the buffer, or unescaped into `arena`.
std::string_view csv_cell_text(const CsvCell& cell, Arena& arena);
/// Parses records starting in [start, end) (the last may run past `end`, up to `limit`).
void parse_csv_chunk(const FilePlan& plan, std::size_t start, std::size_t end, std::size_t limit, ChunkOut& out);

/// Reads the CSV header of a mapped file. Returns false for a malformed header (message in `error`).
bool read_csv_header(const char* data, std::size_t size, std::vector<std::string>& names, std::size_t& data_begin,
                     std::uint32_t& header_newlines, std::string& error);

}  // namespace rapport::load::detail
