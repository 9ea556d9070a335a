#pragma once
// The typed columnar store: one Table per entity, one Column per loaded field.

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/front_coded.hpp"
#include "model/schema.hpp"
#include "model/string_pool.hpp"

namespace rapport::model {

constexpr double kMissingNumber = std::numeric_limits<double>::quiet_NaN();
inline bool is_missing(double value) { return std::isnan(value); }
constexpr std::int32_t kNoRow = -1;

/// One field's values for every row of a table. Which vectors are used depends on the type:
///   Number, Bool (0/1), Timestamp, Date (seconds)  -> numbers, NaN = missing
///   Text, Enum                                     -> strings, kMissingStr = missing
///   Ref                                            -> strings (raw id) and rows (target row, kNoRow = none);
///                                                     compacted (compact_references): rows alone, plus
///                                                     the ids that name no row in `unresolved`
///   TextList                                       -> list_offsets (rows+1), list_items, list_present (0 = missing)
/// Number, Bool, Timestamp and Date columns may be packed (compact_numbers): read them through
/// NumberValues. Text and Enum columns may be encoded (compact_texts): read them through TextValues.
/// TextList columns' items may be encoded the same way: read them through list_size(), copy_list()
/// and list_at().
struct Column {
  FieldDef def;
  std::vector<double> numbers;
  std::vector<StrId> strings;
  std::vector<std::int32_t> rows;
  std::vector<std::uint32_t> list_offsets;
  std::vector<StrId> list_items;
  std::vector<std::uint8_t> list_present;
  /// Ref columns after compact_references(): `strings` is freed, since a resolved reference's text
  /// is its target row's id; the references whose id names no row keep it here, by row
  /// (ascending). Read the strings through TextValues, which serves both forms.
  bool strings_compacted = false;
  std::vector<std::pair<std::uint32_t, StrId>> unresolved;
  /// The id a compacted reference at `row` names when it names no row, else kMissingStr.
  [[nodiscard]] StrId unresolved_at(std::size_t row) const;

  /// Number, Bool, Timestamp and Date columns after compact_numbers(): `numbers` is freed and each
  /// value is kept exactly, as its whole offset from `number_base`, in the narrowest of `packed8`,
  /// `packed16` and `packed32` that holds them all (`number_width` bytes; 0 = not packed). The
  /// type's largest value means missing. At a million accounts an activity's on_site, duration and
  /// start take 7 bytes instead of 24.
  std::uint8_t number_width = 0;
  double number_base = 0;
  std::vector<std::uint8_t> packed8;
  std::vector<std::uint16_t> packed16;
  std::vector<std::uint32_t> packed32;

  /// Text and Enum columns after compact_texts(): `strings` is freed and each row keeps the
  /// position of its string in `dictionary` (at most 65,536 distinct strings; position 0 is
  /// kMissingStr, for missing values), in `codes8` or `codes16` (`code_width` bytes; 0 = not
  /// encoded). An activity's type takes a byte instead of four. Read through TextValues.
  /// TextList columns encode their items so (`list_items` is freed; `list_offsets` index the
  /// codes): at a million accounts, 17 million activity topics in 17 MB instead of 67.
  std::uint8_t code_width = 0;
  std::vector<StrId> dictionary;
  std::vector<std::uint8_t> codes8;
  std::vector<std::uint16_t> codes16;

  /// Prepares storage for the field's type (empty, ready for push_back).
  void reset(const FieldDef& field);
  /// Appends a missing value.
  void push_missing();
  [[nodiscard]] bool missing_at(std::size_t row) const;
  /// Bytes allocated for the values (capacities), for `--timings`.
  [[nodiscard]] std::size_t memory_bytes() const;

  /// TextList rows whose list was replaced in place (engine/live.cpp's what-if copies: rewriting
  /// the compressed list_items for one row would move every later row's items). Readers of lists
  /// go through list_at(); empty in loaded data.
  std::unordered_map<std::int32_t, std::vector<StrId>> list_overrides;
  /// How many items a TextList row has (list_present says whether the list is missing).
  [[nodiscard]] std::size_t list_size(std::size_t row) const {
    if (const auto* items = list_override(row)) return items->size();
    return list_offsets[row + 1] - list_offsets[row];
  }
  /// Writes the list_size(row) items of a TextList row to `out`; returns the end of what it wrote.
  StrId* copy_list(std::size_t row, StrId* out) const;
  /// Calls `read(items)` with a TextList column's items, indexed like list_items (through
  /// list_offsets), as one array or an EncodedStrings: a loop over millions of rows without a
  /// branch per item on the encoding. Rows in list_overrides are not among them.
  template <typename Read>
  decltype(auto) visit_list_items(Read&& read) const;
  /// The items of a TextList row, decoded into `scratch` when the items are encoded (valid while
  /// the column is unchanged and, then, while `scratch` is).
  [[nodiscard]] std::span<const StrId> list_at(std::size_t row, std::vector<StrId>& scratch) const {
    if (const auto* items = list_override(row)) return *items;
    if (code_width == 0) return {list_items.data() + list_offsets[row], list_offsets[row + 1] - list_offsets[row]};
    scratch.resize(list_size(row));
    copy_list(row, scratch.data());
    return scratch;
  }

 private:
  [[nodiscard]] const std::vector<StrId>* list_override(std::size_t row) const {
    if (list_overrides.empty()) return nullptr;
    auto it = list_overrides.find(static_cast<std::int32_t>(row));
    return it == list_overrides.end() ? nullptr : &it->second;
  }
};

/// One entity's rows.
struct Table {
  std::string entity;
  std::string source_path;               // the file the rows came from
  std::vector<StrId> ids;                // the `id` column; empty when label_ids holds it
  /// The ids of a table whose ids only name its rows (LoadOptions::label_id_entities: no
  /// reference points at the table and no rule reads its `id`), front-coded instead of interned
  /// in the string pool: at a million accounts, 13 million activity and case ids. Read them
  /// through model::append_id(), which serves both forms.
  FrontCodedStrings label_ids;
  std::vector<std::uint32_t> source_lines;  // 1-based line (or CSV record start line) of each row; empty
                                            // when the loader didn't keep them (LoadOptions)
  std::map<std::string, Column, std::less<>> columns;

  [[nodiscard]] std::size_t size() const { return ids.empty() ? label_ids.size() : ids.size(); }
  /// True when the ids are in `ids` (interned), so rows can be found and joined by id.
  [[nodiscard]] bool interned_ids() const { return label_ids.empty(); }
  /// Throws std::logic_error when the ids are labels: `use` (what needs them) reads `ids`, which
  /// is then empty. A program error, not a data error: LoadOptions::label_id_entities names only
  /// entities nothing reads the ids of.
  void require_interned_ids(std::string_view use) const;
  /// Bytes allocated for ids, source lines and columns (capacities), for `--timings`.
  [[nodiscard]] std::size_t memory_bytes() const;
  [[nodiscard]] const Column* column(std::string_view name) const;
  Column* column_mut(std::string_view name);
  /// Row of an id, or kNoRow.
  [[nodiscard]] std::int32_t find_row(StrId id) const;
  /// The id -> row map, built on first use: only explanations and owners look rows up by id (the
  /// loader resolves references through dense arrays), and for a 10-million-row table the map
  /// costs seconds and hundreds of megabytes. Not thread-safe on its first call; `ids` must not
  /// change afterwards.
  [[nodiscard]] const std::unordered_map<StrId, std::int32_t>& id_rows() const;

  /// Rows deleted in place (engine/live.cpp): by row, 1 = deleted; empty = none. The evaluator
  /// skips them, so no rule sees them; row numbers of the other rows stay as they are.
  std::vector<std::uint8_t> deleted;
  [[nodiscard]] bool is_deleted(std::size_t row) const { return !deleted.empty() && deleted[row] != 0; }
  /// Appends a row with id `id` and every field missing (source line 0: not from a file); the id
  /// map, when built, learns it.
  std::int32_t append_row(StrId id);
  /// Drops the rows from `rows` on (the undo of append_row).
  void truncate(std::size_t rows);

 private:
  mutable std::unordered_map<StrId, std::int32_t> row_of_id_;
  mutable bool row_of_id_built_ = false;
};

/// A packed number column's values (Column::number_width): an offset per row from `base`, the
/// type's largest value for a missing one.
template <typename Offset>
struct PackedNumbers {
  const Offset* offsets = nullptr;
  double base = 0;
  static constexpr Offset kMissing = std::numeric_limits<Offset>::max();
  [[nodiscard]] double operator[](std::size_t row) const {
    const Offset offset = offsets[row];
    return offset == kMissing ? kMissingNumber : base + static_cast<double>(offset);
  }
};

/// The values of a Number, Bool, Timestamp or Date column, row by row, whichever way the column
/// keeps them (see Column::number_width). Cheap to copy; valid while the column keeps its rows.
class NumberValues {
 public:
  NumberValues() = default;
  explicit NumberValues(const Column& column);

  [[nodiscard]] double operator[](std::size_t row) const {
    switch (width_) {
      case 1: return packed<std::uint8_t>()[row];
      case 2: return packed<std::uint16_t>()[row];
      case 4: return packed<std::uint32_t>()[row];
      default: return numbers_[row];
    }
  }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  /// Calls `read(values)` with something indexable by row, giving doubles: the column's own
  /// array, or a PackedNumbers of its width (a loop over millions of rows without a branch per
  /// row on the form).
  template <typename Read>
  decltype(auto) visit(Read&& read) const {
    switch (width_) {
      case 1: return read(packed<std::uint8_t>());
      case 2: return read(packed<std::uint16_t>());
      case 4: return read(packed<std::uint32_t>());
      default: return read(numbers_);
    }
  }

 private:
  template <typename Offset>
  [[nodiscard]] PackedNumbers<Offset> packed() const {
    return {static_cast<const Offset*>(packed_), base_};
  }

  std::span<const double> numbers_;
  const void* packed_ = nullptr;
  double base_ = 0;
  std::size_t size_ = 0;
  std::uint8_t width_ = 0;
};

struct Dataset;

/// A dictionary-encoded column's strings (Column::code_width): a code per row into `dictionary`.
template <typename Code>
struct EncodedStrings {
  const Code* codes = nullptr;
  const StrId* dictionary = nullptr;
  [[nodiscard]] StrId operator[](std::size_t row) const { return dictionary[codes[row]]; }
};

template <typename Read>
decltype(auto) Column::visit_list_items(Read&& read) const {
  switch (code_width) {
    case 1: return read(EncodedStrings<std::uint8_t>{codes8.data(), dictionary.data()});
    case 2: return read(EncodedStrings<std::uint16_t>{codes16.data(), dictionary.data()});
    default: return read(list_items.data());
  }
}

/// The strings of a Text, Enum or Ref column, or of a table's ids, row by row, whichever way the
/// column keeps them (see Column::strings_compacted and Column::code_width). Cheap to copy; valid
/// while the dataset's tables keep their rows.
class TextValues {
 public:
  TextValues() = default;
  explicit TextValues(std::span<const StrId> strings) : strings_(strings), size_(strings.size()) {}
  /// The column's strings; `data` holds the target table of a compacted reference column.
  TextValues(const Dataset& data, const Column& column);

  [[nodiscard]] StrId operator[](std::size_t row) const {
    switch (form_) {
      case Form::Strings: return strings_[row];
      case Form::Codes8: return encoded<std::uint8_t>()[row];
      case Form::Codes16: return encoded<std::uint16_t>()[row];
      case Form::Rows: break;
    }
    const std::int32_t target = rows_[row];
    if (target >= 0) return target_ids_[static_cast<std::size_t>(target)];
    return column_->unresolved.empty() ? kMissingStr : column_->unresolved_at(row);
  }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  /// Calls `read(values)` with something indexable by row: the strings as one array when the
  /// column keeps them so, an EncodedStrings, or this (a loop over millions of rows without a
  /// branch per row on the form).
  template <typename Read>
  decltype(auto) visit(Read&& read) const {
    switch (form_) {
      case Form::Strings: return read(strings_);
      case Form::Codes8: return read(encoded<std::uint8_t>());
      case Form::Codes16: return read(encoded<std::uint16_t>());
      default: return read(*this);
    }
  }

 private:
  enum class Form : std::uint8_t { Strings, Rows, Codes8, Codes16 };
  template <typename Code>
  [[nodiscard]] EncodedStrings<Code> encoded() const {
    return {static_cast<const Code*>(codes_), column_->dictionary.data()};
  }

  std::span<const StrId> strings_;
  std::span<const std::int32_t> rows_;
  std::span<const StrId> target_ids_;
  const void* codes_ = nullptr;
  const Column* column_ = nullptr;
  std::size_t size_ = 0;
  Form form_ = Form::Strings;
};

/// The `name` of a row of `table`, or kMissingStr (the table loaded no name, or the row has none).
StrId name_at(const Dataset& data, const Table& table, std::size_t row);

/// Appends the id of a row of `table` to `out`, whichever way the table keeps its ids.
void append_id(std::string& out, const Dataset& data, const Table& table, std::size_t row);
[[nodiscard]] std::string id_of(const Dataset& data, const Table& table, std::size_t row);

/// A loaded data directory: the schema as discovered, the shared string pool and the tables.
struct Dataset {
  Schema schema;
  StringPool strings;
  std::map<std::string, Table, std::less<>> tables;

  [[nodiscard]] const Table* table(std::string_view entity) const;
  Table* table_mut(std::string_view entity);
};

/// Makes `to` (empty) a deep copy of `from` (a Dataset is not copyable because its string pool
/// isn't): the same schema, tables and string ids.
void copy_dataset(const Dataset& from, Dataset& to);

/// Frees the `strings` of every resolved Ref column (Column::strings_compacted): at a million
/// accounts, about 240 MB that only repeat the target rows' ids. For data that is only read from
/// then on (`rapport check`): live edits write `strings`. A column whose rows and strings don't
/// agree is left as it is.
void compact_references(Dataset& data);
/// compact_references() for one column whose references point into `target`; false when the
/// column is left as it is.
bool compact_reference(Column& column, const Table& target);
/// compact_reference() for a column whose rows were resolved from its target's ids (the
/// loader's): they are not checked against the target again.
void compact_resolved_reference(Column& column);

/// Packs every Number, Bool, Timestamp and Date column whose values are all whole numbers within
/// 2^32 - 2 of each other (Column::number_width): at a million accounts, about 250 MB less. The
/// values read back exactly; a column with a fraction, a -0 or a magnitude over 2^52 keeps its
/// doubles. For data that is only read from then on (`rapport check`): live edits write
/// `numbers`.
void compact_numbers(Dataset& data);

/// Dictionary-encodes every Text and Enum column (but `id`) with at most 65,536 distinct strings
/// (Column::code_width): at a million accounts an activity's type and subject, a case's status
/// and priority, ... For data that is only read from then on (`rapport check`): live edits write
/// `strings`.
void compact_texts(Dataset& data);
/// compact_numbers() and compact_texts() for one table (the loader's, as each file finishes).
void compact_table(Table& table);

}  // namespace rapport::model
