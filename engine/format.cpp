#include "engine/format.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

#include "diag/render.hpp"
#include "model/time.hpp"

namespace rapport::engine {

namespace {

constexpr std::size_t kEvidenceItems = 10;

/// `value` with `decimals` decimals, trailing zeros (and a bare point) dropped, "-0" as "0".
/// std::to_chars rounds exactly as printf's %.*f does, without its locale and parsing costs.
void append_trimmed(std::string& out, double value, int decimals) {
  char buffer[400];  // fixed notation of the largest double, with decimals
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, decimals);
  if (error != std::errc{}) {
    out += "?";
    return;
  }
  std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
  if (text.find('.') != std::string_view::npos) {
    while (!text.empty() && text.back() == '0') text.remove_suffix(1);
    if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  }
  if (text == "-0") text = "0";
  out += text;
}

void append_number(std::string& out, double value, dsl::Unit unit) {
  if (std::isnan(value)) {
    out += "missing";
    return;
  }
  // One decimal, dropped when it is zero: 26%, 85.3%, 6.2%. Rounding 85.3% to 85% would read
  // as "at the limit" next to a limit of 85%.
  if (unit == dsl::Unit::Percent) {
    append_trimmed(out, value * 100, 1);
    out += '%';
  } else if (std::fabs(value - std::round(value)) < 1e-9) {
    append_trimmed(out, std::round(value), 0);
  } else {
    append_trimmed(out, value, 2);
  }
}

/// Appends a row as people know it: its name, else its id.
void append_row_label(std::string& out, std::int32_t row, const model::Table& table, const model::Dataset& data) {
  const auto at = static_cast<std::size_t>(row);
  if (const model::StrId name = model::name_at(data, table, at); name != model::kMissingStr) {
    out += data.strings.view(name);
  } else {
    model::append_id(out, data, table, at);
  }
}


void append_scalar_text(std::string& out, Kind kind, dsl::Unit unit, double number, model::StrId str, std::int32_t row,
                        const std::string& entity, const model::Dataset& data) {
  switch (kind) {
    case Kind::Bool: out += std::isnan(number) ? "missing" : number != 0 ? "true" : "false"; return;
    case Kind::Number: append_number(out, number, unit); return;
    case Kind::Duration: out += std::isnan(number) ? "missing" : model::format_duration(number); return;
    case Kind::Date: out += std::isnan(number) ? "missing" : model::format_date(number); return;
    case Kind::Timestamp: out += std::isnan(number) ? "missing" : model::format_timestamp(number); return;
    case Kind::Text:
    case Kind::Enum:
      if (str == model::kMissingStr) out += "missing";
      else out += data.strings.view(str);
      return;
    case Kind::Row: {
      const model::Table* table = data.table(entity);
      if (row == model::kNoRow || !table) out += "missing";
      else append_row_label(out, row, *table, data);
      return;
    }
    default: out += "?"; return;
  }
}

void append_quoted(std::string& out, std::string_view text) {
  out += '"';
  diag::json_escape_to(out, text);
  out += '"';
}

/// Appends a row's id as a JSON string.
void append_quoted_id(std::string& out, std::int32_t row, const model::Table& table, const model::Dataset& data) {
  const auto at = static_cast<std::size_t>(row);
  if (table.interned_ids()) return append_quoted(out, data.strings.view(table.ids[at]));
  append_quoted(out, table.label_ids.at(at));
}

void append_scalar_json(std::string& out, Kind kind, double number, model::StrId str, std::int32_t row,
                        const std::string& entity, const model::Dataset& data) {
  switch (kind) {
    case Kind::Bool: out += std::isnan(number) ? "null" : number != 0 ? "true" : "false"; return;
    case Kind::Number:
      if (std::isnan(number)) out += "null";
      else append_trimmed(out, number, 6);
      return;
    case Kind::Duration:
    case Kind::Date:
    case Kind::Timestamp:
      if (std::isnan(number)) {
        out += "null";
        return;
      }
      out += '"';
      append_scalar_text(out, kind, dsl::Unit::None, number, str, row, entity, data);
      out += '"';
      return;
    case Kind::Text:
    case Kind::Enum:
      if (str == model::kMissingStr) out += "null";
      else append_quoted(out, data.strings.view(str));
      return;
    case Kind::Row: {
      const model::Table* table = data.table(entity);
      if (row == model::kNoRow || !table) out += "null";
      else append_quoted_id(out, row, *table, data);
      return;
    }
    default: out += "null"; return;
  }
}

/// Item k of a vector's storage, as the (number, string, row) triple the scalar formatters take.
struct Item {
  double number = 0;
  model::StrId str = 0;
  std::int32_t row = 0;
};
Item item(const Vec& v, Kind kind, std::size_t k) {
  switch (storage_of(kind)) {
    case Storage::Number: return {v.num[k], 0, 0};
    case Storage::String: return {0, v.str[k], 0};
    case Storage::Row: return {0, 0, v.row[k]};
  }
  return {};
}

}  // namespace

std::string format_number(double value, dsl::Unit unit) {
  std::string out;
  append_number(out, value, unit);
  return out;
}

void append_lane(std::string& out, const Vec& v, const dsl::Type& type, std::size_t lane, const model::Dataset& data) {
  std::size_t i = v.at(lane);
  if (v.kind == Kind::Set) {
    out += std::to_string(v.off[i + 1] - v.off[i]);
    out += ' ';
    out += type.entity;
    return;
  }
  if (v.kind == Kind::List) {
    if (v.list_missing(lane)) {
      out += "missing";
      return;
    }
    const std::size_t begin = v.off[i], end = v.off[i + 1];
    if (begin == end) {
      out += "none";
      return;
    }
    static const std::string kNoEntity;
    const dsl::Unit unit = type.element ? type.element->unit : dsl::Unit::None;
    const std::string& entity = type.element ? type.element->entity : kNoEntity;
    for (std::size_t k = begin; k < end; ++k) {
      if (k > begin) out += k + 1 == end ? " and " : ", ";
      Item it = item(v, v.element, k);
      append_scalar_text(out, v.element, unit, it.number, it.str, it.row, entity, data);
    }
    return;
  }
  Item it = item(v, v.kind, i);
  append_scalar_text(out, v.kind, type.unit, it.number, it.str, it.row, type.entity, data);
}

std::string format_lane(const Vec& v, const dsl::Type& type, std::size_t lane, const model::Dataset& data) {
  std::string out;
  append_lane(out, v, type, lane, data);
  return out;
}

void append_evidence_json(std::string& out, const Vec& v, const dsl::Type& type, std::size_t lane,
                          const model::Dataset& data) {
  std::size_t i = v.at(lane);
  if (v.kind == Kind::Set) {
    const model::Table* table = data.table(type.entity);
    std::size_t count = v.off[i + 1] - v.off[i];
    out += "{\"count\":";
    out += std::to_string(count);
    out += ",\"ids\":[";
    for (std::size_t k = v.off[i]; k < v.off[i + 1] && k < v.off[i] + kEvidenceItems; ++k) {
      if (k > v.off[i]) out += ',';
      if (table) append_quoted_id(out, v.row[k], *table, data);
      else out += "null";
    }
    out += "]}";
    return;
  }
  if (v.kind == Kind::List) {
    if (v.list_missing(lane)) {
      out += "null";
      return;
    }
    static const std::string kNoEntity;
    const std::string& entity = type.element ? type.element->entity : kNoEntity;
    out += '[';
    for (std::size_t k = v.off[i]; k < v.off[i + 1] && k < v.off[i] + kEvidenceItems; ++k) {
      if (k > v.off[i]) out += ',';
      Item it = item(v, v.element, k);
      append_scalar_json(out, v.element, it.number, it.str, it.row, entity, data);
    }
    out += ']';
    return;
  }
  Item it = item(v, v.kind, i);
  append_scalar_json(out, v.kind, it.number, it.str, it.row, type.entity, data);
}

}  // namespace rapport::engine
