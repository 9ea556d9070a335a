// Finding data files and discovering what they hold beyond model v1.

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <system_error>

#include "engine/load/internal.hpp"
#include "engine/load/loader.hpp"
#include "model/time.hpp"

namespace rapport::load {

namespace fs = std::filesystem;
using namespace detail;

namespace {

bool is_entity_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

/// What the sampled values of one undeclared field look like.
struct Inference {
  std::size_t values = 0;
  bool numbers = true, bools = true, dates = true, timestamps = true, strings = true, lists = true;
  bool semicolons = false;  // CSV: some value contains `;`
  bool csv = false;

  static bool token_list(std::string_view text) {
    std::size_t item = 0;
    for (char c : text) {
      if (c == ';') {
        if (item == 0) return false;
        item = 0;
        continue;
      }
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                c == '.';
      if (!ok) return false;
      ++item;
    }
    return item > 0;
  }

  void saw_string(std::string_view text) {
    ++values;
    numbers = bools = lists = false;
    if (!model::parse_date(text)) dates = false;
    if (!model::parse_date_or_timestamp(text)) timestamps = false;
  }
  void saw_other(bool number, bool boolean, bool list) {
    ++values;
    strings = dates = timestamps = false;
    if (!number) numbers = false;
    if (!boolean) bools = false;
    if (!list) lists = false;
  }
  /// CSV: every value is text; classify it. Lists can't be told from text in general: a column
  /// counts as a list when some value has a `;` and every value is `;`-separated tokens
  /// ([A-Za-z0-9_.-]+, like topics and feature names).
  void saw_cell(std::string_view raw) {
    std::string_view text = trim(raw);
    ++values;
    if (text.find(';') != std::string_view::npos) semicolons = true;
    if (!token_list(text)) lists = false;
    double ignored = 0;
    if (!parse_number(text, ignored)) numbers = false;
    bool word = false;
    if (parse_bool_text(text, ignored) && text != "0" && text != "1") word = true;
    if (!word) bools = false;
    if (!model::parse_date(text)) dates = false;
    if (!model::parse_date_or_timestamp(text)) timestamps = false;
  }

  [[nodiscard]] model::FieldType type(const std::string& name) const {
    using model::FieldType;
    bool id_like = name.size() > 3 && name.ends_with("_id");
    if (values > 0 && lists && (!csv || semicolons)) return FieldType::TextList;
    if (id_like) return FieldType::Ref;
    if (values == 0) return FieldType::Text;
    if (numbers) return FieldType::Number;
    if (bools) return FieldType::Bool;
    if (dates) return FieldType::Date;
    if (timestamps) return FieldType::Timestamp;
    return FieldType::Text;
  }
};

constexpr std::size_t kSampleRecords = 100;
constexpr std::size_t kSampleCsvRecords = 1000;
constexpr std::size_t kSampleBytes = 4u << 20;

void sample_jsonl(const MappedFile& file, std::vector<std::string>& order, std::map<std::string, Inference>& seen) {
  namespace od = simdjson::ondemand;
  od::parser parser;
  const char* data = file.data();
  const std::size_t size = file.size();
  std::size_t pos = bom_length(data, size);
  std::size_t records = 0;
  while (pos < size && records < kSampleRecords && pos < kSampleBytes) {
    const void* nl = std::memchr(data + pos, '\n', size - pos);
    std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - data) : size;
    std::string_view line(data + pos, end - pos);
    pos = end + 1;
    if (trim(line).empty()) continue;
    ++records;
    simdjson::padded_string padded(line);
    od::document doc;
    if (parser.iterate(padded).get(doc)) continue;
    od::object object;
    if (doc.get_object().get(object)) continue;
    for (auto field_result : object) {
      od::field field;
      if (std::move(field_result).get(field)) break;
      std::string_view key_view;
      if (field.unescaped_key().get(key_view)) break;
      std::string key(key_view);
      auto [it, fresh] = seen.try_emplace(key);
      if (fresh) order.push_back(key);
      Inference& inf = it->second;
      od::value value = field.value();
      od::json_type type{};
      if (value.type().get(type)) break;
      switch (type) {
        case od::json_type::null: break;
        case od::json_type::string: {
          std::string_view text;
          if (value.get_string().get(text)) break;
          inf.saw_string(text);
          break;
        }
        case od::json_type::number: inf.saw_other(true, false, false); break;
        case od::json_type::boolean: inf.saw_other(false, true, false); break;
        case od::json_type::array: {
          bool strings = true;
          od::array array;
          if (value.get_array().get(array)) break;
          for (auto element : array) {
            od::json_type element_type{};
            if (element.type().get(element_type) || element_type != od::json_type::string) strings = false;
          }
          inf.saw_other(false, false, strings);
          break;
        }
        case od::json_type::object: inf.saw_other(false, false, false); break;
      }
    }
  }
}

bool sample_csv(const MappedFile& file, const std::string& path, std::vector<std::string>& order,
                std::map<std::string, Inference>& seen, diag::DiagnosticSink& sink) {
  std::vector<std::string> names;
  std::size_t data_begin = 0;
  std::uint32_t header_newlines = 0;
  std::string error;
  if (!read_csv_header(file.data(), file.size(), names, data_begin, header_newlines, error)) {
    sink.error(diag::Code::MalformedRecord, nullptr, {}, "malformed CSV header: " + error).where = path + ":1";
    return false;
  }
  std::vector<int> column_of;  // header column -> index in names (first occurrence only), -1 = ignore
  for (std::size_t c = 0; c < names.size(); ++c) {
    bool duplicate = std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(c), names[c]) !=
                     names.begin() + static_cast<std::ptrdiff_t>(c);
    column_of.push_back(names[c].empty() || duplicate ? -1 : static_cast<int>(c));
    if (column_of.back() >= 0) {
      seen.try_emplace(names[c]);
      order.push_back(names[c]);
    }
  }
  std::vector<CsvCell> cells;
  Arena arena;
  std::size_t pos = data_begin;
  std::uint32_t newlines = 0;
  std::size_t records = 0;
  while (pos < file.size() && records < kSampleCsvRecords && pos < kSampleBytes) {
    CsvStatus status = scan_csv_record(file.data(), file.size(), pos, file.size(), cells, newlines);
    if (status != CsvStatus::Ok) break;
    if (cells.size() != names.size()) continue;
    ++records;
    bool enough = true;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (column_of[c] < 0) continue;
      Inference& inf = seen[names[c]];
      inf.csv = true;
      if (inf.values >= kSampleRecords) continue;
      enough = false;
      std::string_view text = csv_cell_text(cells[c], arena);
      if (text.empty()) continue;
      inf.saw_cell(text);
    }
    if (enough) break;
  }
  return true;
}

}  // namespace

std::vector<DataFile> find_data_files(const std::string& dir, diag::DiagnosticSink& sink) {
  std::map<std::string, DataFile> jsonl, csv;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    sink.error(diag::Code::DataFileMissing, nullptr, {}, "cannot read the data directory: " + ec.message()).where = dir;
    return {};
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::directory_entry& entry = *it;
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec)) continue;
    std::string name = entry.path().filename().string();
    std::string ext = entry.path().extension().string();
    std::string stem = entry.path().stem().string();
    if ((ext != ".jsonl" && ext != ".csv") || !is_entity_name(stem)) continue;
    DataFile file;
    file.entity = stem;
    file.path = (fs::path(dir) / name).string();
    file.csv = ext == ".csv";
    (file.csv ? csv : jsonl)[stem] = file;
  }
  std::map<std::string, DataFile> chosen = jsonl;
  for (auto& [entity, file] : csv) {
    auto found = chosen.find(entity);
    if (found != chosen.end()) {
      sink.error(diag::Code::DataFileMissing, nullptr, {},
                 "both " + found->second.path + " and " + file.path + " hold `" + entity + "`; using the .jsonl file")
              .help("keep one file per entity")
              .where = dir;
      continue;
    }
    chosen.emplace(entity, file);
  }
  std::vector<DataFile> files;
  for (auto& [entity, file] : chosen) files.push_back(file);
  return files;
}

Discovery discover(const std::string& dir, diag::DiagnosticSink& sink) {
  Discovery discovery;
  discovery.dir = dir;
  discovery.schema = model::Schema::canonical();
  discovery.files = find_data_files(dir, sink);
  for (const DataFile& file : discovery.files) {
    MappedFile mapped;
    std::string error;
    if (!mapped.open(file.path, error)) {
      sink.error(diag::Code::DataFileMissing, nullptr, {}, "cannot read " + file.path + ": " + error).where = file.path;
      discovery.unreadable.insert(file.entity);
      continue;
    }
    std::vector<std::string> order;
    std::map<std::string, Inference> seen;
    if (file.csv) {
      if (!sample_csv(mapped, file.path, order, seen, sink)) {
        discovery.unreadable.insert(file.entity);
        continue;
      }
    } else {
      sample_jsonl(mapped, order, seen);
    }
    model::EntityDef& entity = discovery.schema.add_entity(file.entity);
    (void)entity;
    auto& present = discovery.present_fields[file.entity];
    for (const std::string& name : order) {
      present.insert(name);
      model::EntityDef* def = discovery.schema.entity_mut(file.entity);
      if (def->field(name)) continue;
      model::FieldDef field;
      field.name = name;
      field.type = seen[name].type(name);
      discovery.schema.add_field(file.entity, std::move(field));
    }
  }
  discovery.schema.resolve_discovered_links();
  return discovery;
}

}  // namespace rapport::load
