#include "engine/format.hpp"

#include <cmath>
#include <cstdio>

#include "diag/render.hpp"
#include "model/time.hpp"

namespace rapport::engine {

namespace {

constexpr std::size_t kEvidenceItems = 10;

std::string trim_decimals(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string s = buffer;
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

std::string scalar_text(Kind kind, dsl::Unit unit, double number, model::StrId str, std::int32_t row,
                        const std::string& entity, const model::Dataset& data) {
  switch (kind) {
    case Kind::Bool: return std::isnan(number) ? "missing" : number != 0 ? "true" : "false";
    case Kind::Number: return std::isnan(number) ? "missing" : format_number(number, unit);
    case Kind::Duration: return std::isnan(number) ? "missing" : model::format_duration(number);
    case Kind::Date: return std::isnan(number) ? "missing" : model::format_date(number);
    case Kind::Timestamp: return std::isnan(number) ? "missing" : model::format_timestamp(number);
    case Kind::Text:
    case Kind::Enum: return str == model::kMissingStr ? "missing" : std::string(data.strings.view(str));
    case Kind::Row: {
      const model::Table* table = data.table(entity);
      if (row == model::kNoRow || !table) return "missing";
      if (const model::Column* name = table->column("name"); name && name->strings[row] != model::kMissingStr) {
        return std::string(data.strings.view(name->strings[row]));
      }
      return std::string(data.strings.view(table->ids[row]));
    }
    default: return "?";
  }
}

std::string scalar_json(Kind kind, double number, model::StrId str, std::int32_t row, const std::string& entity,
                        const model::Dataset& data) {
  switch (kind) {
    case Kind::Bool: return std::isnan(number) ? "null" : number != 0 ? "true" : "false";
    case Kind::Number: return std::isnan(number) ? "null" : trim_decimals(number, 6);
    case Kind::Duration:
    case Kind::Date:
    case Kind::Timestamp:
      if (std::isnan(number)) return "null";
      return "\"" + scalar_text(kind, dsl::Unit::None, number, str, row, entity, data) + "\"";
    case Kind::Text:
    case Kind::Enum:
      return str == model::kMissingStr ? "null" : "\"" + diag::json_escape(data.strings.view(str)) + "\"";
    case Kind::Row: {
      const model::Table* table = data.table(entity);
      if (row == model::kNoRow || !table) return "null";
      return "\"" + diag::json_escape(data.strings.view(table->ids[row])) + "\"";
    }
    default: return "null";
  }
}

}  // namespace

std::string format_number(double value, dsl::Unit unit) {
  if (std::isnan(value)) return "missing";
  // One decimal, dropped when it is zero: 26%, 85.3%, 6.2%. Rounding 85.3% to 85% would read
  // as "at the limit" next to a limit of 85%.
  if (unit == dsl::Unit::Percent) return trim_decimals(value * 100, 1) + "%";
  if (std::fabs(value - std::round(value)) < 1e-9) return trim_decimals(std::round(value), 0);
  return trim_decimals(value, 2);
}

std::string format_lane(const Vec& v, const dsl::Type& type, std::size_t lane, const model::Dataset& data) {
  std::size_t i = v.at(lane);
  if (v.kind == Kind::Set) {
    std::size_t count = v.off[i + 1] - v.off[i];
    return std::to_string(count) + " " + type.entity;
  }
  if (v.kind == Kind::List) {
    if (v.list_missing(lane)) return "missing";
    std::vector<std::string> items;
    Kind element = v.element;
    dsl::Unit unit = type.element ? type.element->unit : dsl::Unit::None;
    std::string entity = type.element ? type.element->entity : "";
    for (std::size_t k = v.off[i]; k < v.off[i + 1]; ++k) {
      Storage s = storage_of(element);
      items.push_back(scalar_text(element, unit, s == Storage::Number ? v.num[k] : 0, s == Storage::String ? v.str[k] : 0,
                                  s == Storage::Row ? v.row[k] : 0, entity, data));
    }
    if (items.empty()) return "none";
    std::string out;
    for (std::size_t k = 0; k < items.size(); ++k) {
      if (k) out += k + 1 == items.size() ? " and " : ", ";
      out += items[k];
    }
    return out;
  }
  Storage s = storage_of(v.kind);
  return scalar_text(v.kind, type.unit, s == Storage::Number ? v.num[i] : 0, s == Storage::String ? v.str[i] : 0,
                     s == Storage::Row ? v.row[i] : 0, type.entity, data);
}

std::string evidence_json(const Vec& v, const dsl::Type& type, std::size_t lane, const model::Dataset& data) {
  std::size_t i = v.at(lane);
  if (v.kind == Kind::Set) {
    const model::Table* table = data.table(type.entity);
    std::size_t count = v.off[i + 1] - v.off[i];
    std::string out = "{\"count\":" + std::to_string(count) + ",\"ids\":[";
    for (std::size_t k = v.off[i]; k < v.off[i + 1] && k < v.off[i] + kEvidenceItems; ++k) {
      if (k > v.off[i]) out += ",";
      out += table ? "\"" + diag::json_escape(data.strings.view(table->ids[v.row[k]])) + "\"" : "null";
    }
    return out + "]}";
  }
  if (v.kind == Kind::List) {
    if (v.list_missing(lane)) return "null";
    std::string out = "[";
    Storage s = storage_of(v.element);
    std::string entity = type.element ? type.element->entity : "";
    for (std::size_t k = v.off[i]; k < v.off[i + 1] && k < v.off[i] + kEvidenceItems; ++k) {
      if (k > v.off[i]) out += ",";
      out += scalar_json(v.element, s == Storage::Number ? v.num[k] : 0, s == Storage::String ? v.str[k] : 0,
                         s == Storage::Row ? v.row[k] : 0, entity, data);
    }
    return out + "]";
  }
  Storage s = storage_of(v.kind);
  return scalar_json(v.kind, s == Storage::Number ? v.num[i] : 0, s == Storage::String ? v.str[i] : 0,
                     s == Storage::Row ? v.row[i] : 0, type.entity, data);
}

}  // namespace rapport::engine
