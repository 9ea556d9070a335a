#include "model/table.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>

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
  code_width = 0;
  dictionary.clear();
  codes8.clear();
  codes16.clear();
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
      switch (code_width) {
        case 1: codes8.push_back(0); break;  // the dictionary's kMissingStr
        case 2: codes16.push_back(0); break;
        default: strings.push_back(kMissingStr); break;
      }
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
      switch (code_width) {
        case 1: return codes8[row] == 0;
        case 2: return codes16[row] == 0;
        default: return strings[row] == kMissingStr;
      }
    case FieldType::Ref:
      if (!strings_compacted) return strings[row] == kMissingStr;
      return rows[row] == kNoRow && unresolved_at(row) == kMissingStr;
    case FieldType::TextList:
      return list_present[row] == 0;
  }
  return true;
}

StrId* Column::copy_list(std::size_t row, StrId* out) const {
  if (const auto* items = list_override(row)) return std::copy(items->begin(), items->end(), out);
  const std::uint32_t begin = list_offsets[row], end = list_offsets[row + 1];
  return visit_list_items([&](const auto& items) {
    for (std::uint32_t i = begin; i < end; ++i) *out++ = items[i];
    return out;
  });
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
         packed16.capacity() * sizeof(std::uint16_t) + packed32.capacity() * sizeof(std::uint32_t) +
         dictionary.capacity() * sizeof(StrId) + codes8.capacity() + codes16.capacity() * sizeof(std::uint16_t);
}

std::size_t Table::memory_bytes() const {
  std::size_t bytes = ids.capacity() * sizeof(StrId) + source_lines.capacity() * sizeof(std::uint32_t) +
                      label_ids.memory_bytes();
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
  require_interned_ids("finding a row by id");
  if (!row_of_id_built_) {
    row_of_id_.reserve(ids.size());
    for (std::size_t r = 0; r < ids.size(); ++r) row_of_id_.emplace(ids[r], static_cast<std::int32_t>(r));
    row_of_id_built_ = true;
  }
  return row_of_id_;
}

void Table::require_interned_ids(std::string_view use) const {
  if (!interned_ids()) {
    throw std::logic_error("the ids of " + entity + " were loaded as labels, but " + std::string(use) + " reads them");
  }
}

std::int32_t Table::append_row(StrId id) {
  require_interned_ids("adding a row");
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
  if (rows >= size()) return;
  require_interned_ids("dropping rows");
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
        switch (column.code_width) {
          case 1: column.codes8.resize(column.list_offsets[rows]); break;
          case 2: column.codes16.resize(column.list_offsets[rows]); break;
          default: column.list_items.resize(column.list_offsets[rows]); break;
        }
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
        switch (column.code_width) {
          case 1: column.codes8.resize(rows); break;
          case 2: column.codes16.resize(rows); break;
          default: column.strings.resize(rows); break;
        }
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
  if (column.code_width != 0) {
    const bool bytes = column.code_width == 1;
    form_ = bytes ? Form::Codes8 : Form::Codes16;
    codes_ = bytes ? static_cast<const void*>(column.codes8.data()) : column.codes16.data();
    size_ = bytes ? column.codes8.size() : column.codes16.size();
    column_ = &column;
    return;
  }
  if (!column.strings_compacted) {
    strings_ = column.strings;
    size_ = column.strings.size();
    return;
  }
  form_ = Form::Rows;
  rows_ = column.rows;
  size_ = column.rows.size();
  column_ = &column;
  if (const Table* target = data.table(column.def.ref_entity)) target_ids_ = target->ids;
}

StrId name_at(const Dataset& data, const Table& table, std::size_t row) {
  const Column* names = table.column("name");
  if (!names) return kMissingStr;
  const TextValues values(data, *names);
  return row < values.size() ? values[row] : kMissingStr;
}

void append_id(std::string& out, const Dataset& data, const Table& table, std::size_t row) {
  if (table.interned_ids()) out += data.strings.view(table.ids[row]);
  else table.label_ids.append_to(out, row);
}

std::string id_of(const Dataset& data, const Table& table, std::size_t row) {
  std::string id;
  append_id(id, data, table, row);
  return id;
}

namespace {

/// A resolved Ref column that still has its strings, one per row.
bool compactable(const Column& column) {
  return column.def.type == FieldType::Ref && !column.strings_compacted && column.rows.size() == column.strings.size();
}

/// Keeps the ids of the rows that name none and frees the strings.
void keep_unresolved_only(Column& column) {
  std::vector<std::pair<std::uint32_t, StrId>> unresolved;
  for (std::size_t r = 0; r < column.rows.size(); ++r) {
    if (column.rows[r] == kNoRow && column.strings[r] != kMissingStr) {
      unresolved.emplace_back(static_cast<std::uint32_t>(r), column.strings[r]);
    }
  }
  column.unresolved = std::move(unresolved);
  std::vector<StrId>().swap(column.strings);
  column.strings_compacted = true;
}

}  // namespace

bool compact_reference(Column& column, const Table& target) {
  if (!compactable(column)) return false;
  for (std::size_t r = 0; r < column.rows.size(); ++r) {
    const std::int32_t row = column.rows[r];
    if (row != kNoRow && (row < 0 || static_cast<std::size_t>(row) >= target.ids.size() ||
                          target.ids[static_cast<std::size_t>(row)] != column.strings[r])) {
      return false;
    }
  }
  keep_unresolved_only(column);
  return true;
}

void compact_resolved_reference(Column& column) {
  if (compactable(column)) keep_unresolved_only(column);
}

void compact_references(Dataset& data) {
  for (auto& [entity, table] : data.tables) {
    for (auto& [name, column] : table.columns) {
      if (column.def.type != FieldType::Ref) continue;
      if (const Table* target = data.table(column.def.ref_entity)) compact_reference(column, *target);
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
    if (!(std::fabs(value) <= kLargest)) return;  // also infinities
    const auto whole = static_cast<std::int64_t>(value);  // a conversion, where trunc() is a call
    if (static_cast<double>(whole) != value || (whole == 0 && std::signbit(value))) return;
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

/// Dictionary-encodes `values` (a Text or Enum column's strings, or a TextList column's items)
/// into `column`'s codes when they hold few enough distinct strings (see compact_texts()), and
/// frees them.
void encode_texts(Column& column, std::vector<StrId>& values) {
  constexpr std::size_t kMaxCodes = 1u << 16;
  // Codes by first occurrence, found in a small open-addressing table (the strings' ids are
  // already dense and distinct: their low bits spread well enough).
  std::vector<StrId> dictionary{kMissingStr};
  std::size_t slot_count = 64;  // at most half full: twice the codes, or the rows
  while (slot_count < 2 * std::min(kMaxCodes, values.size())) slot_count *= 2;
  const std::size_t mask = slot_count - 1;
  std::vector<std::uint32_t> slots(slot_count, 0);  // code + 1; 0 = empty
  std::vector<std::uint16_t> codes(values.size());
  StrId last = kMissingStr;
  std::uint16_t last_code = 0;
  for (std::size_t r = 0; r < values.size(); ++r) {
    const StrId id = values[r];
    if (id != last) {
      last = id;
      if (id == kMissingStr) {
        last_code = 0;
      } else {
        std::size_t at = (static_cast<std::size_t>(id) * 0x9E3779B1u) & mask;
        while (slots[at] && dictionary[slots[at] - 1] != id) at = (at + 1) & mask;
        if (!slots[at]) {
          if (dictionary.size() == kMaxCodes) return;  // too many distinct strings: kept as they are
          dictionary.push_back(id);
          slots[at] = static_cast<std::uint32_t>(dictionary.size());
        }
        last_code = static_cast<std::uint16_t>(slots[at] - 1);
      }
    }
    codes[r] = last_code;
  }
  if (dictionary.size() <= 0x100) {
    column.codes8.assign(codes.begin(), codes.end());
    column.code_width = 1;
  } else {
    column.codes16 = std::move(codes);
    column.code_width = 2;
  }
  dictionary.shrink_to_fit();
  column.dictionary = std::move(dictionary);
  std::vector<StrId>().swap(values);
}

/// compact_texts() (`texts`) or compact_numbers() for one table.
void compact_columns(Table& table, bool texts) {
  for (auto& [name, column] : table.columns) {
    if (name == "id") continue;
    switch (column.def.type) {
      case FieldType::Number:
      case FieldType::Bool:
      case FieldType::Timestamp:
      case FieldType::Date:
        if (!texts && column.number_width == 0) pack_numbers(column);
        break;
      case FieldType::Text:
      case FieldType::Enum:
        if (texts && column.code_width == 0) encode_texts(column, column.strings);
        break;
      case FieldType::TextList:
        if (texts && column.code_width == 0 && column.list_overrides.empty()) encode_texts(column, column.list_items);
        break;
      default:
        break;
    }
  }
}

}  // namespace

void compact_texts(Dataset& data) {
  for (auto& [entity, table] : data.tables) compact_columns(table, true);
}

void compact_numbers(Dataset& data) {
  for (auto& [entity, table] : data.tables) compact_columns(table, false);
}

void compact_table(Table& table) {
  compact_columns(table, false);
  compact_columns(table, true);
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
