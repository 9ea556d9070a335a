#include "model/table.hpp"

namespace rapport::model {

void Column::reset(const FieldDef& field) {
  def = field;
  numbers.clear();
  strings.clear();
  rows.clear();
  list_offsets.assign(1, 0);
  list_items.clear();
  list_present.clear();
}

void Column::push_missing() {
  switch (def.type) {
    case FieldType::Number:
    case FieldType::Bool:
    case FieldType::Timestamp:
    case FieldType::Date:
      numbers.push_back(kMissingNumber);
      break;
    case FieldType::Text:
    case FieldType::Enum:
      strings.push_back(kMissingStr);
      break;
    case FieldType::Ref:
      strings.push_back(kMissingStr);
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
      return is_missing(numbers[row]);
    case FieldType::Text:
    case FieldType::Enum:
    case FieldType::Ref:
      return strings[row] == kMissingStr;
    case FieldType::TextList:
      return list_present[row] == 0;
  }
  return true;
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

const Table* Dataset::table(std::string_view entity) const {
  auto it = tables.find(entity);
  return it == tables.end() ? nullptr : &it->second;
}

Table* Dataset::table_mut(std::string_view entity) {
  auto it = tables.find(entity);
  return it == tables.end() ? nullptr : &it->second;
}

}  // namespace rapport::model
