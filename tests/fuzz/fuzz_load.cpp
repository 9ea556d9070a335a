// libFuzzer harness for the data loader: the input becomes a data file (JSONL or CSV, chosen by the
// first byte along with the bad-record policy, thread count and chunk size), which is discovered and
// loaded with every field requested. The loader must never crash, and a successful load must give
// consistent tables.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/load/loader.hpp"

namespace {

namespace fs = std::filesystem;
using namespace rapport;

const fs::path& work_dir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("rapport_fuzz_load_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void check_table(const model::Table& table) {
  const std::size_t rows = table.size();
  check(table.source_lines.size() == rows);
  check(table.id_rows().size() == rows);
  for (const auto& [name, column] : table.columns) {
    switch (column.def.type) {
      case model::FieldType::Number:
      case model::FieldType::Bool:
      case model::FieldType::Timestamp:
      case model::FieldType::Date: check(column.numbers.size() == rows); break;
      case model::FieldType::Text:
      case model::FieldType::Enum: check(column.strings.size() == rows); break;
      case model::FieldType::Ref:
        check(column.strings.size() == rows);
        check(column.rows.size() == rows);
        break;
      case model::FieldType::TextList:
        check(column.list_present.size() == rows);
        check(column.list_offsets.size() == rows + 1);
        check(column.list_offsets.back() == column.list_items.size());
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t mode = data[0];
  const std::uint8_t chunk = data[1];
  const bool csv = mode & 1;
  const fs::path& dir = work_dir();
  fs::remove(dir / "accounts.jsonl");
  fs::remove(dir / "accounts.csv");
  {
    std::ofstream out(dir / (csv ? "accounts.csv" : "accounts.jsonl"), std::ios::binary);
    out.write(reinterpret_cast<const char*>(data + 2), static_cast<std::streamsize>(size - 2));
  }
  // A small users file so that owner_id references resolve (or dangle).
  if (!fs::exists(dir / "users.jsonl")) {
    std::ofstream users(dir / "users.jsonl", std::ios::binary);
    users << "{\"id\":\"u1\",\"name\":\"Ann\",\"active\":true}\n{\"id\":\"u2\",\"capacity_hours_week\":40}\n";
  }

  diag::DiagnosticSink sink;
  load::Discovery discovery = load::discover(dir.string(), sink);
  load::LoadOptions options;
  options.on_bad_record = (mode & 2) ? load::BadRecordPolicy::Skip : load::BadRecordPolicy::Fail;
  options.threads = 1u + ((mode >> 2) & 3u);
  options.chunk_bytes = chunk == 0 ? 0 : static_cast<std::size_t>(chunk) * 4;
  for (const auto& file : discovery.files) {
    const model::EntityDef* entity = discovery.schema.entity(file.entity);
    if (!entity) continue;
    for (const auto& field : entity->fields) options.fields[file.entity].insert(field.name);
  }
  model::Dataset dataset;
  dataset.schema = discovery.schema;
  load::LoadStats stats;
  const bool ok = load::load(discovery, options, dataset, stats, sink);
  if (ok) {
    for (const auto& [name, table] : dataset.tables) check_table(table);
  } else {
    check(sink.has_errors());
  }
  return 0;
}
