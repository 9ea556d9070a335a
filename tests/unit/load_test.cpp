// The data loader: discovery, typed loading of JSONL and CSV, bad data, chunked parallel parsing.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/load/loader.hpp"
#include "model/time.hpp"

namespace {

namespace fs = std::filesystem;
using namespace rapport;
using model::FieldType;

const std::string kData = std::string(RAPPORT_TEST_DATA) + "/data/load";

// ---------------------------------------------------------------------------------------------
// Helpers

struct Loaded {
  bool ok = false;
  load::Discovery discovery;
  std::unique_ptr<model::Dataset> dataset = std::make_unique<model::Dataset>();
  load::LoadStats stats;
  diag::DiagnosticSink sink;
};

using Fields = std::map<std::string, std::set<std::string>>;

/// Every field of every entity with a file.
Fields all_fields(const load::Discovery& discovery) {
  Fields fields;
  for (const auto& file : discovery.files) {
    for (const auto& f : discovery.schema.entity(file.entity)->fields) fields[file.entity].insert(f.name);
  }
  return fields;
}

std::unique_ptr<Loaded> load_dir(const std::string& dir, const Fields* fields = nullptr,
                                 load::BadRecordPolicy policy = load::BadRecordPolicy::Fail, unsigned threads = 2,
                                 std::size_t chunk_bytes = 0, bool keep_source_lines = true, bool compact = false,
                                 const std::set<std::string>& label_id_entities = {}) {
  auto result = std::make_unique<Loaded>();
  result->discovery = load::discover(dir, result->sink);
  load::LoadOptions options;
  options.keep_source_lines = keep_source_lines;
  options.compact = compact;
  options.label_id_entities = label_id_entities;
  options.on_bad_record = policy;
  options.threads = threads;
  options.chunk_bytes = chunk_bytes;
  options.fields = fields ? *fields : all_fields(result->discovery);
  result->dataset->schema = result->discovery.schema;
  result->ok = load::load(result->discovery, options, *result->dataset, result->stats, result->sink);
  return result;
}

/// "error DAT6003 path:line message" per diagnostic, in insertion order; paths relative to `dir`.
std::vector<std::string> diagnostics(const diag::DiagnosticSink& sink, const std::string& dir = "") {
  std::vector<std::string> out;
  for (const auto& d : sink.diagnostics()) {
    std::string where = d.where;
    if (!dir.empty() && where.rfind(dir + "/", 0) == 0) where = where.substr(dir.size() + 1);
    std::string line = std::string(diag::severity_name(d.severity)) + " " + std::string(diag::code_id(d.code)) + " " +
                       where + " " + d.message;
    out.push_back(line);
  }
  return out;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

/// A value as text: numbers with %.17g, strings quoted, lists [a,b], missing `null`. Compacted
/// columns (LoadOptions::compact) read as the others.
std::string value_at(const model::Dataset& ds, const model::Column& c, std::size_t row) {
  if (c.missing_at(row)) return "null";
  char buffer[64];
  switch (c.def.type) {
    case FieldType::Number:
    case FieldType::Bool:
    case FieldType::Timestamp:
    case FieldType::Date:
      std::snprintf(buffer, sizeof buffer, "%.17g", model::NumberValues(c)[row]);
      return buffer;
    case FieldType::Text:
    case FieldType::Enum:
    case FieldType::Ref:
      return "\"" + std::string(ds.strings.view(model::TextValues(ds, c)[row])) + "\"";
    case FieldType::TextList: {
      std::string out = "[";
      std::vector<model::StrId> scratch;
      for (model::StrId item : c.list_at(row, scratch)) {
        if (out.size() > 1) out += ",";
        out += std::string(ds.strings.view(item));
      }
      return out + "]";
    }
  }
  return "?";
}

std::string value_of(const Loaded& l, const std::string& entity, const std::string& field, const std::string& id) {
  const model::Table* table = l.dataset->table(entity);
  if (!table) return "<no table>";
  const model::Column* column = table->column(field);
  if (!column) return "<no column>";
  auto row = table->find_row(l.dataset->strings.find(id));
  if (row == model::kNoRow) return "<no row>";
  return value_at(*l.dataset, *column, static_cast<std::size_t>(row));
}

double seconds(const std::string& iso) { return *model::parse_date_or_timestamp(iso); }
std::string num(double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

/// The whole table as text rows, ordered as loaded: "id | field=value | ...".
std::vector<std::string> dump(const model::Dataset& ds, const model::Table& t, bool empty_list_is_missing = false) {
  std::vector<std::string> rows;
  for (std::size_t r = 0; r < t.size(); ++r) {
    std::string row = model::id_of(ds, t, r);
    for (const auto& [name, column] : t.columns) {
      std::string v = value_at(ds, column, r);
      if (empty_list_is_missing && v == "[]") v = "null";
      row += " | " + name + "=" + v;
      if (column.def.type == FieldType::Ref && !column.rows.empty()) {
        row += "@" + (column.rows[r] == model::kNoRow ? std::string("-") : std::to_string(column.rows[r]));
      }
    }
    rows.push_back(row);
  }
  return rows;
}

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("rapport_load_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream out(path / name, std::ios::binary);
    out << content;
    return (path / name).string();
  }
};

// ---------------------------------------------------------------------------------------------
// Discovery

TEST(LoadDiscover, FindsEntityFilesAndIgnoresOthers) {
  diag::DiagnosticSink sink;
  auto files = load::find_data_files(kData + "/basic_jsonl", sink);
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0].entity, "accounts");
  EXPECT_EQ(files[1].entity, "opportunities");
  EXPECT_EQ(files[2].entity, "teams");
  EXPECT_EQ(files[3].entity, "users");
  EXPECT_EQ(files[3].path, kData + "/basic_jsonl/users.jsonl");
  EXPECT_FALSE(files[3].csv);
  EXPECT_TRUE(sink.diagnostics().empty());
}

TEST(LoadDiscover, BothFormatsForOneEntityIsAnError) {
  TempDir dir;
  dir.write("accounts.jsonl", "{\"id\":\"a\"}\n");
  dir.write("accounts.csv", "id\na\n");
  dir.write("users.csv", "id\nu\n");
  diag::DiagnosticSink sink;
  auto files = load::find_data_files(dir.str(), sink);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_FALSE(files[0].csv);  // accounts: the .jsonl is kept
  EXPECT_TRUE(files[1].csv);
  ASSERT_EQ(sink.error_count(), 1u);
  EXPECT_EQ(sink.diagnostics()[0].code, diag::Code::DataFileMissing);
  EXPECT_NE(sink.diagnostics()[0].message.find("accounts.csv"), std::string::npos);
}

TEST(LoadDiscover, MissingDirectory) {
  diag::DiagnosticSink sink;
  auto files = load::find_data_files(kData + "/no_such_dir", sink);
  EXPECT_TRUE(files.empty());
  EXPECT_EQ(sink.error_count(), 1u);
}

void expect_discovered_schema(const load::Discovery& d) {
  // Declared fields keep their model type; extra fields are typed from their values.
  const model::EntityDef* users = d.schema.entity("users");
  ASSERT_NE(users, nullptr);
  EXPECT_TRUE(users->declared);
  EXPECT_EQ(users->field("active")->type, FieldType::Bool);
  EXPECT_TRUE(users->field("active")->declared);
  struct Expect {
    const char* name;
    FieldType type;
  };
  for (auto [name, type] : {Expect{"team_id", FieldType::Ref}, Expect{"hired_on", FieldType::Date},
                            Expect{"last_login", FieldType::Timestamp}, Expect{"skills", FieldType::TextList},
                            Expect{"badge_count", FieldType::Number}, Expect{"remote", FieldType::Bool}}) {
    const model::FieldDef* f = users->field(name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(f->type, type) << name;
    EXPECT_FALSE(f->declared) << name;
  }
  EXPECT_EQ(users->field("team_id")->ref_entity, "teams");
  // An entity beyond model v1.
  const model::EntityDef* teams = d.schema.entity("teams");
  ASSERT_NE(teams, nullptr);
  EXPECT_FALSE(teams->declared);
  EXPECT_EQ(teams->field("name")->type, FieldType::Text);
  EXPECT_EQ(teams->field("size")->type, FieldType::Number);
  EXPECT_EQ(teams->field("lead_id")->type, FieldType::Ref);
  EXPECT_EQ(teams->field("lead_id")->ref_entity, "");  // no `leads` entity
  // What the files really have.
  EXPECT_EQ(d.present_fields.at("teams"), (std::set<std::string>{"id", "name", "lead_id", "size"}));
  EXPECT_TRUE(d.present_fields.at("users").count("capacity_hours_week"));
  EXPECT_FALSE(d.present_fields.at("accounts").count("nickname"));
  EXPECT_EQ(d.present_fields.at("opportunities").size(), 12u);
}

TEST(LoadDiscover, TypesExtraFieldsAndEntitiesFromJsonl) {
  diag::DiagnosticSink sink;
  auto d = load::discover(kData + "/basic_jsonl", sink);
  EXPECT_TRUE(sink.diagnostics().empty());
  expect_discovered_schema(d);
}

TEST(LoadDiscover, TypesExtraFieldsAndEntitiesFromCsv) {
  diag::DiagnosticSink sink;
  auto d = load::discover(kData + "/basic_csv", sink);
  EXPECT_TRUE(sink.diagnostics().empty());
  expect_discovered_schema(d);
}

TEST(LoadDiscover, ReportsDeclaredFieldsTheDataLacks) {
  TempDir dir;
  dir.write("users.csv", "id,name\nu1,Ann\n");
  diag::DiagnosticSink sink;
  auto d = load::discover(dir.str(), sink);
  EXPECT_EQ(d.present_fields.at("users"), (std::set<std::string>{"id", "name"}));
  // The schema still declares the field; loading it gives missing values.
  EXPECT_NE(d.schema.entity("users")->field("capacity_hours_week"), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Typed values

void expect_basic_values(const Loaded& l) {
  // users: every scalar type, nulls, absent keys, non-ASCII, quotes and commas.
  EXPECT_EQ(value_of(l, "users", "name", "u2"), "\"Zoë Müller\"");
  EXPECT_EQ(value_of(l, "users", "name", "u3"), "\"O'Neil, Pat\"");
  EXPECT_EQ(value_of(l, "users", "email", "u1"), "\"ana@x.example\"");
  EXPECT_EQ(value_of(l, "users", "email", "u2"), "null");  // null / empty cell
  EXPECT_EQ(value_of(l, "users", "email", "u3"), "null");  // absent key
  EXPECT_EQ(value_of(l, "users", "role", "u1"), "\"account_manager\"");
  EXPECT_EQ(value_of(l, "users", "active", "u1"), "1");
  EXPECT_EQ(value_of(l, "users", "active", "u2"), "0");
  EXPECT_EQ(value_of(l, "users", "capacity_hours_week", "u2"), "32.5");
  EXPECT_EQ(value_of(l, "users", "capacity_hours_week", "u3"), "null");
  EXPECT_EQ(value_of(l, "users", "manager_id", "u1"), "\"u3\"");
  EXPECT_EQ(value_of(l, "users", "manager_id", "u3"), "null");
  EXPECT_EQ(value_of(l, "users", "hired_on", "u1"), num(seconds("2020-01-15")));
  EXPECT_EQ(value_of(l, "users", "last_login", "u3"), num(seconds("2026-10-31T23:59:59Z")));
  EXPECT_EQ(value_of(l, "users", "last_login", "u2"), "null");
  EXPECT_EQ(value_of(l, "users", "skills", "u1"), "[renewals,pricing]");
  EXPECT_EQ(value_of(l, "users", "skills", "u3"), "[]");  // CSV: an empty cell is the empty list
  EXPECT_EQ(value_of(l, "users", "badge_count", "u3"), "12");
  EXPECT_EQ(value_of(l, "users", "remote", "u2"), "1");
  EXPECT_EQ(value_of(l, "teams", "lead_id", "t2"), "\"u2\"");
  EXPECT_EQ(value_of(l, "teams", "size", "t1"), "12");
  // accounts: escapes / quoting, exponent, a date where a timestamp is expected.
  EXPECT_EQ(value_of(l, "accounts", "name", "a1"), "\"Acme Labs, Inc.\"");
  EXPECT_EQ(value_of(l, "accounts", "name", "a2"), "\"Quote \"Q\" Corp\"");
  EXPECT_EQ(value_of(l, "accounts", "name", "a3"), "\"Line\nBreak GmbH\"");
  EXPECT_EQ(value_of(l, "accounts", "annual_revenue", "a1"), "1250000.5");
  EXPECT_EQ(value_of(l, "accounts", "annual_revenue", "a2"), "-1500");
  EXPECT_EQ(value_of(l, "accounts", "annual_revenue", "a3"), "0");
  EXPECT_EQ(value_of(l, "accounts", "created_at", "a2"), num(seconds("2021-02-03T00:00:00Z")));
  EXPECT_EQ(value_of(l, "accounts", "created_at", "a3"), num(seconds("2024-02-29T00:00:00Z")));
  EXPECT_EQ(value_of(l, "accounts", "tier", "a2"), "\"platinum\"");  // kept, with a warning
  EXPECT_EQ(value_of(l, "accounts", "industry", "a3"), "null");
  // opportunities: lists, dates, nulls.
  EXPECT_EQ(value_of(l, "opportunities", "promised_features", "o1"), "[sso,audit_log]");
  EXPECT_EQ(value_of(l, "opportunities", "promised_features", "o2"), "[]");
  EXPECT_EQ(value_of(l, "opportunities", "promised_features", "o3"), "[mobile_app]");
  EXPECT_EQ(value_of(l, "opportunities", "close_date", "o1"), num(seconds("2026-12-31")));
  EXPECT_EQ(value_of(l, "opportunities", "close_date", "o3"), "null");
  EXPECT_EQ(value_of(l, "opportunities", "amount", "o2"), "1200.75");
  EXPECT_EQ(value_of(l, "opportunities", "amount", "o3"), "null");
  EXPECT_EQ(value_of(l, "opportunities", "discount_pct", "o3"), "null");
  EXPECT_EQ(value_of(l, "opportunities", "owner_id", "o3"), "null");

  // References resolve to rows; dangling ones keep the raw id.
  const model::Table* accounts = l.dataset->table("accounts");
  const model::Table* users = l.dataset->table("users");
  const model::Column* owner = accounts->column("owner_id");
  ASSERT_EQ(owner->rows.size(), 3u);
  EXPECT_EQ(owner->rows[0], users->find_row(l.dataset->strings.find("u1")));
  EXPECT_EQ(owner->rows[1], model::kNoRow);  // null
  EXPECT_EQ(owner->rows[2], model::kNoRow);  // u9: dangling
  EXPECT_EQ(l.dataset->strings.view(owner->strings[2]), "u9");
  const model::Column* team = users->column("team_id");
  EXPECT_EQ(team->rows[1], 1);  // users.team_id -> teams (a discovered link)
  EXPECT_EQ(team->rows[2], model::kNoRow);
  EXPECT_EQ(users->column("manager_id")->rows[0], 2);

  EXPECT_EQ(l.stats.records, 11u);
  EXPECT_EQ(l.stats.records_by_entity.at("users"), 3u);
  EXPECT_EQ(l.stats.dangling_references, 2u);
  EXPECT_EQ(l.stats.skipped, 0u);
  EXPECT_EQ(l.stats.enum_warnings, 1u);
}

TEST(LoadBasic, JsonlValues) {
  auto l = load_dir(kData + "/basic_jsonl");
  ASSERT_TRUE(l->ok) << join(diagnostics(l->sink));
  expect_basic_values(*l);
  EXPECT_EQ(join(diagnostics(l->sink, kData + "/basic_jsonl")),
            "warning DAT6008 accounts.jsonl:2 accounts.tier: \"platinum\" is not one of strategic, key, growth, standard\n"
            "warning DAT6005 accounts.jsonl:3 accounts.owner_id: \"u9\" is not an id of users\n"
            "warning DAT6005 opportunities.jsonl:3 opportunities.account_id: \"a404\" is not an id of accounts\n");
  const model::Table* accounts = l->dataset->table("accounts");
  EXPECT_EQ(accounts->source_path, kData + "/basic_jsonl/accounts.jsonl");
  EXPECT_EQ(accounts->source_lines, (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(accounts->id_rows().size(), 3u);
}

TEST(LoadBasic, CsvValues) {
  auto l = load_dir(kData + "/basic_csv");
  ASSERT_TRUE(l->ok) << join(diagnostics(l->sink));
  expect_basic_values(*l);
  // CSV lines count the header; a quoted newline makes a record span two lines.
  EXPECT_EQ(join(diagnostics(l->sink, kData + "/basic_csv")),
            "warning DAT6008 accounts.csv:3 accounts.tier: \"platinum\" is not one of strategic, key, growth, standard\n"
            "warning DAT6005 accounts.csv:4 accounts.owner_id: \"u9\" is not an id of users\n"
            "warning DAT6005 opportunities.csv:4 opportunities.account_id: \"a404\" is not an id of accounts\n");
  EXPECT_EQ(l->dataset->table("accounts")->source_lines, (std::vector<std::uint32_t>{2, 3, 4}));
  EXPECT_EQ(l->dataset->table("users")->source_lines, (std::vector<std::uint32_t>{2, 3, 4}));
}

TEST(LoadBasic, JsonlAndCsvGiveIdenticalTables) {
  auto j = load_dir(kData + "/basic_jsonl");
  auto c = load_dir(kData + "/basic_csv");
  ASSERT_TRUE(j->ok && c->ok);
  for (const char* entity : {"users", "teams", "accounts", "opportunities"}) {
    EXPECT_EQ(dump(*j->dataset, *j->dataset->table(entity)), dump(*c->dataset, *c->dataset->table(entity))) << entity;
  }
}

TEST(LoadBasic, LoadsOnlyRequestedFields) {
  Fields fields{{"accounts", {"tier", "owner_id", "no_such_field"}}};
  auto l = load_dir(kData + "/basic_jsonl", &fields);
  ASSERT_TRUE(l->ok);
  EXPECT_EQ(l->dataset->tables.size(), 1u);
  const model::Table* accounts = l->dataset->table("accounts");
  EXPECT_EQ(accounts->columns.size(), 2u);
  EXPECT_EQ(accounts->size(), 3u);
  // users is not loaded: references keep their raw ids, no rows and no dangling warnings.
  const model::Column* owner = accounts->column("owner_id");
  EXPECT_EQ(owner->rows, (std::vector<std::int32_t>{model::kNoRow, model::kNoRow, model::kNoRow}));
  EXPECT_EQ(l->stats.dangling_references, 0u);
  EXPECT_EQ(l->stats.bytes, fs::file_size(kData + "/basic_jsonl/accounts.jsonl"));
}

TEST(LoadBasic, RequestedIdAlsoGetsAColumn) {
  Fields fields{{"teams", {"id"}}};
  auto l = load_dir(kData + "/basic_csv", &fields);
  ASSERT_TRUE(l->ok);
  const model::Table* teams = l->dataset->table("teams");
  ASSERT_EQ(teams->columns.size(), 1u);
  EXPECT_EQ(teams->column("id")->strings, teams->ids);
  EXPECT_EQ(value_of(*l, "teams", "id", "t2"), "\"t2\"");
}

TEST(LoadBasic, FieldMissingFromTheFileLoadsAsMissing) {
  TempDir dir;
  dir.write("users.csv", "id,name\nu1,Ann\n");
  dir.write("accounts.jsonl", "{\"id\":\"a1\"}\n");
  Fields fields{{"users", {"capacity_hours_week", "name"}}, {"accounts", {"tier"}}};
  auto l = load_dir(dir.str(), &fields);
  ASSERT_TRUE(l->ok);
  EXPECT_EQ(value_of(*l, "users", "capacity_hours_week", "u1"), "null");
  EXPECT_EQ(value_of(*l, "users", "name", "u1"), "\"Ann\"");
  EXPECT_EQ(value_of(*l, "accounts", "tier", "a1"), "null");
}

TEST(LoadBasic, MissingFileForRequestedEntity) {
  Fields fields{{"cases", {"priority"}}, {"accounts", {"tier"}}};
  auto l = load_dir(kData + "/basic_jsonl", &fields);
  EXPECT_FALSE(l->ok);
  EXPECT_EQ(join(diagnostics(l->sink)), "error DAT6001 " + kData + "/basic_jsonl no data file for `cases`: expected " +
                                            "cases.jsonl or cases.csv in " + kData + "/basic_jsonl\n");
}

TEST(LoadBasic, JsonlSpecifics) {
  TempDir dir;
  // BOM, CRLF, blank lines, [] (present, empty), "" (empty text / missing for other types), numbers
  // as ids and text, escaped keys, a duplicate key (the last wins), unicode escapes.
  dir.write("opportunities.jsonl",
            "\xEF\xBB\xBF{\"id\":\"o1\",\"promised_features\":[],\"name\":\"\",\"amount\":\"\",\"kind\":\"\"}\r\n"
            "\r\n"
            "   \n"
            "{\"id\":42,\"name\":7.50,\"n\\u0061me\":\"caf\\u00e9 \\\"x\\\"\",\"amount\":1,\"amount\":2}\n"
            "{\"id\":\"o3\",\"promised_features\":[\"a\",\"b\\/c\"],\"stage\":\"closed_won\",\"extra\":{\"x\":[1,2]}}");
  Fields fields{{"opportunities", {"promised_features", "name", "amount", "kind", "stage"}}};
  auto l = load_dir(dir.str(), &fields);
  ASSERT_TRUE(l->ok) << join(diagnostics(l->sink));
  EXPECT_TRUE(l->sink.diagnostics().empty()) << join(diagnostics(l->sink));
  EXPECT_EQ(value_of(*l, "opportunities", "promised_features", "o1"), "[]");
  EXPECT_EQ(value_of(*l, "opportunities", "name", "o1"), "\"\"");
  EXPECT_EQ(value_of(*l, "opportunities", "amount", "o1"), "null");
  EXPECT_EQ(value_of(*l, "opportunities", "kind", "o1"), "null");
  EXPECT_EQ(value_of(*l, "opportunities", "name", "42"), "\"café \"x\"\"");
  EXPECT_EQ(value_of(*l, "opportunities", "amount", "42"), "2");
  EXPECT_EQ(value_of(*l, "opportunities", "promised_features", "42"), "null");
  EXPECT_EQ(value_of(*l, "opportunities", "promised_features", "o3"), "[a,b/c]");
  EXPECT_EQ(l->dataset->table("opportunities")->source_lines, (std::vector<std::uint32_t>{1, 4, 5}));
}

/// Loads `dir` with bad records skipped on one and two threads, in one chunk and in chunks of
/// `small_chunk` bytes, and expects the same rows and diagnostics every time.
void expect_same_load_every_way(const TempDir& dir, const Fields& fields, const std::string& entity,
                                const std::vector<std::string>& rows, const std::string& diagnostics_text,
                                std::size_t small_chunk) {
  for (unsigned threads : {1u, 2u}) {
    for (std::size_t chunk : {std::size_t{0}, small_chunk}) {
      auto l = load_dir(dir.str(), &fields, load::BadRecordPolicy::Skip, threads, chunk);
      ASSERT_TRUE(l->ok) << join(diagnostics(l->sink));
      EXPECT_EQ(dump(*l->dataset, *l->dataset->table(entity)), rows) << threads << " " << chunk;
      EXPECT_EQ(join(diagnostics(l->sink, dir.str())), diagnostics_text) << threads << " " << chunk;
    }
  }
}

// A record's strings are interned when the record ends (their slots prefetched meanwhile). What
// a row holds must not depend on that: duplicate keys (the last wins, null included), a record
// rejected after some of its strings were read, an enum value first seen in a rejected record,
// and list items, in JSONL and CSV, on one and two threads, in one chunk and in many.
TEST(LoadBasic, StringsInternedAtTheRecordsEnd) {
  TempDir dir;
  dir.write("opportunities.jsonl",
            "{\"id\":\"o1\",\"kind\":\"upsell\",\"name\":\"alpha\",\"stage\":\"proposal\",\"kind\":null}\n"
            "{\"id\":\"o2\",\"name\":\"beta\",\"kind\":\"renewal\",\"promised_features\":[\"x\",\"y\"],\"amount\":\"lots\"}\n"
            "{\"id\":\"o3\",\"name\":\"beta\",\"promised_features\":[\"y\",\"x\",\"x\"],\"stage\":\"bogus\",\"kind\":\"renewal\"}\n"
            "{\"id\":\"o4\",\"name\":\"gamma\",\"name\":\"beta\",\"kind\":\"renewal\",\"kind\":\"new\",\"promised_features\":[\"z\"],\"promised_features\":[\"x\"]}\n"
            "{\"id\":\"o5\",\"name\":\"delta\",\"stage\":\"proposal\",\"promised_features\":[\"w\"],\"kind\":\"upsell\",\"amount\":true}\n"
            "{\"id\":\"o6\",\"name\":\"delta\",\"stage\":\"closed_won\",\"promised_features\":[\"w\",\"v\"]}\n");
  Fields fields{{"opportunities", {"name", "kind", "stage", "amount", "promised_features"}}};
  const std::vector<std::string> expected_rows = {
      "o1 | amount=null | kind=null | name=\"alpha\" | promised_features=null | stage=\"proposal\"",
      "o3 | amount=null | kind=\"renewal\" | name=\"beta\" | promised_features=[y,x,x] | stage=\"bogus\"",
      "o4 | amount=null | kind=\"new\" | name=\"beta\" | promised_features=[x] | stage=null",
      "o6 | amount=null | kind=null | name=\"delta\" | promised_features=[w,v] | stage=\"closed_won\"",
  };
  expect_same_load_every_way(
      dir, fields, "opportunities", expected_rows,
      "warning DAT6003 opportunities.jsonl:2 opportunities.amount: expected a number, got \"lots\"\n"
      "warning DAT6008 opportunities.jsonl:3 opportunities.stage: \"bogus\" is not one of prospecting, "
      "qualification, proposal, negotiation, closed_won, closed_lost\n"
      "warning DAT6003 opportunities.jsonl:5 opportunities.amount: expected a number, got true\n",
      64);
}

TEST(LoadBasic, CsvStringsInternedAtTheRecordsEnd) {
  TempDir dir;
  dir.write("opportunities.csv",
            "id,name,promised_features,kind,amount,stage\n"
            "o1,alpha,x;y,upsell,,proposal\n"
            "o2,beta,y;z,renewal,lots,proposal\n"
            "o3,beta,z;y;y,,5,bogus\n"  // no kind: the rejected o2 left nothing behind
            ",gamma,q,new,,\n"
            "o5,gamma,q;x,new,1,closed_won\n");
  Fields fields{{"opportunities", {"name", "kind", "stage", "amount", "promised_features"}}};
  const std::vector<std::string> expected_rows = {
      "o1 | amount=null | kind=\"upsell\" | name=\"alpha\" | promised_features=[x,y] | stage=\"proposal\"",
      "o3 | amount=5 | kind=null | name=\"beta\" | promised_features=[z,y,y] | stage=\"bogus\"",
      "o5 | amount=1 | kind=\"new\" | name=\"gamma\" | promised_features=[q,x] | stage=\"closed_won\"",
  };
  expect_same_load_every_way(
      dir, fields, "opportunities", expected_rows,
      "warning DAT6003 opportunities.csv:3 opportunities.amount: expected a number, got \"lots\"\n"
      "warning DAT6008 opportunities.csv:4 opportunities.stage: \"bogus\" is not one of prospecting, "
      "qualification, proposal, negotiation, closed_won, closed_lost\n"
      "warning DAT6007 opportunities.csv:5 opportunities: record has an empty id\n",
      48);
}

// Strings are taken from the input as they are unless they hold a backslash, which is looked for
// 8 bytes at a time: an escape at every offset of strings of every length up to past two words,
// and names padded with blanks after the closing quote, read as written.
TEST(LoadBasic, JsonlEscapesAtEveryOffset) {
  TempDir dir;
  std::string lines;
  std::vector<std::pair<std::string, std::string>> expected;  // id -> name
  for (std::size_t length = 0; length <= 20; ++length) {
    expected.emplace_back("plain" + std::to_string(length), std::string(length, 'p'));
    lines += "{\"id\":\"plain" + std::to_string(length) + "\",\"name\":\"" + std::string(length, 'p') + "\"  }\n";
    for (std::size_t at = 0; at < length; ++at) {
      const std::string id = "e" + std::to_string(length) + "_" + std::to_string(at);
      std::string written(length, 'a'), read(length, 'a');
      written.replace(at, 1, "\\n");  // JSON \n
      read[at] = '\n';
      lines += "{\"id\":\"" + id + "\",\"name\":\"" + written + "\"}\n";
      expected.emplace_back(id, read);
    }
  }
  dir.write("accounts.jsonl", lines);
  Fields fields{{"accounts", {"name"}}};
  auto l = load_dir(dir.str(), &fields);
  ASSERT_TRUE(l->ok) << join(diagnostics(l->sink));
  for (const auto& [id, name] : expected) EXPECT_EQ(value_of(*l, "accounts", "name", id), "\"" + name + "\"") << id;
}

// Unquoted cells are scanned 8 bytes at a time: cells of every length up to 20 at every offset of
// the line, ending in a comma, LF or CRLF, with the byte one above ',' ('-') next to the
// separators, and the last cell of the file without a line end, all read whole.
TEST(LoadBasic, CsvCellsOfEveryLengthAtEveryOffset) {
  TempDir dir;
  std::string csv = "id,name,industry\n";
  std::vector<std::tuple<std::string, std::string, std::string>> expected;  // id, name, industry
  std::size_t n = 0;
  for (std::size_t pad = 0; pad < 9; ++pad) {
    for (std::size_t length = 0; length <= 20; ++length) {
      const std::string id = "r" + std::to_string(n) + std::string(pad, 'x');
      std::string name(length, 'n'), industry(length % 11, 'i');
      if (length) name.back() = '-';
      if (length > 1) name.front() = '-';
      const char* end = n % 3 == 0 ? "\r\n" : "\n";
      csv += id + "," + name + "," + industry + end;
      expected.emplace_back(id, name, industry);
      ++n;
    }
  }
  csv += "last,-,-";  // no line end
  expected.emplace_back("last", "-", "-");
  dir.write("accounts.csv", csv);
  Fields fields{{"accounts", {"name", "industry"}}};
  auto l = load_dir(dir.str(), &fields);
  ASSERT_TRUE(l->ok) << join(diagnostics(l->sink));
  for (const auto& [id, name, industry] : expected) {
    auto quoted = [](const std::string& text) { return text.empty() ? std::string("null") : "\"" + text + "\""; };
    EXPECT_EQ(value_of(*l, "accounts", "name", id), quoted(name)) << id;
    EXPECT_EQ(value_of(*l, "accounts", "industry", id), quoted(industry)) << id;
  }
}

TEST(LoadBasic, CsvSpecifics) {
  TempDir dir;
  // Quoted fields with commas, doubled quotes and newlines (LF and CRLF inside), 1/0 and TRUE
  // booleans, padded numbers, list items trimmed, a quoted empty cell, blank lines, header padding.
  dir.write("activities.csv",
            "id, on_site ,duration_minutes,topics,subject\r\n"
            "x1,1, 30 ,\"a; b\",\"multi\r\nline, \"\"quoted\"\"\"\r\n"
            "\r\n"
            "x2,TRUE,1e2,,\"\"\n"
            "x3,0,-0.5,solo,\"x\ny\nz\"\n"
            "x4,false,,;;,plain \"inner\" quote\n");
  Fields fields{{"activities", {"on_site", "duration_minutes", "topics", "subject"}}};
  auto l = load_dir(dir.str(), &fields);
  ASSERT_TRUE(l->ok) << join(diagnostics(l->sink));
  EXPECT_TRUE(l->sink.diagnostics().empty()) << join(diagnostics(l->sink));
  EXPECT_EQ(value_of(*l, "activities", "on_site", "x1"), "1");
  EXPECT_EQ(value_of(*l, "activities", "on_site", "x2"), "1");
  EXPECT_EQ(value_of(*l, "activities", "on_site", "x3"), "0");
  EXPECT_EQ(value_of(*l, "activities", "on_site", "x4"), "0");
  EXPECT_EQ(value_of(*l, "activities", "duration_minutes", "x1"), "30");
  EXPECT_EQ(value_of(*l, "activities", "duration_minutes", "x2"), "100");
  EXPECT_EQ(value_of(*l, "activities", "duration_minutes", "x3"), "-0.5");
  EXPECT_EQ(value_of(*l, "activities", "duration_minutes", "x4"), "null");
  EXPECT_EQ(value_of(*l, "activities", "topics", "x1"), "[a,b]");
  EXPECT_EQ(value_of(*l, "activities", "topics", "x2"), "[]");
  EXPECT_EQ(value_of(*l, "activities", "topics", "x3"), "[solo]");
  EXPECT_EQ(value_of(*l, "activities", "topics", "x4"), "[]");
  EXPECT_EQ(value_of(*l, "activities", "subject", "x1"), "\"multi\r\nline, \"quoted\"\"");
  EXPECT_EQ(value_of(*l, "activities", "subject", "x2"), "null");
  EXPECT_EQ(value_of(*l, "activities", "subject", "x3"), "\"x\ny\nz\"");
  EXPECT_EQ(value_of(*l, "activities", "subject", "x4"), "\"plain \"inner\" quote\"");
  EXPECT_EQ(l->dataset->table("activities")->source_lines, (std::vector<std::uint32_t>{2, 5, 6, 9}));
}

TEST(LoadBasic, ProgressReportsBytes) {
  std::map<std::string, std::vector<std::pair<std::size_t, std::size_t>>> calls;
  auto d = std::make_unique<Loaded>();
  d->discovery = load::discover(kData + "/basic_jsonl", d->sink);
  load::LoadOptions options;
  options.fields = all_fields(d->discovery);
  options.chunk_bytes = 200;
  options.progress = [&](const std::string& entity, std::size_t done, std::size_t total) {
    calls[entity].emplace_back(done, total);
  };
  d->dataset->schema = d->discovery.schema;
  ASSERT_TRUE(load::load(d->discovery, options, *d->dataset, d->stats, d->sink));
  ASSERT_EQ(calls.size(), 4u);
  for (const auto& [entity, list] : calls) {
    ASSERT_GE(list.size(), 2u) << entity;
    std::size_t total = list.front().second;
    EXPECT_EQ(list.front().first, 0u);
    EXPECT_EQ(list.back().first, total);
    for (std::size_t i = 1; i < list.size(); ++i) EXPECT_GE(list[i].first, list[i - 1].first);
  }
  EXPECT_GT(calls["accounts"].size(), 2u);  // several chunks
}

/// The resident bytes of this process's mappings of `path` (/proc/self/smaps), or -1 without smaps.
long long mapped_resident_bytes(const std::string& path) {
  std::ifstream smaps("/proc/self/smaps");
  if (!smaps) return -1;
  long long total = 0;
  bool in_file = false;
  for (std::string line; std::getline(smaps, line);) {
    // A mapping's header line starts with its address range; its fields follow, one per line.
    if (const auto dash = line.find('-'); dash != std::string::npos && dash > 0 &&
                                          std::isxdigit(static_cast<unsigned char>(line[0])) &&
                                          line.find(' ') > dash) {
      in_file = line.size() >= path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0;
    } else if (in_file && line.rfind("Rss:", 0) == 0) {
      total += std::stoll(line.substr(4)) * 1024;
    }
  }
  return total;
}

TEST(LoadBasic, OnlyTheChunksBeingParsedStayMapped) {
  // 24 MB of accounts in chunks of 32 KiB. Finding the chunks' bounds reads the file at every
  // chunk's end; where the page cache holds it in large folios, each read maps 2 MiB. What is
  // mapped counts in the process's RSS: only the chunks between parsing and merging may stay.
  TempDir dir;
  std::string content;
  for (int i = 0; content.size() < (24u << 20); ++i) {
    content += R"({"id":"acc-)" + std::to_string(i) + R"(","name":"Account )" + std::to_string(i) +
               R"(","tier":"standard","annual_revenue":)" + std::to_string(1000 + i) + "}\n";
  }
  const std::string path = fs::canonical(dir.write("accounts.jsonl", content)).string();
  ASSERT_GE(mapped_resident_bytes(path), 0) << "no /proc/self/smaps";
  auto d = std::make_unique<Loaded>();
  d->discovery = load::discover(dir.str(), d->sink);
  load::LoadOptions options;
  options.fields = {{"accounts", {"name", "tier", "annual_revenue"}}};
  options.threads = 2;
  options.chunk_bytes = 32u << 10;
  long long most = 0;
  std::size_t calls = 0;
  options.progress = [&](const std::string&, std::size_t done, std::size_t) {
    if (done > 0 && calls++ % 64 == 0) most = std::max(most, mapped_resident_bytes(path));
  };
  d->dataset->schema = d->discovery.schema;
  ASSERT_TRUE(load::load(d->discovery, options, *d->dataset, d->stats, d->sink));
  EXPECT_GT(calls, 700u);
  EXPECT_EQ(d->dataset->table("accounts")->size(), static_cast<std::size_t>(std::count(content.begin(), content.end(), '\n')));
  // The chunks in flight are a few hundred KiB, each end of them at most one 2 MiB folio.
  EXPECT_LT(most, 8ll << 20) << "of a " << content.size() << "-byte file";
}

// ---------------------------------------------------------------------------------------------
// Bad data

const char* const kBadJsonlErrors =
    "error DAT6002 accounts.jsonl:2 malformed JSON record: unbalanced braces or brackets, or content after the "
    "object\n"
    "error DAT6003 accounts.jsonl:3 accounts.annual_revenue: expected a number, got \"lots\"\n"
    "error DAT6003 accounts.jsonl:4 accounts.created_at: expected a timestamp, got \"yesterday\"\n"
    "error DAT6007 accounts.jsonl:5 accounts: record has no id\n"
    "error DAT6007 accounts.jsonl:6 accounts: record has an empty id\n"
    "error DAT6006 accounts.jsonl:7 accounts: duplicate id \"a1\" (first at line 1)\n"
    "error DAT6002 accounts.jsonl:8 malformed JSON record: expected an object, got a list\n"
    "warning DAT6008 accounts.jsonl:10 accounts.tier: \"gold\" is not one of strategic, key, growth, standard\n"
    "error DAT6002 accounts.jsonl:11 malformed JSON record: unbalanced braces or brackets, or content after the "
    "object\n"
    "error DAT6003 accounts.jsonl:12 accounts.annual_revenue: expected a number, got an object\n";

const Fields kBadFields{{"accounts", {"name", "annual_revenue", "created_at", "tier"}}};

TEST(LoadBad, JsonlFailReportsEveryBadRecord) {
  auto l = load_dir(kData + "/bad_jsonl", &kBadFields);
  EXPECT_FALSE(l->ok);
  EXPECT_EQ(join(diagnostics(l->sink, kData + "/bad_jsonl")), kBadJsonlErrors);
  EXPECT_EQ(l->stats.bad_records, 9u);
  // Helps for type errors.
  for (const auto& d : l->sink.diagnostics()) {
    if (d.message.find("timestamp") != std::string::npos) {
      ASSERT_EQ(d.helps.size(), 1u);
      EXPECT_EQ(d.helps[0], "timestamps are ISO 8601 in UTC, like 2026-03-01T09:30:00Z");
    }
    EXPECT_EQ(d.file, nullptr);
  }
}

TEST(LoadBad, JsonlSkipDropsBadRecords) {
  auto l = load_dir(kData + "/bad_jsonl", &kBadFields, load::BadRecordPolicy::Skip);
  ASSERT_TRUE(l->ok);
  std::string expected = kBadJsonlErrors;
  for (std::size_t at = 0; (at = expected.find("error ", at)) != std::string::npos;) expected.replace(at, 6, "warning ");
  EXPECT_EQ(join(diagnostics(l->sink, kData + "/bad_jsonl")), expected);
  EXPECT_EQ(l->stats.skipped, 9u);
  EXPECT_EQ(l->stats.records, 2u);
  EXPECT_EQ(dump(*l->dataset, *l->dataset->table("accounts")),
            (std::vector<std::string>{
                "a1 | annual_revenue=100 | created_at=" + num(seconds("2020-01-01")) + " | name=\"Good\" | tier=null",
                "a5 | annual_revenue=5 | created_at=null | name=null | tier=\"gold\""}));
  EXPECT_EQ(l->dataset->table("accounts")->source_lines, (std::vector<std::uint32_t>{1, 10}));

  // Without keeping the source lines (as `check` loads), the messages still name the lines, the
  // rows are the same, and the tables hold no lines.
  auto lean = load_dir(kData + "/bad_jsonl", &kBadFields, load::BadRecordPolicy::Skip, 2, 0, false);
  ASSERT_TRUE(lean->ok);
  EXPECT_EQ(join(diagnostics(lean->sink, kData + "/bad_jsonl")), expected);
  EXPECT_EQ(dump(*lean->dataset, *lean->dataset->table("accounts")), dump(*l->dataset, *l->dataset->table("accounts")));
  EXPECT_TRUE(lean->dataset->table("accounts")->source_lines.empty());
}

const char* const kBadCsvErrors =
    "error DAT6002 accounts.csv:3 malformed CSV record: expected 5 cells as in the header, got 6\n"
    "error DAT6003 accounts.csv:4 accounts.annual_revenue: expected a number, got \"lots\"\n"
    "error DAT6007 accounts.csv:5 accounts: record has an empty id\n"
    "error DAT6006 accounts.csv:6 accounts: duplicate id \"a1\" (first at line 2)\n"
    "error DAT6002 accounts.csv:8 malformed CSV record: text after a closing quote (quotes inside a field must be "
    "doubled)\n"
    "warning DAT6008 accounts.csv:9 accounts.tier: \"gold\" is not one of strategic, key, growth, standard\n"
    "error DAT6002 accounts.csv:10 malformed CSV record: a quoted field is not closed before the end of the file\n";

// A value repeated on consecutive rows is taken from the chunk's last-value cache instead of the
// pool: it must give the same strings, the same links, a warning per row for a bad enum value, and
// survive a bad record between the repeats (its values stay in the pool, the row is dropped).
TEST(LoadBasic, RepeatedValuesOnConsecutiveRows) {
  TempDir dir;
  dir.write("accounts.jsonl",
            "{\"id\":\"a1\",\"name\":\"A\",\"owner_id\":\"u1\",\"tier\":\"gold\"}\n"
            "{\"id\":\"a2\",\"name\":\"A\",\"owner_id\":\"u1\",\"tier\":\"gold\"}\n"
            "{\"id\":\"a3\",\"owner_id\":\"u2\",\"tier\":\"key\",\"name\":{}}\n"
            "{\"id\":\"a4\",\"name\":\"\",\"owner_id\":\"u2\",\"tier\":\"key\"}\n"
            "{\"id\":\"a5\",\"name\":\"\",\"owner_id\":\"u2\",\"tier\":\"key\"}\n"
            "{\"id\":\"a6\",\"name\":\"B\",\"owner_id\":\"u1\",\"tier\":\"key\"}\n");
  dir.write("users.jsonl", "{\"id\":\"u1\"}\n{\"id\":\"u2\"}\n");
  Fields fields{{"accounts", {"name", "owner_id", "tier"}}, {"users", {}}};
  auto l = load_dir(dir.str(), &fields, load::BadRecordPolicy::Skip);
  ASSERT_TRUE(l->ok);
  EXPECT_EQ(join(diagnostics(l->sink, dir.str())),
            "warning DAT6008 accounts.jsonl:1 accounts.tier: \"gold\" is not one of strategic, key, growth, standard\n"
            "warning DAT6008 accounts.jsonl:2 accounts.tier: \"gold\" is not one of strategic, key, growth, standard\n"
            "warning DAT6003 accounts.jsonl:3 accounts.name: expected a string, got an object\n");
  const model::Dataset& ds = *l->dataset;
  EXPECT_EQ(dump(ds, *ds.table("accounts")),
            (std::vector<std::string>{"a1 | name=\"A\" | owner_id=\"u1\"@0 | tier=\"gold\"",
                                      "a2 | name=\"A\" | owner_id=\"u1\"@0 | tier=\"gold\"",
                                      "a4 | name=\"\" | owner_id=\"u2\"@1 | tier=\"key\"",
                                      "a5 | name=\"\" | owner_id=\"u2\"@1 | tier=\"key\"",
                                      "a6 | name=\"B\" | owner_id=\"u1\"@0 | tier=\"key\""}));
}

TEST(LoadBad, CsvFailAndSkip) {
  auto fail = load_dir(kData + "/bad_csv", &kBadFields);
  EXPECT_FALSE(fail->ok);
  EXPECT_EQ(join(diagnostics(fail->sink, kData + "/bad_csv")), kBadCsvErrors);

  auto skip = load_dir(kData + "/bad_csv", &kBadFields, load::BadRecordPolicy::Skip);
  ASSERT_TRUE(skip->ok);
  EXPECT_EQ(skip->stats.skipped, 6u);
  EXPECT_EQ(skip->sink.error_count(), 0u);
  EXPECT_EQ(dump(*skip->dataset, *skip->dataset->table("accounts")),
            (std::vector<std::string>{
                "a1 | annual_revenue=100 | created_at=" + num(seconds("2020-01-01")) + " | name=\"Good\" | tier=\"key\"",
                "a4 | annual_revenue=3 | created_at=null | name=\"Bad quote \"inside\"\" | tier=null",
                "a6 | annual_revenue=5 | created_at=" + num(seconds("2021-05-05")) + " | name=\"Fine\" | tier=\"gold\""}));
}

TEST(LoadBad, TypeErrorsForEveryType) {
  TempDir dir;
  dir.write("opportunities.jsonl",
            "{\"id\":\"o1\",\"close_date\":\"2026-02-30\"}\n"
            "{\"id\":\"o2\",\"close_date\":\"2026-02-03T10:00:00Z\"}\n"
            "{\"id\":\"o3\",\"promised_features\":\"sso\"}\n"
            "{\"id\":\"o4\",\"promised_features\":[\"sso\",null]}\n"
            "{\"id\":\"o5\",\"name\":[\"x\"]}\n"
            "{\"id\":\"o6\",\"created_at\":\"2026-03-01T09:30:00+02:00\"}\n"
            "{\"id\":\"o7\",\"amount\":true}\n"
            "{\"id\":{\"x\":1}}\n"
            "{\"id\":\"o9\",\"close_date\":\"2026-02-03T00:00:00Z\"}\n");
  dir.write("users.csv",
            "id,active,capacity_hours_week,manager_id\n"
            "u1,yes,1,\n"
            "u2,true,NaN,\n"
            "u3,true,0x10,\n"
            "u4,true,1,\xff\xfe\n");
  Fields fields{{"opportunities", {"close_date", "promised_features", "name", "created_at", "amount"}},
                {"users", {"active", "capacity_hours_week", "manager_id"}}};
  auto l = load_dir(dir.str(), &fields);
  EXPECT_FALSE(l->ok);
  EXPECT_EQ(join(diagnostics(l->sink, dir.str())),
            "error DAT6003 opportunities.jsonl:1 opportunities.close_date: expected a date, got \"2026-02-30\"\n"
            "error DAT6003 opportunities.jsonl:2 opportunities.close_date: expected a date, got \"2026-02-03T10:00:00Z\"\n"
            "error DAT6003 opportunities.jsonl:3 opportunities.promised_features: expected a list of strings, got \"sso\"\n"
            "error DAT6003 opportunities.jsonl:4 opportunities.promised_features: expected a list of strings, got a list "
            "containing null\n"
            "error DAT6003 opportunities.jsonl:5 opportunities.name: expected a string, got a list\n"
            "error DAT6003 opportunities.jsonl:6 opportunities.created_at: expected a timestamp, got "
            "\"2026-03-01T09:30:00+02:00\"\n"
            "error DAT6003 opportunities.jsonl:7 opportunities.amount: expected a number, got true\n"
            "error DAT6003 opportunities.jsonl:8 opportunities.id: expected a string, got an object\n"
            "error DAT6003 users.csv:2 users.active: expected true or false, got \"yes\"\n"
            "error DAT6003 users.csv:3 users.capacity_hours_week: expected a number, got \"NaN\"\n"
            "error DAT6003 users.csv:4 users.capacity_hours_week: expected a number, got \"0x10\"\n"
            "error DAT6003 users.csv:5 users.manager_id: invalid UTF-8 in \"\\xff\\xfe\"\n");
}

// Chunks are checked for UTF-8 whole, and a record running past its chunk on its own: invalid
// bytes anywhere, in a quoted cell that a chunk boundary cuts after its line break included, are
// reported once at their record, whatever the chunk size.
TEST(LoadBad, CsvInvalidUtf8FoundWhereverTheChunksEnd) {
  TempDir dir;
  std::string csv = "id,name\n";
  for (int i = 0; i < 40; ++i) csv += "u" + std::to_string(i) + ",Name " + std::to_string(i) + "\n";
  csv += "bad1,\"first line\nsecond \xff line\"\n";  // line 42
  for (int i = 40; i < 60; ++i) csv += "u" + std::to_string(i) + ",Name " + std::to_string(i) + "\n";
  csv += "bad2,caf\xc3\n";  // line 64: a truncated sequence
  csv += "u60,ok\n";
  dir.write("users.csv", csv);
  Fields fields{{"users", {"name"}}};
  for (std::size_t chunk : {std::size_t{16}, std::size_t{50}, std::size_t{97}, std::size_t{200}, std::size_t{0}}) {
    auto l = load_dir(dir.str(), &fields, load::BadRecordPolicy::Skip, 2, chunk);
    ASSERT_TRUE(l->ok) << chunk;
    EXPECT_EQ(join(diagnostics(l->sink, dir.str())),
              "warning DAT6003 users.csv:42 users.name: invalid UTF-8 in \"first line\\x0asecond \\xff line\"\n"
              "warning DAT6003 users.csv:64 users.name: invalid UTF-8 in \"caf\\xc3\"\n")
        << "chunks of " << chunk << " bytes";
    EXPECT_EQ(l->stats.records, 61u) << chunk;
  }
}

TEST(LoadBad, CsvWithoutIdColumn) {
  TempDir dir;
  dir.write("users.csv", "name,role\nAnn,support\n");
  Fields fields{{"users", {"name"}}};
  auto l = load_dir(dir.str(), &fields);
  EXPECT_FALSE(l->ok);
  EXPECT_EQ(join(diagnostics(l->sink, dir.str())), "error DAT6007 users.csv:1 " + dir.str() +
                                                       "/users.csv has no `id` column\n");
}

TEST(LoadBad, MalformedCsvHeaderIsReportedOnce) {
  TempDir dir;
  dir.write("users.csv", "id,\"name\nu1,Ann\n");
  Fields fields{{"users", {"name"}}};
  auto l = load_dir(dir.str(), &fields);
  EXPECT_FALSE(l->ok);
  EXPECT_EQ(join(diagnostics(l->sink, dir.str())),
            "error DAT6002 users.csv:1 malformed CSV header: unterminated quoted field in the header\n");
}

std::string many_bad_lines(std::size_t bad) {
  std::string text;
  for (std::size_t i = 0; i < bad; ++i) {
    text += "{\"id\":\"g" + std::to_string(i) + "\",\"annual_revenue\":1}\n";
    text += "{\"id\":\"b" + std::to_string(i) + "\",\"annual_revenue\":\"x\"}\n";
  }
  return text;
}

TEST(LoadBad, FailStopsAfterTwentyBadRecords) {
  TempDir dir;
  dir.write("accounts.jsonl", many_bad_lines(50));
  Fields fields{{"accounts", {"annual_revenue"}}};
  for (unsigned threads : {1u, 3u}) {
    auto l = load_dir(dir.str(), &fields, load::BadRecordPolicy::Fail, threads, 300);
    EXPECT_FALSE(l->ok);
    ASSERT_EQ(l->sink.error_count(), 20u);
    const auto& last = l->sink.diagnostics().back();
    EXPECT_EQ(last.where, dir.str() + "/accounts.jsonl:40");
    ASSERT_EQ(last.notes.size(), 1u);
    EXPECT_NE(last.notes[0].find("stopped after 20 bad records"), std::string::npos);
  }
}

TEST(LoadBad, SkipShowsTwentyThenASummary) {
  TempDir dir;
  dir.write("accounts.jsonl", many_bad_lines(50));
  Fields fields{{"accounts", {"annual_revenue"}}};
  auto l = load_dir(dir.str(), &fields, load::BadRecordPolicy::Skip, 2, 256);
  ASSERT_TRUE(l->ok);
  EXPECT_EQ(l->stats.skipped, 50u);
  EXPECT_EQ(l->stats.records, 50u);
  auto lines = diagnostics(l->sink, dir.str());
  ASSERT_EQ(lines.size(), 21u);
  EXPECT_EQ(lines[0], "warning DAT6003 accounts.jsonl:2 accounts.annual_revenue: expected a number, got \"x\"");
  EXPECT_EQ(lines[19], "warning DAT6003 accounts.jsonl:40 accounts.annual_revenue: expected a number, got \"x\"");
  EXPECT_EQ(lines[20], "warning DAT6002 accounts.jsonl 30 more bad records skipped");
}

// References are resolved one target table at a time, switching between targets (users, then
// accounts, then users again): an id that both tables have ("x") resolves to each table's own row,
// and an id of the other table only is dangling.
TEST(LoadBasic, ReferencesToSeveralTablesSharingIds) {
  TempDir dir;
  dir.write("accounts.jsonl",
            "{\"id\":\"a1\",\"owner_id\":\"x\"}\n"
            "{\"id\":\"x\",\"owner_id\":\"u2\"}\n"
            "{\"id\":\"a3\",\"owner_id\":\"a1\"}\n");
  dir.write("activities.jsonl",
            "{\"id\":\"t1\",\"account_id\":\"x\",\"owner_id\":\"x\"}\n"
            "{\"id\":\"t2\",\"account_id\":\"u2\",\"owner_id\":\"u2\"}\n"
            "{\"id\":\"t3\",\"account_id\":\"a3\",\"owner_id\":\"a3\"}\n");
  dir.write("users.jsonl", "{\"id\":\"u2\"}\n{\"id\":\"x\"}\n");
  Fields fields{{"accounts", {"owner_id"}}, {"activities", {"account_id", "owner_id"}}, {"users", {}}};
  auto l = load_dir(dir.str(), &fields);
  ASSERT_TRUE(l->ok);
  auto rows = [&](const char* entity, const char* field) {
    return l->dataset->table(entity)->column(field)->rows;
  };
  const std::int32_t none = model::kNoRow;
  EXPECT_EQ(rows("accounts", "owner_id"), (std::vector<std::int32_t>{1, 0, none}));
  EXPECT_EQ(rows("activities", "account_id"), (std::vector<std::int32_t>{1, none, 2}));
  EXPECT_EQ(rows("activities", "owner_id"), (std::vector<std::int32_t>{1, 0, none}));
  EXPECT_EQ(join(diagnostics(l->sink, dir.str())),
            "warning DAT6005 accounts.jsonl:3 accounts.owner_id: \"a1\" is not an id of users\n"
            "warning DAT6005 activities.jsonl:2 activities.account_id: \"u2\" is not an id of accounts\n"
            "warning DAT6005 activities.jsonl:3 activities.owner_id: \"a3\" is not an id of users\n");
}

TEST(LoadBad, DanglingReferencesAreCapped) {
  TempDir dir;
  std::string accounts;
  for (int i = 0; i < 30; ++i) accounts += "{\"id\":\"a" + std::to_string(i) + "\",\"owner_id\":\"nobody\"}\n";
  dir.write("accounts.jsonl", accounts);
  dir.write("users.jsonl", "{\"id\":\"u1\"}\n");
  Fields fields{{"accounts", {"owner_id"}}, {"users", {}}};
  auto l = load_dir(dir.str(), &fields);
  ASSERT_TRUE(l->ok);
  EXPECT_EQ(l->stats.dangling_references, 30u);
  auto lines = diagnostics(l->sink, dir.str());
  ASSERT_EQ(lines.size(), 21u);
  EXPECT_EQ(lines[0], "warning DAT6005 accounts.jsonl:1 accounts.owner_id: \"nobody\" is not an id of users");
  EXPECT_EQ(lines[20], "warning DAT6005 accounts.jsonl 10 more dangling references in accounts.owner_id");
}

// A column of more references than one thread resolves alone (two parts of at least 65,536 rows
// on two cores), with dangling references in both halves: every row resolved, the references
// counted and the first 20 shown in row order, and, compacted, the dangling ones kept by row.
TEST(LoadBad, DanglingReferencesInALargeColumnAreFoundInRowOrder) {
  TempDir dir;
  dir.write("accounts.jsonl", "{\"id\":\"a0\"}\n{\"id\":\"a1\"}\n{\"id\":\"a2\"}\n");
  constexpr int kRows = 150000;
  std::set<int> dangling;
  for (int r = 70000; r < 70030; ++r) dangling.insert(r);  // the second half's first
  for (int r : {7, 40000, 149999}) dangling.insert(r);
  std::string activities;
  for (int r = 0; r < kRows; ++r) {
    const std::string account = dangling.count(r) ? "gone" + std::to_string(r) : "a" + std::to_string(r % 3);
    activities += "{\"id\":\"t" + std::to_string(r) + "\",\"account_id\":\"" + account + "\"}\n";
  }
  dir.write("activities.jsonl", activities);
  Fields fields{{"accounts", {}}, {"activities", {"account_id"}}};
  for (const bool compact : {false, true}) {
    auto l = load_dir(dir.str(), &fields, load::BadRecordPolicy::Fail, 2, 1u << 20, true, compact);
    ASSERT_TRUE(l->ok);
    EXPECT_EQ(l->stats.dangling_references, 33u);
    const model::Column& column = *l->dataset->table("activities")->column("account_id");
    ASSERT_EQ(column.rows.size(), static_cast<std::size_t>(kRows));
    for (int r = 0; r < kRows; ++r) {
      ASSERT_EQ(column.rows[r], dangling.count(r) ? model::kNoRow : r % 3) << r;
    }
    auto lines = diagnostics(l->sink, dir.str());
    ASSERT_EQ(lines.size(), 21u);
    EXPECT_EQ(lines[0], "warning DAT6005 activities.jsonl:8 activities.account_id: \"gone7\" is not an id of accounts");
    EXPECT_EQ(lines[1], "warning DAT6005 activities.jsonl:40001 activities.account_id: \"gone40000\" is not an id of accounts");
    EXPECT_EQ(lines[2], "warning DAT6005 activities.jsonl:70001 activities.account_id: \"gone70000\" is not an id of accounts");
    EXPECT_EQ(lines[19], "warning DAT6005 activities.jsonl:70018 activities.account_id: \"gone70017\" is not an id of accounts");
    EXPECT_EQ(lines[20], "warning DAT6005 activities.jsonl 13 more dangling references in activities.account_id");
    if (compact) {
      ASSERT_TRUE(column.strings_compacted);
      ASSERT_EQ(column.unresolved.size(), dangling.size());
      std::size_t i = 0;
      for (int r : dangling) {
        EXPECT_EQ(column.unresolved[i].first, static_cast<std::uint32_t>(r));
        EXPECT_EQ(l->dataset->strings.view(column.unresolved[i].second), "gone" + std::to_string(r));
        ++i;
      }
    } else {
      EXPECT_FALSE(column.strings_compacted);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Chunked parallel parsing gives the same result as one chunk on one thread.

std::string dump_all(const Loaded& l) {
  std::string out;
  for (const auto& [name, table] : l.dataset->tables) {
    out += "# " + name + "\n";
    for (const auto& row : dump(*l.dataset, table)) out += row + "\n";
    for (auto line : table.source_lines) out += std::to_string(line) + " ";
    out += "\n";
  }
  return out;
}

TEST(LoadChunks, CsvQuotedNewlinesAcrossChunkBoundaries) {
  TempDir dir;
  std::mt19937 rng(7);
  std::string csv = "id,subject,topics,duration_minutes\n";
  for (int i = 0; i < 400; ++i) {
    std::string subject;
    switch (rng() % 5) {
      case 0: subject = "plain " + std::to_string(i); break;
      case 1: subject = "\"comma, " + std::to_string(i) + "\""; break;
      case 2: subject = "\"line\nbreak\n" + std::to_string(i) + "\""; break;
      case 3: subject = "\"\"\"quoted\"\"\n,\n\""; break;
      default: subject = "\"\n\n\n\""; break;
    }
    csv += "x" + std::to_string(i) + "," + subject + ",a;b," + std::to_string(i) + (i % 3 ? "\n" : "\r\n");
    if (i % 50 == 7) csv += "x" + std::to_string(i) + ",dup,,\n";  // a duplicate id
  }
  dir.write("activities.csv", csv);
  Fields fields{{"activities", {"subject", "topics", "duration_minutes"}}};
  auto reference = load_dir(dir.str(), &fields, load::BadRecordPolicy::Skip, 1, 1u << 30);
  ASSERT_TRUE(reference->ok);
  ASSERT_EQ(reference->stats.records, 400u);
  ASSERT_EQ(reference->stats.skipped, 8u);
  std::string expected = dump_all(*reference);
  std::string expected_diags = join(diagnostics(reference->sink));
  for (std::size_t chunk : {7u, 64u, 100u, 1000u}) {
    for (unsigned threads : {1u, 2u, 4u}) {
      auto l = load_dir(dir.str(), &fields, load::BadRecordPolicy::Skip, threads, chunk);
      ASSERT_TRUE(l->ok);
      EXPECT_EQ(dump_all(*l), expected) << "chunk " << chunk << " threads " << threads;
      EXPECT_EQ(join(diagnostics(l->sink)), expected_diags) << "chunk " << chunk << " threads " << threads;
      // Same interning order too.
      EXPECT_EQ(l->dataset->table("activities")->ids, reference->dataset->table("activities")->ids);
    }
  }
}

TEST(LoadChunks, JsonlChunksAndThreadsAgree) {
  TempDir dir;
  std::string jsonl;
  for (int i = 0; i < 300; ++i) {
    jsonl += "{\"id\":\"c" + std::to_string(i) + "\",\"account_id\":\"a" + std::to_string(i % 17) +
             "\",\"opened_at\":\"2026-01-0" + std::to_string(1 + i % 9) + "T10:00:00Z\",\"csat\":" +
             (i % 4 ? std::to_string(i % 5 + 1) : "null") + "}\n";
    if (i % 40 == 3) jsonl += "{\"id\":\"c" + std::to_string(i) + "\"}\n";
    if (i % 70 == 5) jsonl += "{broken\n";
  }
  dir.write("cases.jsonl", jsonl);
  Fields fields{{"cases", {"account_id", "opened_at", "csat"}}};
  auto reference = load_dir(dir.str(), &fields, load::BadRecordPolicy::Skip, 1, 1u << 30);
  ASSERT_TRUE(reference->ok);
  EXPECT_EQ(reference->stats.records, 300u);
  EXPECT_EQ(reference->stats.skipped, 13u);
  for (std::size_t chunk : {1u, 50u, 333u, 4096u}) {
    for (unsigned threads : {1u, 3u}) {
      auto l = load_dir(dir.str(), &fields, load::BadRecordPolicy::Skip, threads, chunk);
      EXPECT_EQ(dump_all(*l), dump_all(*reference)) << chunk << " " << threads;
      EXPECT_EQ(join(diagnostics(l->sink)), join(diagnostics(reference->sink))) << chunk << " " << threads;
    }
  }
}

/// The shared pool's strings in StrId order (the order the loader interned them).
std::vector<std::string> pool_strings(const Loaded& l) {
  std::vector<std::string> out;
  for (model::StrId id = 0; id < l.dataset->strings.size(); ++id) out.emplace_back(l.dataset->strings.view(id));
  return out;
}

// A JSONL chunk is parsed as one simdjson document stream unless something in it needs a
// diagnostic or is unusual; then the chunk is parsed again line by line. With one-line chunks the
// good lines take the stream and each odd line falls back alone; with one chunk the whole file
// falls back. Rows, lines, diagnostics and the interning order must be the same either way.
TEST(LoadChunks, JsonlStreamFallsBackToLinesForTheWholeChunk) {
  TempDir dir;
  std::string jsonl = "\xEF\xBB\xBF";  // a BOM
  for (int i = 0; i < 40; ++i) {
    std::string id = "g" + std::to_string(i);
    std::string name = i % 7 == 3 ? "na\\\"me \\u00e9 " + std::to_string(i) : "n" + std::to_string(i % 5);
    std::string record = "{\"id\":\"" + id + "\",\"name\":\"" + name + "\",\"tier\":\"" +
                         (i % 9 == 4 ? "gold" : "key") + "\",\"annual_revenue\":" + std::to_string(i * 10) +
                         ",\"created_at\":\"2020-01-0" + std::to_string(1 + i % 9) + "T00:00:00Z\"}";
    jsonl += record + (i % 4 == 1 ? "  \r\n" : "\n");
    if (i % 10 == 5) jsonl += "\n  \t\r\n";  // blank lines
    switch (i) {
      case 6: jsonl += "{\"id\":\"b1\",\"name\":\"Broken\",\n"; break;
      case 12: jsonl += "{\"id\":\"b2\",\n\"name\":\"spread over two lines\"}\n"; break;
      case 18: jsonl += "{\"id\":\"b3\"} {\"id\":\"b4\"}\n"; break;
      case 22: jsonl += "{\"id\":\"b5\",\"annual_revenue\":\"lots\"}\n"; break;
      case 26: jsonl += "[1,2]\n\"just a string\"\n"; break;
      case 30: jsonl += "{\"id\":\"g3\",\"name\":\"duplicate of an earlier chunk\"}\n"; break;
      case 33: jsonl += "{\"name\":\"b5\"}\n"; break;
      default: break;
    }
  }
  jsonl += "{\"id\":\"last\",\"name\":\"no newline\"}";
  dir.write("accounts.jsonl", jsonl);
  Fields fields{{"accounts", {"name", "tier", "annual_revenue", "created_at"}}};
  auto reference = load_dir(dir.str(), &fields, load::BadRecordPolicy::Skip, 1, 1u << 30);
  ASSERT_TRUE(reference->ok);
  EXPECT_EQ(reference->stats.records, 41u);
  EXPECT_EQ(reference->stats.skipped, 9u);
  const std::string diags = join(diagnostics(reference->sink, dir.str()));
  EXPECT_NE(diags.find("warning DAT6006 accounts.jsonl:45 accounts: duplicate id \"g3\" (first at line 4)\n"),
            std::string::npos)
      << diags;
  EXPECT_NE(diags.find("warning DAT6008 accounts.jsonl:5 accounts.tier: \"gold\""), std::string::npos) << diags;
  EXPECT_EQ(value_of(*reference, "accounts", "name", "g3"), "\"na\"me \u00e9 3\"");
  EXPECT_EQ(value_of(*reference, "accounts", "name", "last"), "\"no newline\"");
  for (std::size_t chunk : {1u, 90u, 300u, 1u << 30}) {
    for (unsigned threads : {1u, 2u}) {
      auto l = load_dir(dir.str(), &fields, load::BadRecordPolicy::Skip, threads, chunk);
      ASSERT_TRUE(l->ok);
      EXPECT_EQ(dump_all(*l), dump_all(*reference)) << chunk << " " << threads;
      EXPECT_EQ(join(diagnostics(l->sink, dir.str())), diags) << chunk << " " << threads;
      EXPECT_EQ(pool_strings(*l), pool_strings(*reference)) << chunk << " " << threads;
    }
  }
  // Only good records, CRLF line ends and no final newline: the stream takes the whole file.
  TempDir good;
  good.write("accounts.jsonl", "\xEF\xBB\xBF{\"id\":\"a1\",\"name\":\"x\"}\r\n\r\n{\"id\":\"a2\",\"name\":\"y\"}");
  auto l = load_dir(good.str(), &fields);
  ASSERT_TRUE(l->ok);
  EXPECT_TRUE(l->sink.diagnostics().empty()) << join(diagnostics(l->sink));
  EXPECT_EQ(l->dataset->table("accounts")->source_lines, (std::vector<std::uint32_t>{1, 3}));
  EXPECT_EQ(value_of(*l, "accounts", "name", "a2"), "\"y\"");
}

// Ids are interned at the merge, not in the chunk, but at their place among the chunk's strings:
// StrIds keep the first-occurrence order, the id of a record rejected after its id was read
// included (JSON reads the id where it stands; CSV takes it once the row is good).
TEST(LoadChunks, IdsKeepTheirPlaceInTheInterningOrder) {
  Fields fields{{"accounts", {"name", "annual_revenue"}}};
  for (std::size_t chunk : {1u, 1u << 30}) {
    TempDir dir;
    dir.write("accounts.jsonl",
              "{\"name\":\"x0\",\"id\":\"x1\"}\n"
              "{\"id\":\"x2\",\"name\":\"x1\"}\n"
              "{\"id\":\"r9\",\"annual_revenue\":\"lots\"}\n"
              "{\"id\":\"x3\",\"name\":\"r9\"}\n"
              "{\"id\":\"x4\",\"name\":\"x5\"}\n"
              "{\"id\":\"x5\",\"name\":\"x4\"}\n");
    auto l = load_dir(dir.str(), &fields, load::BadRecordPolicy::Skip, 2, chunk);
    ASSERT_TRUE(l->ok);
    EXPECT_EQ(pool_strings(*l), (std::vector<std::string>{"x0", "x1", "x2", "r9", "x3", "x4", "x5"})) << chunk;
    TempDir csv;
    csv.write("accounts.csv", "name,id,annual_revenue\nx0,x1,1\nx1,x2,2\nr8,r9,lots\nr9,x3,3\n");
    auto c = load_dir(csv.str(), &fields, load::BadRecordPolicy::Skip, 2, chunk);
    ASSERT_TRUE(c->ok);
    EXPECT_EQ(pool_strings(*c), (std::vector<std::string>{"x0", "x1", "x2", "r8", "r9", "x3"})) << chunk;
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile input: never crash, always say something sensible.

TEST(LoadRobust, GarbageTruncationHugeLinesAndInvalidUtf8) {
  TempDir dir;
  std::mt19937 rng(1);
  std::string garbage;
  for (int i = 0; i < 200000; ++i) garbage += static_cast<char>(rng() % 256);
  std::string garbage_csv = "id,name,annual_revenue\n" + garbage;
  std::string huge = "{\"id\":\"big\",\"name\":\"" + std::string(10u << 20, 'x') + "\"}\n";
  struct Case {
    const char* name;
    std::string content;
  };
  std::vector<Case> cases = {
      {"accounts.jsonl", garbage},
      {"accounts.csv", garbage_csv},
      {"accounts.jsonl", "{\"id\":\"a1\",\"name\":\"trunc"},
      {"accounts.jsonl", "{\"id\":\"a1\",\"name\":\"ok\"}\n{\"id\":\"a2\",\"na"},
      {"accounts.csv", "id,name\na1,\"never closed\n\n\n"},
      {"accounts.csv", "id,name\na1,ok\na2"},
      {"accounts.jsonl", huge},
      {"accounts.csv", "id,name\nbig," + std::string(10u << 20, 'y') + "\n"},
      {"accounts.csv", "id,name\nbig,\"" + std::string(10u << 20, ',') + "\"\n"},
      {"accounts.jsonl", "{\"id\":\"a1\",\"name\":\"\xff\xfe\"}\n{\"id\":\"a2\"}\n"},
      {"accounts.jsonl", std::string(100000, '[') + "\n"},
      {"accounts.jsonl", std::string("{\"id\":\"a\0b\"}\n", 14)},
      {"accounts.csv", std::string("\xEF\xBB\xBF", 3)},
      {"accounts.csv", ""},
      {"accounts.jsonl", ""},
      {"accounts.jsonl", "\n\n\n"},
      {"accounts.csv", "\"id\",\"name\"\r\n\"a1\",\"x\"\r\n"},
  };
  Fields fields{{"accounts", {"name", "annual_revenue"}}};
  for (const auto& c : cases) {
    for (auto policy : {load::BadRecordPolicy::Fail, load::BadRecordPolicy::Skip}) {
      TempDir one;
      one.write(c.name, c.content);
      auto l = load_dir(one.str(), &fields, policy, 2, 4096);
      if (!l->ok) {
        EXPECT_TRUE(l->sink.has_errors()) << c.content.substr(0, 40);
      }
      const model::Table* t = l->dataset->table("accounts");
      if (t && l->ok) {
        EXPECT_EQ(t->source_lines.size(), t->size());
        EXPECT_EQ(t->column("name")->strings.size(), t->size());
      }
    }
  }
  // Specific outcomes.
  {
    TempDir one;
    one.write("accounts.jsonl", huge);
    auto l = load_dir(one.str(), &fields);
    ASSERT_TRUE(l->ok) << join(diagnostics(l->sink));
    EXPECT_EQ(value_of(*l, "accounts", "name", "big").size(), (10u << 20) + 2);
  }
  {
    TempDir one;
    one.write("accounts.jsonl", "{\"id\":\"a1\",\"name\":\"\xff\xfe\"}\n{\"id\":\"a2\"}\n");
    auto l = load_dir(one.str(), &fields, load::BadRecordPolicy::Skip);
    ASSERT_TRUE(l->ok);
    EXPECT_EQ(join(diagnostics(l->sink, one.str())),
              "warning DAT6002 accounts.jsonl:1 malformed JSON record: invalid UTF-8\n");
    EXPECT_EQ(l->stats.records, 1u);
  }
  {
    TempDir one;
    one.write("accounts.csv", "id,name\na1,ok\na2");  // truncated in the middle of a record
    auto l = load_dir(one.str(), &fields);
    EXPECT_FALSE(l->ok);
    EXPECT_EQ(join(diagnostics(l->sink, one.str())),
              "error DAT6002 accounts.csv:3 malformed CSV record: expected 2 cells as in the header, got 1\n");
  }
  {
    TempDir one;
    one.write("accounts.csv", "\"id\",\"name\"\r\n\"a1\",\"x\"\r\n");
    auto l = load_dir(one.str(), &fields);
    ASSERT_TRUE(l->ok);
    EXPECT_EQ(value_of(*l, "accounts", "name", "a1"), "\"x\"");
  }
}

// ---------------------------------------------------------------------------------------------
// Generated data: both formats, every entity and field.

std::size_t count_lines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::size_t lines = 0;
  std::string line;
  while (std::getline(in, line)) ++lines;
  return lines;
}

TEST(LoadGenerated, JsonlAndCsvOfGeneratedDataAgree) {
  TempDir dir;
  const std::string gen = std::string(RAPPORT_SHARED_DIR) + "/datagen/gen_crm.py";
  const std::string jsonl_dir = (dir.path / "jsonl").string();
  const std::string csv_dir = (dir.path / "csv").string();
  for (const auto& [out, format] : {std::pair{jsonl_dir, "jsonl"}, std::pair{csv_dir, "csv"}}) {
    std::string command = "python3 '" + gen + "' --out '" + out + "' --accounts 300 --seed 1 --jobs 1 --quiet --format " +
                          format + " > /dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  auto j = load_dir(jsonl_dir, nullptr, load::BadRecordPolicy::Fail, 2, 64 * 1024);
  auto c = load_dir(csv_dir, nullptr, load::BadRecordPolicy::Fail, 2, 16 * 1024);
  ASSERT_TRUE(j->ok) << join(diagnostics(j->sink));
  ASSERT_TRUE(c->ok) << join(diagnostics(c->sink));
  EXPECT_TRUE(j->sink.diagnostics().empty()) << join(diagnostics(j->sink));
  EXPECT_TRUE(c->sink.diagnostics().empty()) << join(diagnostics(c->sink));
  ASSERT_EQ(j->discovery.files.size(), 11u);
  ASSERT_EQ(c->discovery.files.size(), 11u);
  for (const auto& file : j->discovery.files) {
    const std::string& entity = file.entity;
    // One record a line (JSONL) / a line after the header (CSV: generated values have no newlines).
    std::size_t rows = count_lines(file.path);
    EXPECT_EQ(j->dataset->table(entity)->size(), rows) << entity;
    EXPECT_EQ(c->dataset->table(entity)->size(), count_lines(fs::path(csv_dir) / (entity + ".csv")) - 1) << entity;
    // Same schema either way.
    const auto* je = j->discovery.schema.entity(entity);
    const auto* ce = c->discovery.schema.entity(entity);
    ASSERT_EQ(je->fields.size(), ce->fields.size()) << entity;
    for (std::size_t i = 0; i < je->fields.size(); ++i) {
      EXPECT_EQ(je->fields[i].name, ce->fields[i].name);
      EXPECT_EQ(je->fields[i].type, ce->fields[i].type) << entity << "." << je->fields[i].name;
      EXPECT_EQ(je->fields[i].ref_entity, ce->fields[i].ref_entity) << entity << "." << je->fields[i].name;
    }
    // Same values, field by field (JSON [] is an empty list, an empty CSV cell is missing).
    auto jd = dump(*j->dataset, *j->dataset->table(entity), true);
    auto cd = dump(*c->dataset, *c->dataset->table(entity), true);
    ASSERT_EQ(jd.size(), cd.size());
    for (std::size_t r = 0; r < jd.size(); ++r) ASSERT_EQ(jd[r], cd[r]) << entity << " row " << r;
  }
  EXPECT_EQ(j->discovery.schema.entity("teams")->field("lead_id")->type, FieldType::Ref);
  EXPECT_EQ(j->stats.dangling_references, 0u);
}

TEST(LoadGenerated, CompactedTablesReadAsLoaded) {
  TempDir dir;
  const std::string gen = std::string(RAPPORT_SHARED_DIR) + "/datagen/gen_crm.py";
  const std::string command = "python3 '" + gen + "' --out '" + dir.str() + "' --accounts 300 --seed 1 --jobs 1 --quiet > /dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto plain = load_dir(dir.str(), nullptr, load::BadRecordPolicy::Fail, 2, 64 * 1024);
  auto compact = load_dir(dir.str(), nullptr, load::BadRecordPolicy::Fail, 2, 64 * 1024, false, true);
  ASSERT_TRUE(plain->ok) << join(diagnostics(plain->sink));
  ASSERT_TRUE(compact->ok) << join(diagnostics(compact->sink));
  std::size_t packed = 0, encoded = 0, references = 0;
  for (const auto& [entity, table] : plain->dataset->tables) {
    const model::Table& small = *compact->dataset->table(entity);
    EXPECT_EQ(dump(*compact->dataset, small), dump(*plain->dataset, table)) << entity;
    EXPECT_TRUE(small.source_lines.empty()) << entity;
    EXPECT_LE(small.memory_bytes(), table.memory_bytes()) << entity;
    for (const auto& [name, column] : small.columns) {
      packed += column.number_width != 0;
      encoded += column.code_width != 0;
      references += column.strings_compacted;
    }
  }
  // Flags, timestamps and scores; types, statuses and tiers; every resolved reference.
  EXPECT_GE(packed, 10u);
  EXPECT_GE(encoded, 10u);
  EXPECT_GE(references, 10u);
  const model::Column& type = compact->dataset->table("activities")->columns.at("type");
  EXPECT_EQ(type.code_width, 1);
  EXPECT_TRUE(type.strings.empty());
  const model::Column& topics = compact->dataset->table("activities")->columns.at("topics");
  EXPECT_EQ(topics.code_width, 1);
  EXPECT_TRUE(topics.list_items.empty());
  EXPECT_FALSE(topics.codes8.empty());
}

TEST(LoadBad, CompactedLoadsWordDanglingReferencesAsTheOthers) {
  TempDir dir;
  dir.write("accounts.jsonl",
            "{\"id\":\"a1\",\"owner_id\":\"u1\",\"tier\":\"key\"}\n"
            "{\"id\":\"a2\",\"owner_id\":\"gone\",\"tier\":null}\n"
            "{\"id\":\"a3\",\"tier\":\"growth\"}\n");
  dir.write("users.jsonl", "{\"id\":\"u1\",\"active\":true}\n{\"id\":\"u2\",\"active\":false}\n");
  Fields fields{{"accounts", {"owner_id", "tier"}}, {"users", {"active"}}};
  auto plain = load_dir(dir.str(), &fields);
  auto compact = load_dir(dir.str(), &fields, load::BadRecordPolicy::Fail, 2, 0, false, true);
  ASSERT_TRUE(compact->ok);
  EXPECT_EQ(join(diagnostics(compact->sink, dir.str())),
            "warning DAT6005 accounts.jsonl:2 accounts.owner_id: \"gone\" is not an id of users\n");
  EXPECT_EQ(join(diagnostics(compact->sink, dir.str())), join(diagnostics(plain->sink, dir.str())));
  EXPECT_EQ(dump_all(*compact), [&] {
    std::string out;  // dump_all() without the source lines, which the compact load drops
    for (const auto& [name, table] : plain->dataset->tables) {
      out += "# " + name + "\n";
      for (const auto& row : dump(*plain->dataset, table)) out += row + "\n";
      out += "\n";
    }
    return out;
  }());
  const model::Table& accounts = *compact->dataset->table("accounts");
  EXPECT_TRUE(accounts.columns.at("owner_id").strings_compacted);
  EXPECT_EQ(accounts.columns.at("tier").code_width, 1);
  EXPECT_EQ(compact->dataset->table("users")->columns.at("active").number_width, 1);
}

// Ids that only label their rows (LoadOptions::label_id_entities) are kept front-coded, except
// those of a table a loaded reference points at; they read back as loaded, and their duplicates
// (an escaped spelling included, within a chunk and across chunks) are reported as any table's.
TEST(LoadBad, LabelIdsReadAndWordDuplicatesAsInternedIds) {
  TempDir dir;
  dir.write("accounts.jsonl", "{\"id\":\"acc-1\"}\n{\"id\":\"acc-2\"}\n");
  std::string activities;
  for (int i = 1; i <= 40; ++i) {
    activities += "{\"id\":\"act-" + std::to_string(1000 + i) + "\",\"account_id\":\"acc-" + std::to_string(i % 2 + 1) +
                  "\",\"on_site\":" + (i % 2 ? "true" : "false") + "}\n";
    if (i == 3) activities += "{\"id\":\"act-1002\",\"account_id\":\"acc-1\"}\n";  // same chunk
    if (i == 30) activities += "{\"id\":\"act-100\\u0035\",\"account_id\":\"acc-1\"}\n";  // chunks before
  }
  dir.write("activities.jsonl", activities);
  Fields fields{{"accounts", {}}, {"activities", {"account_id", "on_site"}}};
  const std::set<std::string> labels{"accounts", "activities"};
  for (auto policy : {load::BadRecordPolicy::Skip, load::BadRecordPolicy::Fail}) {
    auto plain = load_dir(dir.str(), &fields, policy, 2, 200);
    auto labelled = load_dir(dir.str(), &fields, policy, 2, 200, false, true, labels);
    EXPECT_EQ(labelled->ok, plain->ok);
    EXPECT_EQ(join(diagnostics(labelled->sink, dir.str())), join(diagnostics(plain->sink, dir.str())));
    if (policy == load::BadRecordPolicy::Skip) {
      EXPECT_EQ(join(diagnostics(labelled->sink, dir.str())),
                "warning DAT6006 activities.jsonl:4 activities: duplicate id \"act-1002\" (first at line 2)\n"
                "warning DAT6006 activities.jsonl:32 activities: duplicate id \"act-1005\" (first at line 6)\n");
    }
    if (!plain->ok) continue;
    const model::Table& acts = *labelled->dataset->table("activities");
    EXPECT_FALSE(acts.interned_ids());
    EXPECT_TRUE(acts.ids.empty());
    EXPECT_EQ(acts.size(), 40u);
    EXPECT_TRUE(labelled->dataset->table("accounts")->interned_ids()) << "activities.account_id points at accounts";
    EXPECT_EQ(model::id_of(*labelled->dataset, acts, 39), "act-1040");
    EXPECT_EQ(dump(*labelled->dataset, acts), dump(*plain->dataset, *plain->dataset->table("activities")));
    // None of the 40 ids went into the string pool.
    EXPECT_EQ(labelled->dataset->strings.find("act-1001"), model::kMissingStr);
  }
}

// Label ids in export order (act-N-1, act-N-2, ..., act-N-10) are known distinct without being
// looked up; the first id out of that order makes the merge look up every id from then on, and
// a duplicate of an id many chunks back is still found, with its first line.
TEST(LoadBad, AscendingLabelIdsThenADuplicateManyChunksBack) {
  TempDir dir;
  dir.write("accounts.jsonl", "{\"id\":\"acc-1\"}\n{\"id\":\"acc-2\"}\n");
  std::string activities;
  std::vector<std::string> kept;
  for (int account = 1; account <= 4; ++account) {
    for (int n = 1; n <= 12; ++n) {  // -10 after -9: ascending as numbers, not as bytes
      const std::string id = "act-" + std::to_string(account) + "-" + std::to_string(n);
      activities += "{\"id\":\"" + id + "\",\"account_id\":\"acc-1\"}\n";
      kept.push_back(id);
    }
  }
  activities += "{\"id\":\"act-1-3\",\"account_id\":\"acc-2\"}\n";    // line 49: out of order, a duplicate
  activities += "{\"id\":\"act-5-1\",\"account_id\":\"acc-2\"}\n";    // line 50: new
  activities += "{\"id\":\"act-2-10\",\"account_id\":\"acc-2\"}\n";   // line 51: a duplicate again
  activities += "{\"id\":\"act-0005-1\",\"account_id\":\"acc-2\"}\n";  // line 52: new (another spelling)
  kept.push_back("act-5-1");
  kept.push_back("act-0005-1");
  dir.write("activities.jsonl", activities);
  Fields fields{{"accounts", {}}, {"activities", {"account_id"}}};
  const std::set<std::string> labels{"activities"};
  for (const unsigned threads : {1u, 2u}) {
    auto labelled = load_dir(dir.str(), &fields, load::BadRecordPolicy::Skip, threads, 150, false, true, labels);
    ASSERT_TRUE(labelled->ok);
    EXPECT_EQ(join(diagnostics(labelled->sink, dir.str())),
              "warning DAT6006 activities.jsonl:49 activities: duplicate id \"act-1-3\" (first at line 3)\n"
              "warning DAT6006 activities.jsonl:51 activities: duplicate id \"act-2-10\" (first at line 22)\n");
    const model::Table& acts = *labelled->dataset->table("activities");
    ASSERT_EQ(acts.size(), kept.size());
    for (std::size_t row = 0; row < kept.size(); ++row) EXPECT_EQ(model::id_of(*labelled->dataset, acts, row), kept[row]);
  }
}

// Timing on the 100k-account data set (generate it once into /tmp/crm100k):
//   ./rapport_unit_tests --gtest_also_run_disabled_tests --gtest_filter='LoadBench*'
TEST(LoadBench, DISABLED_Typical100kJsonl) {
  const char* env = std::getenv("RAPPORT_BENCH_DATA");
  std::string dir = env ? env : "/tmp/crm100k";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " not found";
  diag::DiagnosticSink sink;
  auto start = std::chrono::steady_clock::now();
  load::Discovery d = load::discover(dir, sink);
  auto all = [&](const char* entity) {
    std::set<std::string> names;
    for (const auto& f : d.schema.entity(entity)->fields) names.insert(f.name);
    return names;
  };
  load::LoadOptions options;
  options.threads = 2;
  options.fields = {{"accounts", {"owner_id", "tier", "region", "annual_revenue"}},
                    {"activities", {"account_id", "owner_id", "started_at", "topics", "opportunity_id"}},
                    {"cases", {"contract_id", "opened_at", "first_response_at", "assignee_id", "effort_hours"}},
                    {"contacts", {"account_id", "role", "last_contacted_at"}},
                    {"users", all("users")},
                    {"contracts", all("contracts")},
                    {"opportunities", all("opportunities")}};
  model::Dataset dataset;
  dataset.schema = d.schema;
  load::LoadStats stats;
  ASSERT_TRUE(load::load(d, options, dataset, stats, sink));
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("loaded %zu records, %.1f MB in %.3f s\n", stats.records, stats.bytes / 1e6, elapsed);
}

}  // namespace
