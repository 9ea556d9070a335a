#include "model/table.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace rapport::model {

void Column::reset(const FieldDef& field) {
  def = field;
  numbers.clear();
  strings.clear();
  rows.clear();
  list_offsets.assign(1, 0);
  list_items.clear();
  list_present.clear();
  strings_compacted = false;
  unresolved.clear();
  number_width = 0;
  number_base = 0;
  packed8.clear();
  packed16.clear();
  packed32.clear();
}

void Column::push_missing() {
  switch (def.type) {
    case FieldType::Number:
    case FieldType::Bool:
    case FieldType::Timestamp:
    case FieldType::Date:
      switch (number_width) {
        case 1: packed8.push_back(PackedNumbers<std::uint8_t>::kMissing); break;
        case 2: packed16.push_back(PackedNumbers<std::uint16_t>::kMissing); break;
        case 4: packed32.push_back(PackedNumbers<std::uint32_t>::kMissing); break;
        default: numbers.push_back(kMissingNumber); break;
      }
      break;
    case FieldType::Text:
    case FieldType::Enum:
      strings.push_back(kMissingStr);
      break;
    case FieldType::Ref:
      if (!strings_compacted) strings.push_back(kMissingStr);
      rows.push_back(kNoRow);
      break;
    case FieldType::TextList:
      list_offsets.push_back(list_offsets.back());
      list_present.push_back(0);
      break;
  }
}

bool Column::missing_at(std::size_t row) const {
  switch (def.type) {
    case FieldType::Number:
    case FieldType::Bool:
    case FieldType::Timestamp:
    case FieldType::Date:
      return is_missing(NumberValues(*this)[row]);
    case FieldType::Text:
    case FieldType::Enum:
      return strings[row] == kMissingStr;
    case FieldType::Ref:
      if (!strings_compacted) return strings[row] == kMissingStr;
      return rows[row] == kNoRow && unresolved_at(row) == kMissingStr;
    case FieldType::TextList:
      return list_present[row] == 0;
  }
  return true;
}

StrId Column::unresolved_at(std::size_t row) const {
  auto it = std::lower_bound(unresolved.begin(), unresolved.end(), row,
                             [](const std::pair<std::uint32_t, StrId>& entry, std::size_t r) { return entry.first < r; });
  return it != unresolved.end() && it->first == row ? it->second : kMissingStr;
}

std::size_t Column::memory_bytes() const {
  return numbers.capacity() * sizeof(double) + strings.capacity() * sizeof(StrId) +
         rows.capacity() * sizeof(std::int32_t) + list_offsets.capacity() * sizeof(std::uint32_t) +
         list_items.capacity() * sizeof(StrId) + list_present.capacity() +
         unresolved.capacity() * sizeof(unresolved[0]) + packed8.capacity() +
         packed16.capacity() * sizeof(std::uint16_t) + packed32.capacity() * sizeof(std::uint32_t);
}

std::size_t Table::memory_bytes() const {
  std::size_t bytes = ids.capacity() * sizeof(StrId) + source_lines.capacity() * sizeof(std::uint32_t);
  for (const auto& [name, column] : columns) bytes += column.memory_bytes();
  return bytes;
}

const Column* Table::column(std::string_view name) const {
  auto it = columns.find(name);
  return it == columns.end() ? nullptr : &it->second;
}

Column* Table::column_mut(std::string_view name) {
  auto it = columns.find(name);
  return it == columns.end() ? nullptr : &it->second;
}

std::int32_t Table::find_row(StrId id) const {
  const auto& rows = id_rows();
  auto it = rows.find(id);
  return it == rows.end() ? kNoRow : it->second;
}

const std::unordered_map<StrId, std::int32_t>& Table::id_rows() const {
  if (!row_of_id_built_) {
    row_of_id_.reserve(ids.size());
    for (std::size_t r = 0; r < ids.size(); ++r) row_of_id_.emplace(ids[r], static_cast<std::int32_t>(r));
    row_of_id_built_ = true;
  }
  return row_of_id_;
}

std::int32_t Table::append_row(StrId id) {
  auto row = static_cast<std::int32_t>(ids.size());
  ids.push_back(id);
  source_lines.push_back(0);
  for (auto& [name, column] : columns) {
    if (name == "id") {
      column.strings.push_back(id);
    } else {
      column.push_missing();
    }
  }
  if (!deleted.empty()) deleted.push_back(0);
  if (row_of_id_built_) row_of_id_.emplace(id, row);
  return row;
}

void Table::truncate(std::size_t rows) {
  if (rows >= ids.size()) return;
  if (row_of_id_built_) {
    for (std::size_t r = rows; r < ids.size(); ++r) {
      auto it = row_of_id_.find(ids[r]);
      if (it != row_of_id_.end() && it->second == static_cast<std::int32_t>(r)) row_of_id_.erase(it);
    }
  }
  ids.resize(rows);
  source_lines.resize(std::min(source_lines.size(), rows));
  if (!deleted.empty()) deleted.resize(rows);
  for (auto& [name, column] : columns) {
    switch (column.def.type) {
      case FieldType::TextList:
        for (auto it = column.list_overrides.begin(); it != column.list_overrides.end();) {
          it = it->first >= static_cast<std::int32_t>(rows) ? column.list_overrides.erase(it) : std::next(it);
        }
        column.list_items.resize(column.list_offsets[rows]);
        column.list_offsets.resize(rows + 1);
        column.list_present.resize(rows);
        break;
      case FieldType::Ref:
        column.rows.resize(rows);
        if (column.strings_compacted) {
          std::erase_if(column.unresolved, [rows](const auto& entry) { return entry.first >= rows; });
        } else {
          column.strings.resize(rows);
        }
        break;
      case FieldType::Text:
      case FieldType::Enum:
        column.strings.resize(rows);
        break;
      default:
        if (name == "id") {
          column.strings.resize(rows);
        } else {
          switch (column.number_width) {
            case 1: column.packed8.resize(rows); break;
            case 2: column.packed16.resize(rows); break;
            case 4: column.packed32.resize(rows); break;
            default: column.numbers.resize(rows); break;
          }
        }
        break;
    }
  }
}

void copy_dataset(const Dataset& from, Dataset& to) {
  to.schema = from.schema;
  to.strings.reserve(from.strings.size());
  // Interning in id order gives every string the id it has in `from`.
  for (StrId id = 0; id < from.strings.size(); ++id) to.strings.intern(from.strings.view(id));
  to.tables = from.tables;
}

TextValues::TextValues(const Dataset& data, const Column& column) {
  if (!column.strings_compacted) {
    strings_ = column.strings;
    size_ = column.strings.size();
    return;
  }
  compacted_ = true;
  rows_ = column.rows;
  size_ = column.rows.size();
  column_ = &column;
  if (const Table* target = data.table(column.def.ref_entity)) target_ids_ = target->ids;
}

void compact_references(Dataset& data) {
  for (auto& [entity, table] : data.tables) {
    for (auto& [name, column] : table.columns) {
      if (column.def.type != FieldType::Ref || column.strings_compacted) continue;
      const Table* target = data.table(column.def.ref_entity);
      if (!target || column.rows.size() != column.strings.size()) continue;
      std::vector<std::pair<std::uint32_t, StrId>> unresolved;
      bool agree = true;
      for (std::size_t r = 0; r < column.rows.size() && agree; ++r) {
        const std::int32_t row = column.rows[r];
        const StrId text = column.strings[r];
        if (row == kNoRow) {
          if (text != kMissingStr) unresolved.emplace_back(static_cast<std::uint32_t>(r), text);
        } else {
          agree = row >= 0 && static_cast<std::size_t>(row) < target->ids.size() &&
                  target->ids[static_cast<std::size_t>(row)] == text;
        }
      }
      if (!agree) continue;
      column.unresolved = std::move(unresolved);
      std::vector<StrId>().swap(column.strings);
      column.strings_compacted = true;
    }
  }
}

NumberValues::NumberValues(const Column& column) : base_(column.number_base), width_(column.number_width) {
  switch (width_) {
    case 1:
      packed_ = column.packed8.data();
      size_ = column.packed8.size();
      break;
    case 2:
      packed_ = column.packed16.data();
      size_ = column.packed16.size();
      break;
    case 4:
      packed_ = column.packed32.data();
      size_ = column.packed32.size();
      break;
    default:
      width_ = 0;
      numbers_ = column.numbers;
      size_ = column.numbers.size();
      break;
  }
}

namespace {

/// The packed offsets of `numbers` from `base`, the type's largest value for a missing one.
template <typename Offset>
std::vector<Offset> packed_offsets(const std::vector<double>& numbers, double base) {
  std::vector<Offset> out(numbers.size());
  for (std::size_t r = 0; r < numbers.size(); ++r) {
    const double value = numbers[r];
    out[r] = is_missing(value) ? PackedNumbers<Offset>::kMissing : static_cast<Offset>(value - base);
  }
  return out;
}

/// Packs one column when its values allow it (see compact_numbers()).
void pack_numbers(Column& column) {
  // Whole numbers of magnitude up to 2^52: their differences are exact doubles, and so is base +
  // offset when read back.
  constexpr double kLargest = 4503599627370496.0;
  double low = 0, high = 0;
  bool any = false;
  for (const double value : column.numbers) {
    if (is_missing(value)) continue;
    if (!(std::fabs(value) <= kLargest) || std::trunc(value) != value || (value == 0 && std::signbit(value))) return;
    if (!any || value < low) low = value;
    if (!any || value > high) high = value;
    any = true;
  }
  const double span = high - low;  // the largest offset; the type's largest value means missing
  if (span < 0xFF) {
    column.packed8 = packed_offsets<std::uint8_t>(column.numbers, low);
    column.number_width = 1;
  } else if (span < 0xFFFF) {
    column.packed16 = packed_offsets<std::uint16_t>(column.numbers, low);
    column.number_width = 2;
  } else if (span < 0xFFFFFFFF) {
    column.packed32 = packed_offsets<std::uint32_t>(column.numbers, low);
    column.number_width = 4;
  } else {
    return;
  }
  column.number_base = low;
  std::vector<double>().swap(column.numbers);
}

}  // namespace

void compact_numbers(Dataset& data) {
  for (auto& [entity, table] : data.tables) {
    for (auto& [name, column] : table.columns) {
      switch (column.def.type) {
        case FieldType::Number:
        case FieldType::Bool:
        case FieldType::Timestamp:
        case FieldType::Date:
          if (column.number_width == 0 && name != "id") pack_numbers(column);
          break;
        default:
          break;
      }
    }
  }
}

const Table* Dataset::table(std::string_view entity) const {
  auto it = tables.find(entity);
  return it == tables.end() ? nullptr : &it->second;
}

Table* Dataset::table_mut(std::string_view entity) {
  auto it = tables.find(entity);
  return it == tables.end() ? nullptr : &it->second;
}

}  // namespace rapport::model
