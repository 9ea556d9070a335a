#pragma once
// The typed columnar store: one Table per entity, one Column per loaded field.

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/schema.hpp"
#include "model/string_pool.hpp"

namespace rapport::model {

constexpr double kMissingNumber = std::numeric_limits<double>::quiet_NaN();
inline bool is_missing(double value) { return std::isnan(value); }
constexpr std::int32_t kNoRow = -1;

/// One field's values for every row of a table. Which vectors are used depends on the type:
///   Number, Bool (0/1), Timestamp, Date (seconds)  -> numbers, NaN = missing
///   Text, Enum                                     -> strings, kMissingStr = missing
///   Ref                                            -> strings (raw id) and rows (target row, kNoRow = none)
///   TextList                                       -> list_offsets (rows+1), list_items, list_present (0 = missing)
struct Column {
  FieldDef def;
  std::vector<double> numbers;
  std::vector<StrId> strings;
  std::vector<std::int32_t> rows;
  std::vector<std::uint32_t> list_offsets;
  std::vector<StrId> list_items;
  std::vector<std::uint8_t> list_present;

  /// Prepares storage for the field's type (empty, ready for push_back).
  void reset(const FieldDef& field);
  /// Appends a missing value.
  void push_missing();
  [[nodiscard]] bool missing_at(std::size_t row) const;
};

/// One entity's rows.
struct Table {
  std::string entity;
  std::string source_path;               // the file the rows came from
  std::vector<StrId> ids;                // the `id` column
  std::vector<std::uint32_t> source_lines;  // 1-based line (or CSV record start line) of each row
  std::map<std::string, Column, std::less<>> columns;

  [[nodiscard]] std::size_t size() const { return ids.size(); }
  [[nodiscard]] const Column* column(std::string_view name) const;
  Column* column_mut(std::string_view name);
  /// Row of an id, or kNoRow.
  [[nodiscard]] std::int32_t find_row(StrId id) const;
  /// The id -> row map, built on first use: only explanations and owners look rows up by id (the
  /// loader resolves references through dense arrays), and for a 10-million-row table the map
  /// costs seconds and hundreds of megabytes. Not thread-safe on its first call; `ids` must not
  /// change afterwards.
  [[nodiscard]] const std::unordered_map<StrId, std::int32_t>& id_rows() const;

 private:
  mutable std::unordered_map<StrId, std::int32_t> row_of_id_;
  mutable bool row_of_id_built_ = false;
};

/// A loaded data directory: the schema as discovered, the shared string pool and the tables.
struct Dataset {
  Schema schema;
  StringPool strings;
  std::map<std::string, Table, std::less<>> tables;

  [[nodiscard]] const Table* table(std::string_view entity) const;
  Table* table_mut(std::string_view entity);
};

}  // namespace rapport::model
