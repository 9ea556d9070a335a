// CSV (RFC 4180) records: quoted fields with "" escapes, commas and newlines inside quotes,
// \r\n or \n line ends, a UTF-8 BOM before the header.
//
// Leniency: a quote inside an unquoted field is kept as a literal character; a blank line is not a
// record. Strictness: a closing quote must be followed by a comma or the line end, and a quoted
// field must be closed before the end of the file (else MalformedRecord).
//
// Chunking (see loader.cpp): chunks start just past a '\n' that may lie inside a quoted field. A
// chunk parses the records that start before its end (the last may run past it) and reports where
// it stopped; the merge accepts a chunk only if it started exactly where the previous one stopped,
// else the main thread re-parses that stretch from the right place. So quoted newlines cost a
// re-parse of one chunk, never a wrong split.

#include <simdjson.h>

#include <cstring>

#include "engine/load/internal.hpp"

namespace rapport::load::detail {

CsvStatus scan_csv_record(const char* data, std::size_t size, std::size_t& pos, std::size_t limit,
                          std::vector<CsvCell>& cells, std::uint32_t& newlines) {
  cells.clear();
  std::size_t at = pos;
  if (at >= size) return CsvStatus::Eof;
  for (;;) {
    CsvCell cell;
    if (at < size && data[at] == '"') {
      // Quoted field.
      cell.quoted = true;
      std::size_t begin = ++at;
      const std::size_t search_end = limit < size ? limit + 1 : size;
      for (;;) {
        std::size_t quote = search_end;
        if (at < search_end) {
          if (const void* q = std::memchr(data + at, '"', search_end - at)) {
            quote = static_cast<std::size_t>(static_cast<const char*>(q) - data);
          }
          const char* stop = data + quote;
          for (const char* p = data + at; p < stop && (p = static_cast<const char*>(std::memchr(p, '\n', stop - p)));) {
            ++newlines;
            ++p;
          }
        }
        if (quote >= search_end) {
          if (search_end < size) {
            pos = at;
            return CsvStatus::GaveUp;
          }
          pos = size;
          return CsvStatus::Unterminated;
        }
        if (quote + 1 < size && data[quote + 1] == '"') {
          cell.has_escapes = true;
          at = quote + 2;
          continue;
        }
        cell.data = data + begin;
        cell.size = quote - begin;
        at = quote + 1;
        break;
      }
      cells.push_back(cell);
      if (at >= size) {
        pos = size;
        return CsvStatus::Ok;
      }
      char c = data[at];
      if (c == ',') {
        ++at;
        continue;
      }
      if (c == '\n') {
        ++newlines;
        pos = at + 1;
        return CsvStatus::Ok;
      }
      if (c == '\r' && at + 1 < size && data[at + 1] == '\n') {
        ++newlines;
        pos = at + 2;
        return CsvStatus::Ok;
      }
      // Text after the closing quote: skip to the end of the line, report the record.
      while (at < size && data[at] != '\n') ++at;
      if (at < size) {
        ++newlines;
        ++at;
      }
      pos = at;
      return CsvStatus::BadQuote;
    }
    // Unquoted field: up to a comma or the line end, 8 bytes at a time while there are 8.
    std::size_t begin = at;
    for (; at + 8 <= size; at += 8) {
      std::uint64_t word;
      std::memcpy(&word, data + at, 8);
      if (const std::uint64_t stops = diag::bytes_equal(word, ',') | diag::bytes_equal(word, '\n')) {
        at += diag::first_flagged_byte(stops);
        break;
      }
    }
    while (at < size && data[at] != ',' && data[at] != '\n') ++at;
    if (at > limit) {
      pos = begin;
      return CsvStatus::GaveUp;
    }
    cell.data = data + begin;
    cell.size = at - begin;
    if (at >= size || data[at] == '\n') {
      if (cell.size && cell.data[cell.size - 1] == '\r') --cell.size;
      cells.push_back(cell);
      if (at < size) {
        ++newlines;
        ++at;
      }
      pos = at;
      return CsvStatus::Ok;
    }
    cells.push_back(cell);
    ++at;  // the comma
    if (at >= size) {
      cells.push_back(CsvCell{data + at, 0, false, false});
      pos = at;
      return CsvStatus::Ok;
    }
  }
}

std::string_view csv_cell_text(const CsvCell& cell, Arena& arena) {
  if (!cell.has_escapes) return {cell.data, cell.size};
  char* out = arena.allocate(cell.size);
  std::size_t n = 0;
  for (std::size_t i = 0; i < cell.size; ++i) {
    out[n++] = cell.data[i];
    if (cell.data[i] == '"' && i + 1 < cell.size && cell.data[i + 1] == '"') ++i;
  }
  return {out, n};
}

bool read_csv_header(const char* data, std::size_t size, std::vector<std::string>& names, std::size_t& data_begin,
                     std::uint32_t& header_newlines, std::string& error) {
  names.clear();
  std::size_t pos = bom_length(data, size);
  header_newlines = 0;
  std::vector<CsvCell> cells;
  // Skip blank lines before the header.
  for (;;) {
    std::size_t before = pos;
    CsvStatus status = scan_csv_record(data, size, pos, size, cells, header_newlines);
    if (status == CsvStatus::Eof) {
      data_begin = size;
      return true;
    }
    if (status == CsvStatus::Unterminated || status == CsvStatus::BadQuote) {
      error = status == CsvStatus::Unterminated ? "unterminated quoted field in the header"
                                                : "text after a closing quote in the header";
      return false;
    }
    if (cells.size() == 1 && !cells[0].quoted && cells[0].size == 0) {
      if (pos == before) break;
      continue;
    }
    break;
  }
  Arena arena;
  for (const auto& cell : cells) {
    std::string_view text = csv_cell_text(cell, arena);
    names.emplace_back(trim(text));
  }
  data_begin = pos;
  return true;
}

namespace {

std::string quoted(std::string_view text) { return "\"" + display_text(text) + "\""; }

/// Converts one requested cell into its chunk column. Returns false with a message on a bad value.
/// `utf8_checked`: the cell's record lies in a stretch already found to be valid UTF-8.
bool convert_cell(const FilePlan& plan, ChunkOut& out, std::size_t slot, std::string_view text, std::uint32_t line,
                  bool utf8_checked, std::string& message, std::string& help) {
  using model::FieldType;
  const model::FieldDef& def = plan.fields[slot];
  model::Column& column = out.columns[slot];
  auto fail = [&](std::string_view shown) {
    message = type_error_message(plan.entity, def, quoted(shown));
    help = std::string(type_help(def.type));
    return false;
  };
  if (text.empty()) {
    // CSV can't tell an empty list from a missing one; an empty cell is the empty list, as
    // JSONL's [] is, so the two exports of the same data give the same findings.
    if (def.type == FieldType::TextList) {
      column.list_offsets.push_back(static_cast<std::uint32_t>(column.list_items.size()));
      column.list_present.push_back(1);
      return true;
    }
    column.push_missing();
    return true;
  }
  switch (def.type) {
    case FieldType::Number: {
      double value = 0;
      if (!parse_number(trim(text), value)) return fail(text);
      column.numbers.push_back(value);
      return true;
    }
    case FieldType::Bool: {
      double value = 0;
      if (!parse_bool_text(trim(text), value)) return fail(text);
      column.numbers.push_back(value);
      return true;
    }
    case FieldType::Timestamp: {
      double value = 0;
      if (!parse_timestamp_value(trim(text), value)) return fail(text);
      column.numbers.push_back(value);
      return true;
    }
    case FieldType::Date: {
      double value = 0;
      if (!parse_date_value(trim(text), value)) return fail(text);
      column.numbers.push_back(value);
      return true;
    }
    case FieldType::Text:
    case FieldType::Enum:
    case FieldType::Ref:
      if (!utf8_checked && !valid_utf8(text)) {
        message = plan.entity + "." + def.name + ": invalid UTF-8 in " + quoted(text);
        return false;
      }
      push_string(out, slot, def, plan.entity, text, line);
      return true;
    case FieldType::TextList: {
      if (!utf8_checked && !valid_utf8(text)) {
        message = plan.entity + "." + def.name + ": invalid UTF-8 in " + quoted(text);
        return false;
      }
      std::size_t at = 0;
      while (at <= text.size()) {
        std::size_t semi = text.find(';', at);
        if (semi == std::string_view::npos) semi = text.size();
        std::string_view item = trim(text.substr(at, semi - at));
        if (!item.empty()) push_list_item(out, column, item);
        at = semi + 1;
      }
      column.list_offsets.push_back(static_cast<std::uint32_t>(column.list_items.size()));
      column.list_present.push_back(1);
      return true;
    }
  }
  return true;
}

}  // namespace

void parse_csv_chunk(const FilePlan& plan, std::size_t start, std::size_t end, std::size_t limit, ChunkOut& out) {
  out.init(plan);
  out.start = start;
  std::vector<CsvCell> cells;
  cells.reserve(plan.csv_columns + 4);
  std::size_t pos = start;
  std::uint32_t newlines = 0;
  std::string message, help;
  // The chunk's bytes checked for UTF-8 at once (simdjson's validator, many bytes a cycle): cells
  // are cut at ASCII bytes, so every cell of a valid stretch is valid. A record running past the
  // chunk, or any cell of an invalid chunk, is checked on its own (the message names the cell).
  const bool chunk_utf8 = simdjson::validate_utf8(plan.data + start, end - start);
  while (pos < end) {
    const std::size_t record_start = pos;
    const std::uint32_t line = newlines;
    CsvStatus status = scan_csv_record(plan.data, plan.size, pos, limit, cells, newlines);
    const bool utf8_checked = chunk_utf8 && pos <= end;
    if (status == CsvStatus::Eof) break;
    if (status == CsvStatus::GaveUp) {
      // A record running far past the chunk: leave it to the serial re-parse.
      pos = record_start;
      newlines = line;
      break;
    }
    if (status == CsvStatus::Unterminated) {
      out.add_issue(line, IssueKind::BadRecord, diag::Code::MalformedRecord,
                    "malformed CSV record: a quoted field is not closed before the end of the file");
      continue;
    }
    if (status == CsvStatus::BadQuote) {
      out.add_issue(line, IssueKind::BadRecord, diag::Code::MalformedRecord,
                    "malformed CSV record: text after a closing quote (quotes inside a field must be doubled)");
      continue;
    }
    if (cells.size() == 1 && !cells[0].quoted && cells[0].size == 0) continue;  // blank line
    if (cells.size() != plan.csv_columns) {
      out.add_issue(line, IssueKind::BadRecord, diag::Code::MalformedRecord,
                    "malformed CSV record: expected " + std::to_string(plan.csv_columns) +
                        " cells as in the header, got " + std::to_string(cells.size()));
      continue;
    }
    const std::size_t row = out.ids.size();
    bool ok = true;
    std::string_view id_text;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      int slot = plan.csv_column_slot[c];
      if (slot == kSkipColumn) continue;
      std::string_view text = csv_cell_text(cells[c], out.arena);
      if (slot == kIdColumn) {
        id_text = text;
        continue;
      }
      if (!convert_cell(plan, out, static_cast<std::size_t>(slot), text, line, utf8_checked, message, help)) {
        out.truncate(row);
        out.add_issue(line, IssueKind::BadRecord, diag::Code::WrongFieldType, std::move(message), std::move(help));
        message.clear();
        help.clear();
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (id_text.empty()) {
      out.truncate(row);
      out.add_issue(line, IssueKind::BadRecord, diag::Code::MissingId, plan.entity + ": record has an empty id");
      continue;
    }
    if (!utf8_checked && !valid_utf8(id_text)) {
      out.truncate(row);
      out.add_issue(line, IssueKind::BadRecord, diag::Code::WrongFieldType,
                    plan.entity + ".id: invalid UTF-8 in " + quoted(id_text));
      continue;
    }
    for (std::size_t s : plan.csv_absent_slots) out.columns[s].push_missing();  // fields the file lacks
    out.ids.push_back(out.take_id(id_text));
    out.lines.push_back(line);
  }
  out.intern_pending();  // every record ended, so nothing is pending: the merge never sees a placeholder
  out.end_pos = pos;
  out.newlines = newlines;
}

}  // namespace rapport::load::detail
