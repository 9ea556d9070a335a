// JSONL chunks with simdjson On-Demand.
//
// A chunk is first parsed as one document stream (iterate_many: stage 1 runs over a whole batch
// instead of once per line). Line numbers come from the records' offsets. Anything unusual in the
// chunk (a malformed or rejected record, a record not alone on its line) makes the chunk be
// parsed again line by line, one iterate() per line, which words every diagnostic; so the
// results, diagnostics included, are those of the per-line path.
//
// Padding: simdjson reads up to SIMDJSON_PADDING bytes past a document (their content doesn't
// matter). A line parsed in place inside the mapped file has the rest of the file after it, so only
// lines ending within SIMDJSON_PADDING bytes of the end of the file are copied into a padded buffer
// (kept in the ChunkOut, because interned views may point into it). A stream over the file's last
// chunk runs on a padded copy of the chunk.
//
// Strings without backslashes are taken from the raw token (a view into the input, no copy);
// strings with escapes are unescaped by simdjson and copied into the chunk's Arena.

#include <simdjson.h>

#include <cstring>

#include "engine/load/internal.hpp"

namespace rapport::load::detail {

struct JsonParser {
  simdjson::ondemand::parser parser;
};

JsonParserPtr make_json_parser() {
  JsonParserPtr json(new JsonParser);
#ifdef SIMDJSON_THREADS_ENABLED
  // The loader's workers already keep the cores busy: no lookahead thread per document stream.
  json->parser.threaded = false;
#endif
  return json;
}

void JsonParserDeleter::operator()(JsonParser* parser) const { delete parser; }

namespace {

namespace od = simdjson::ondemand;
using model::FieldType;

/// cached_slot(): the key is not the one cached at its position.
constexpr int kUncached = -3;

/// Bytes per stage-1 pass of a document stream; a record longer than this falls back to the
/// per-line path (which grows the parser as needed).
constexpr std::size_t kStreamBatchBytes = 1u << 20;

std::string_view trim_token(std::string_view token) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\r' || token.back() == '\n')) {
    token.remove_suffix(1);
  }
  return token;
}

std::string got_token(std::string_view token) { return display_text(trim_token(token)); }

/// How a value appears in a type error: scalars as written, containers by kind.
std::string got_value(od::json_type type, std::string_view token) {
  if (type == od::json_type::object) return "an object";
  if (type == od::json_type::array) return "a list";
  return got_token(token);
}

std::string json_error_text(simdjson::error_code error) {
  switch (error) {
    case simdjson::UTF8_ERROR: return "invalid UTF-8";
    case simdjson::UNCLOSED_STRING: return "unclosed string";
    case simdjson::UNESCAPED_CHARS: return "unescaped control character in a string";
    case simdjson::STRING_ERROR: return "bad string escape";
    case simdjson::TAPE_ERROR: return "missing or extra commas, colons, braces or brackets";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT: return "unbalanced braces or brackets, or content after the object";
    case simdjson::DEPTH_ERROR: return "nested too deeply";
    case simdjson::CAPACITY:
    case simdjson::MEMALLOC: return "record too large";
    case simdjson::NUMBER_ERROR: return "malformed number";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR: return "malformed true, false or null";
    case simdjson::EMPTY: return "empty record";
    default: return simdjson::error_message(error);
  }
}

const model::FieldDef& id_def() {
  static const model::FieldDef def = [] {
    model::FieldDef f;
    f.name = "id";
    f.nullable = false;
    return f;
  }();
  return def;
}

/// Why a record was rejected.
struct RecordError {
  diag::Code code = diag::Code::MalformedRecord;
  std::string message;
  std::string help;
};

class LineParser {
 public:
  LineParser(const FilePlan& plan, JsonParser& parser, ChunkOut& out)
      : plan_(plan), parser_(parser.parser), out_(out), seen_(plan.fields.size(), 0) {}

  void parse(const char* line, std::size_t length, std::uint32_t line_index) {
    // Blank lines are allowed (and not records).
    std::size_t skip = 0;
    while (skip < length && (line[skip] == ' ' || line[skip] == '\t' || line[skip] == '\r')) ++skip;
    if (skip == length) return;

    const char* buffer = line;
    std::size_t capacity = static_cast<std::size_t>(plan_.data + plan_.size - line);
    if (capacity < length + simdjson::SIMDJSON_PADDING) {
      auto copy = std::make_unique_for_overwrite<char[]>(length + simdjson::SIMDJSON_PADDING);
      std::memcpy(copy.get(), line, length);
      std::memset(copy.get() + length, ' ', simdjson::SIMDJSON_PADDING);
      buffer = copy.get();
      capacity = length + simdjson::SIMDJSON_PADDING;
      out_.padded_copies.push_back(std::move(copy));
    }
    line_end_ = buffer + length;
    line_ = line_index;
    const std::size_t row = out_.ids.size();
    RecordError error;
    if (!parse_record(buffer, length, capacity, error)) {
      out_.truncate(row);
      out_.add_issue(line_index, IssueKind::BadRecord, error.code, std::move(error.message), std::move(error.help));
    }
  }

  /// Parses the records of [start, end) with one document stream. Returns false, leaving `out`
  /// to be reset, at anything the per-line path would report or treat differently: a JSON or
  /// record error, a record that is not an object, two records on a line or one spread over
  /// several lines, bytes left over at the end. Only the per-line path words diagnostics.
  bool parse_stream(std::size_t start, std::size_t end) {
    const char* base = plan_.data + start;
    const std::size_t length = end - start;
    if (plan_.size - end < simdjson::SIMDJSON_PADDING) {
      // The file's last chunk: simdjson reads past the end of its input.
      auto copy = std::make_unique_for_overwrite<char[]>(length + simdjson::SIMDJSON_PADDING);
      std::memcpy(copy.get(), base, length);
      std::memset(copy.get() + length, ' ', simdjson::SIMDJSON_PADDING);
      base = copy.get();
      out_.padded_copies.push_back(std::move(copy));
    }
    od::document_stream stream;
    if (parser_.iterate_many(base, length, kStreamBatchBytes).get(stream)) return false;
    std::size_t pos = 0;     // just past the previous record's line
    std::uint32_t line = 0;  // chunk-relative line at `pos`
    // Between records only blank lines (the per-line path skips them); counts their newlines.
    auto blank_until = [&](std::size_t to) {
      for (; pos < to; ++pos) {
        const char c = base[pos];
        if (c == '\n') {
          ++line;
        } else if (c != ' ' && c != '\t' && c != '\r') {
          return false;
        }
      }
      return true;
    };
    RecordError error;
    for (auto it = stream.begin(); it != stream.end(); ++it) {
      od::document_reference doc;
      if ((*it).get(doc)) return false;
      const std::size_t at = it.current_index();
      // A record starting before `pos` shares the previous record's line; one spread over lines
      // leaves its rest between the two records, which blank_until() refuses.
      if (at < pos || !blank_until(at)) return false;
      const void* nl = std::memchr(base + at, '\n', length - at);
      const std::size_t line_end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - base) : length;
      line_end_ = base + line_end;
      line_ = line;
      od::object object;
      if (doc.get_object().get(object) || !parse_fields(object, error) || !finish_record(error)) return false;
      pos = line_end;
    }
    if (!blank_until(length)) return false;
    out_.newlines = line;
    return true;
  }

 private:
  bool malformed(RecordError& error, simdjson::error_code code) {
    error.code = diag::Code::MalformedRecord;
    error.message = "malformed JSON record: " + json_error_text(code);
    return false;
  }
  bool wrong_type(RecordError& error, const model::FieldDef& def, od::json_type type, std::string_view token) {
    error.code = diag::Code::WrongFieldType;
    error.message = type_error_message(plan_.entity, def, got_value(type, token));
    error.help = std::string(type_help(def.type));
    return false;
  }

  /// The key of a field without unescaping when it has no backslash.
  bool key_of(od::field& field, std::string_view& key, simdjson::error_code& code) {
    const char* raw = field.key().raw();
    const char* at = raw;
    while (at < line_end_ && *at != '"' && *at != '\\') ++at;
    if (at < line_end_ && *at == '"') {
      key = std::string_view(raw, static_cast<std::size_t>(at - raw));
      return true;
    }
    code = field.unescaped_key().get(key);
    return code == simdjson::SUCCESS;
  }

  /// The slot of the key at `position` when it is the key last seen there (exports write the
  /// same keys in the same order on every line): compared in place in the input, without looking
  /// for its end first. A cached key has no backslash or quote, so a match followed by '"' is
  /// the whole key. Else kUncached.
  int cached_slot(od::field& field, std::size_t position) {
    if (position >= cache_keys_.size()) return kUncached;
    const char* raw = field.key().raw();
    const std::string& cached = cache_keys_[position];
    if (raw >= line_end_ || static_cast<std::size_t>(line_end_ - raw) <= cached.size() || raw[cached.size()] != '"' ||
        !same_bytes(raw, cached.data(), cached.size())) {
      return kUncached;
    }
    return cache_slots_[position];
  }

  int slot_of(std::string_view key, std::size_t position) {
    if (position < cache_keys_.size() && cache_keys_[position] == key) return cache_slots_[position];
    int slot = kSkipColumn;
    if (key == "id") {
      slot = kIdColumn;
    } else {
      for (std::size_t i = 0; i < plan_.names.size(); ++i) {
        if (plan_.names[i] == key) {
          slot = static_cast<int>(i);
          break;
        }
      }
    }
    if (position < 64 && key.find_first_of("\\\"") == std::string_view::npos) {
      if (cache_keys_.size() <= position) {
        cache_keys_.resize(position + 1);
        cache_slots_.resize(position + 1, kSkipColumn);
      }
      cache_keys_[position] = std::string(key);
      cache_slots_[position] = slot;
    }
    return slot;
  }

  /// A string value's text: a view into the input when it has no escapes, else unescaped into the
  /// arena. `token` is value.raw_json_token().
  [[gnu::always_inline]] bool string_of(od::value& value, std::string_view token, std::string_view& text,
                                        simdjson::error_code& code) {
    if (token.empty() || token.back() != '"') token = trim_token(token);  // exports rarely pad
    if (token.size() >= 2 && token.front() == '"' && token.back() == '"' &&
        !has_backslash_padded(token.data() + 1, token.size() - 2)) {  // simdjson's input is padded
      text = std::string_view(token.data() + 1, token.size() - 2);
      return true;
    }
    return unescaped_string_of(value, text, code);
  }

  /// string_of() for a string with escapes (rare: kept out of the inlined path).
  [[gnu::noinline]] bool unescaped_string_of(od::value& value, std::string_view& text, simdjson::error_code& code) {
    std::string_view unescaped;
    code = value.get_string().get(unescaped);
    if (code) return false;
    text = out_.arena.copy(unescaped);
    return true;
  }

  /// A scalar as text for Text/Enum/Ref fields: strings as such, numbers and booleans as written.
  /// `token` is value.raw_json_token(). Returns 0 = ok, 1 = null, 2 = wrong type, 3 = malformed.
  [[gnu::always_inline]] int text_of(od::value& value, od::json_type type, std::string_view token,
                                     std::string_view& text, simdjson::error_code& code) {
    switch (type) {
      case od::json_type::string:
        return string_of(value, token, text, code) ? 0 : 3;
      case od::json_type::null: {
        bool is_null = false;
        code = value.is_null().get(is_null);
        if (code || !is_null) {
          if (!code) code = simdjson::N_ATOM_ERROR;
          return 3;
        }
        return 1;
      }
      case od::json_type::number: {
        double ignored = 0;
        code = value.get_double().get(ignored);
        if (code) return 3;
        text = trim_token(value.raw_json_token());
        return 0;
      }
      case od::json_type::boolean: {
        bool ignored = false;
        code = value.get_bool().get(ignored);
        if (code) return 3;
        text = trim_token(value.raw_json_token());
        return 0;
      }
      default:
        return 2;
    }
  }

  bool parse_value(std::size_t slot, od::value& value, RecordError& error) {
    const model::FieldDef& def = plan_.fields[slot];
    model::Column& column = out_.columns[slot];
    od::json_type type{};
    simdjson::error_code code = value.type().get(type);
    if (code) return malformed(error, code);
    std::string_view token = value.raw_json_token();
    if (type == od::json_type::null) {
      bool is_null = false;
      code = value.is_null().get(is_null);
      if (code || !is_null) return malformed(error, code ? code : simdjson::N_ATOM_ERROR);
      column.push_missing();
      return true;
    }
    switch (def.type) {
      case FieldType::Number: {
        if (type == od::json_type::string && trim_token(token) == "\"\"") {
          column.push_missing();
          return true;
        }
        if (type != od::json_type::number) return wrong_type(error, def, type, token);
        double number = 0;
        if (value.get_double().get(number)) return wrong_type(error, def, type, token);
        column.numbers.push_back(number);
        return true;
      }
      case FieldType::Bool: {
        if (type == od::json_type::string && trim_token(token) == "\"\"") {
          column.push_missing();
          return true;
        }
        if (type != od::json_type::boolean) return wrong_type(error, def, type, token);
        bool flag = false;
        if (value.get_bool().get(flag)) return wrong_type(error, def, type, token);
        column.numbers.push_back(flag ? 1.0 : 0.0);
        return true;
      }
      case FieldType::Timestamp:
      case FieldType::Date: {
        if (type != od::json_type::string) return wrong_type(error, def, type, token);
        std::string_view text;
        if (!string_of(value, token, text, code)) return malformed(error, code);
        if (text.empty()) {
          column.push_missing();
          return true;
        }
        double seconds = 0;
        bool ok = def.type == FieldType::Timestamp ? parse_timestamp_value(text, seconds) : parse_date_value(text, seconds);
        if (!ok) return wrong_type(error, def, type, token);
        column.numbers.push_back(seconds);
        return true;
      }
      case FieldType::Text:
      case FieldType::Enum:
      case FieldType::Ref: {
        std::string_view text;
        int status = text_of(value, type, token, text, code);
        if (status == 3) return malformed(error, code);
        if (status == 2) return wrong_type(error, def, type, token);
        if (text.empty() && def.type != FieldType::Text) {
          column.push_missing();
          return true;
        }
        push_string(out_, slot, def, plan_.entity, text, line_);
        return true;
      }
      case FieldType::TextList: {
        if (type != od::json_type::array) return wrong_type(error, def, type, token);
        od::array array;
        code = value.get_array().get(array);
        if (code) return malformed(error, code);
        for (auto element_result : array) {
          od::value element;
          code = std::move(element_result).get(element);
          if (code) return malformed(error, code);
          od::json_type element_type{};
          code = element.type().get(element_type);
          if (code) return malformed(error, code);
          std::string_view text;
          int status = text_of(element, element_type, element.raw_json_token(), text, code);
          if (status == 3) return malformed(error, code);
          if (status != 0) {
            error.code = diag::Code::WrongFieldType;
            error.message = type_error_message(plan_.entity, def,
                                               "a list containing " + got_value(element_type, element.raw_json_token()));
            return false;
          }
          push_list_item(out_, column, text);
        }
        column.list_offsets.push_back(static_cast<std::uint32_t>(column.list_items.size()));
        column.list_present.push_back(1);
        return true;
      }
    }
    return true;
  }

  bool parse_id(od::value& value, RecordError& error, bool& have_id, bool& empty_id, std::uint32_t& id) {
    od::json_type type{};
    simdjson::error_code code = value.type().get(type);
    if (code) return malformed(error, code);
    const std::string_view token = value.raw_json_token();
    std::string_view text;
    int status = text_of(value, type, token, text, code);
    if (status == 3) return malformed(error, code);
    if (status == 2) return wrong_type(error, id_def(), type, token);
    have_id = status == 0 && !text.empty();
    empty_id = status == 0 && text.empty();
    if (have_id) id = out_.take_id(text);
    return true;
  }

  bool parse_record(const char* buffer, std::size_t length, std::size_t capacity, RecordError& error) {
    od::document doc;
    simdjson::error_code code = parser_.iterate(buffer, length, capacity).get(doc);
    if (code) return malformed(error, code);
    od::object object;
    code = doc.get_object().get(object);
    if (code) {
      if (code == simdjson::INCORRECT_TYPE) {
        error.code = diag::Code::MalformedRecord;
        std::string_view token;
        od::json_type type{};
        if (doc.raw_json_token().get(token)) token = std::string_view(buffer, std::min<std::size_t>(length, 60));
        if (doc.type().get(type)) type = od::json_type::string;
        error.message = "malformed JSON record: expected an object, got " + got_value(type, token);
        return false;
      }
      return malformed(error, code);
    }
    if (!parse_fields(object, error)) return false;
    const char* rest = nullptr;
    if (doc.current_location().get(rest) == simdjson::SUCCESS) {
      error.code = diag::Code::MalformedRecord;
      error.message = "malformed JSON record: unexpected content after the object";
      return false;
    }
    return finish_record(error);
  }

  /// The object's fields into the chunk's columns (the id into id_).
  bool parse_fields(od::object& object, RecordError& error) {
    const std::size_t row = out_.ids.size();
    std::fill(seen_.begin(), seen_.end(), 0);
    seen_count_ = 0;
    have_id_ = false;
    empty_id_ = false;
    std::size_t position = 0;
    for (auto field_result : object) {
      simdjson::error_code code = field_result.error();
      if (code) return malformed(error, code);
      od::field& field = field_result.value_unsafe();  // in place: no copy of the field per key
      int slot = cached_slot(field, position);
      if (slot == kUncached) {
        std::string_view key;
        if (!key_of(field, key, code)) return malformed(error, code);
        slot = slot_of(key, position);
      }
      ++position;
      if (slot == kSkipColumn) continue;
      if (slot == kIdColumn) {
        if (!parse_id(field.value(), error, have_id_, empty_id_, id_)) return false;
        continue;
      }
      auto s = static_cast<std::size_t>(slot);
      if (seen_[s]) {  // duplicate key: the last one wins
        out_.intern_pending();  // nothing pending may point at the entry dropped
        truncate_column(out_.columns[s], row);
      } else {
        seen_[s] = 1;
        ++seen_count_;
      }
      if (!parse_value(s, field.value(), error)) return false;
    }
    return true;
  }

  /// Checks the id and completes the row (fields the record lacks are missing).
  bool finish_record(RecordError& error) {
    out_.intern_pending();
    if (!have_id_) {
      error.code = diag::Code::MissingId;
      error.message = plan_.entity + (empty_id_ ? ": record has an empty id" : ": record has no id");
      return false;
    }
    if (seen_count_ < seen_.size()) {  // exports write every key: rarely taken
      for (std::size_t s = 0; s < seen_.size(); ++s) {
        if (!seen_[s]) out_.columns[s].push_missing();
      }
    }
    out_.ids.push_back(id_);
    out_.lines.push_back(line_);
    return true;
  }

  const FilePlan& plan_;
  od::parser& parser_;
  ChunkOut& out_;
  std::vector<std::uint8_t> seen_;
  std::size_t seen_count_ = 0;  // slots set in seen_
  std::vector<std::string> cache_keys_;
  std::vector<int> cache_slots_;
  const char* line_end_ = nullptr;
  std::uint32_t line_ = 0;
  // The record being parsed: its id, and whether it has one ("id": "" is empty, null is none).
  bool have_id_ = false;
  bool empty_id_ = false;
  std::uint32_t id_ = 0;
};

}  // namespace

void parse_jsonl_chunk(const FilePlan& plan, std::size_t start, std::size_t end, JsonParser& parser, ChunkOut& out) {
  out.init(plan);
  out.start = start;
  LineParser lines(plan, parser, out);
  if (lines.parse_stream(start, end)) {
    out.intern_pending();  // every record ended, so nothing is pending: the merge never sees a placeholder
    out.end_pos = end;
    return;
  }
  // Something in the chunk needs a diagnostic (or is unusual): parse it again line by line.
  out.init(plan);
  out.start = start;
  std::size_t pos = start;
  std::uint32_t line = 0;
  while (pos < end) {
    const void* nl = std::memchr(plan.data + pos, '\n', end - pos);
    std::size_t line_end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - plan.data) : end;
    lines.parse(plan.data + pos, line_end - pos, line);
    if (!nl) {
      pos = end;
      break;
    }
    ++out.newlines;
    ++line;
    pos = line_end + 1;
  }
  out.intern_pending();
  out.end_pos = end;
}

}  // namespace rapport::load::detail
