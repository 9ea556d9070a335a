#include "packs/test_suite.hpp"

#include <algorithm>
#include <filesystem>
#include <regex>

#include "diag/render.hpp"
#include "model/time.hpp"
#include "packs/yaml_support.hpp"

namespace rapport::packs {

namespace fs = std::filesystem;
using diag::Code;

namespace {

bool looks_like_number(const std::string& s) {
  static const std::regex number(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)");
  return std::regex_match(s, number);
}

/// A YAML value as JSON: plain scalars that read as numbers, booleans or null keep that type;
/// quoted scalars and everything else are strings.
std::string to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "null";
    case YAML::NodeType::Sequence: {
      std::string out = "[";
      bool first = true;
      for (const auto& item : node) {
        out += (first ? "" : ",") + to_json(item);
        first = false;
      }
      return out + "]";
    }
    case YAML::NodeType::Map: {
      std::string out = "{";
      bool first = true;
      for (const auto& entry : node) {
        out += (first ? "\"" : ",\"") + diag::json_escape(entry.first.Scalar()) + "\":" + to_json(entry.second);
        first = false;
      }
      return out + "}";
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() != "!") {  // plain (unquoted)
        if (s == "null" || s == "~" || s.empty()) return "null";
        if (s == "true" || s == "false") return s;
        if (looks_like_number(s)) return s;
      }
      return "\"" + diag::json_escape(s) + "\"";
    }
  }
  return "null";
}

bool read_records(const YAML::Node& data, const diag::SourceFilePtr& file, std::map<std::string, std::vector<std::string>>& out,
                  diag::DiagnosticSink& sink) {
  if (!data.IsMap()) {
    sink.error(Code::YamlSyntax, file, span_of(data, *file), "`data` is a map of entity names to lists of records")
        .help("for example: data: { accounts: [ { id: a1, owner_id: u1 } ] }");
    return false;
  }
  bool ok = true;
  for (const auto& entity : data) {
    std::string name = entity.first.Scalar();
    auto& records = out[name];
    if (entity.second.IsNull()) continue;
    if (!entity.second.IsSequence()) {
      sink.error(Code::YamlSyntax, file, span_of(entity.second, *file), "`" + name + "` must be a list of records");
      ok = false;
      continue;
    }
    for (const auto& record : entity.second) {
      if (!record.IsMap()) {
        sink.error(Code::YamlSyntax, file, span_of(record, *file), "a record is a map such as { id: a1, tier: key }");
        ok = false;
        continue;
      }
      records.push_back(to_json(record));
    }
  }
  return ok;
}

std::optional<std::string> as_of_text(const YAML::Node& node, const diag::SourceFilePtr& file, diag::DiagnosticSink& sink) {
  auto text = scalar_text(node, file, "as_of", sink);
  if (!text) return std::nullopt;
  if (!model::parse_date_or_timestamp(*text)) {
    sink.error(Code::BadDateLiteral, file, span_of(node, *file), "as_of `" + *text + "` is not a date or UTC timestamp")
        .help("write 2026-11-01 or 2026-11-01T09:30:00Z");
    return std::nullopt;
  }
  return text;
}

ParamBlockPtr param_block(const YAML::Node& node, const diag::SourceFilePtr& file, const std::string& origin) {
  auto block = std::make_shared<ParamBlock>();
  block->file = file;
  block->node = node;
  block->origin = origin;
  return block;
}

}  // namespace

std::vector<std::string> find_test_files(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> found;
      for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
        auto ext = it->path().extension();
        if (it->is_regular_file() && (ext == ".yaml" || ext == ".yml")) found.push_back(it->path().string());
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(path);
    }
  }
  return files;
}

std::optional<TestFile> load_test_file(const std::string& path, diag::DiagnosticSink& sink) {
  TestFile test;
  test.path = path;
  auto root = load_yaml(path, test.file, sink);
  if (!root) return std::nullopt;
  const auto& file = test.file;
  if (!root->IsMap()) {
    sink.error(Code::YamlSyntax, file, {0, 1}, "a test file is a map with `cases` (see docs/packs.md)");
    return std::nullopt;
  }
  std::size_t errors = sink.error_count();
  check_keys(*root, file, {"rule", "rules", "as_of", "params", "data", "fixtures", "cases"}, "a test file", sink);
  std::vector<std::string> rules;
  for (const char* key : {"rule", "rules"}) {
    if (YAML::Node n = (*root)[key]) rules = text_list(n, file, key, sink).value_or(std::vector<std::string>{});
  }
  std::string as_of = "2026-11-01";
  if (YAML::Node n = (*root)["as_of"]) as_of = as_of_text(n, file, sink).value_or(as_of);
  ParamBlockPtr file_params;
  if (YAML::Node n = (*root)["params"]) file_params = param_block(n, file, path);
  std::map<std::string, std::vector<std::string>> file_records;
  if (YAML::Node n = (*root)["data"]) read_records(n, file, file_records, sink);
  std::string fixtures;
  auto fixtures_of = [&](const YAML::Node& n) -> std::string {
    auto text = scalar_text(n, file, "fixtures", sink);
    if (!text) return "";
    fs::path folder = fs::path(path).parent_path() / *text;
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) {
      sink.error(Code::DataFileMissing, file, span_of(n, *file), "fixtures: " + folder.string() + " is not a folder");
      return "";
    }
    return folder.string();
  };
  if (YAML::Node n = (*root)["fixtures"]) fixtures = fixtures_of(n);
  YAML::Node cases = (*root)["cases"];
  if (!cases || !cases.IsSequence() || cases.size() == 0) {
    sink.error(Code::YamlSyntax, file, cases ? span_of(cases, *file) : diag::Span{0, 1},
               "a test file needs `cases:`, a list of cases")
        .help("each case has a name, data and the findings it expects (see docs/packs.md)");
    return std::nullopt;
  }
  for (const auto& node : cases) {
    TestCase c;
    c.span = span_of(node, *file);
    if (!node.IsMap()) {
      sink.error(Code::YamlSyntax, file, c.span, "a case is a map with name, data and expect");
      continue;
    }
    check_keys(node, file, {"name", "rule", "rules", "as_of", "params", "data", "fixtures", "expect"}, "a case", sink);
    c.rules = rules;
    c.as_of = as_of;
    c.records = file_records;
    c.fixtures = fixtures;
    if (file_params) c.params.push_back(file_params);
    if (YAML::Node n = node["name"]) c.name = scalar_text(n, file, "name", sink).value_or("");
    if (c.name.empty()) {
      sink.error(Code::UnknownKey, file, c.span, "this case has no `name`").help("name it after what it shows: \"151 accounts fire\"");
    }
    for (const char* key : {"rule", "rules"}) {
      if (YAML::Node n = node[key]) c.rules = text_list(n, file, key, sink).value_or(std::vector<std::string>{});
    }
    if (YAML::Node n = node["as_of"]) c.as_of = as_of_text(n, file, sink).value_or(c.as_of);
    if (YAML::Node n = node["params"]) c.params.push_back(param_block(n, file, path));
    if (YAML::Node n = node["fixtures"]) c.fixtures = fixtures_of(n);
    if (YAML::Node n = node["data"]) {
      std::map<std::string, std::vector<std::string>> extra;
      read_records(n, file, extra, sink);
      for (auto& [entity, records] : extra) {
        auto& into = c.records[entity];
        into.insert(into.end(), records.begin(), records.end());
      }
    }
    YAML::Node expect = node["expect"];
    if (!expect) {
      sink.error(Code::UnknownKey, file, c.span, "case `" + c.name + "` has no `expect`")
          .help("write `expect: []` for a case that must not fire");
    } else if (!expect.IsSequence()) {
      sink.error(Code::YamlSyntax, file, span_of(expect, *file), "`expect` is a list of findings ([] for none)");
    } else {
      for (const auto& f : expect) {
        ExpectedFinding e;
        e.span = span_of(f, *file);
        if (!f.IsMap()) {
          sink.error(Code::YamlSyntax, file, e.span, "an expected finding is a map: { rule: ..., subject: ..., severity: ... }");
          continue;
        }
        check_keys(f, file, {"rule", "subject", "severity", "message"}, "an expected finding", sink);
        if (YAML::Node n = f["rule"]) e.rule = scalar_text(n, file, "rule", sink).value_or("");
        if (YAML::Node n = f["subject"]) e.subject = scalar_text(n, file, "subject", sink).value_or("");
        if (YAML::Node n = f["severity"]) {
          e.severity = scalar_text(n, file, "severity", sink).value_or("");
          if (!e.severity.empty() && !dsl::parse_severity(e.severity)) {
            sink.error(Code::UnknownSeverity, file, span_of(n, *file), "unknown severity `" + e.severity + "`")
                .help("severities: info, low, medium, high, critical");
          }
        }
        if (YAML::Node n = f["message"]) e.message = scalar_text(n, file, "message", sink);
        if (e.subject.empty() || e.severity.empty()) {
          sink.error(Code::UnknownKey, file, e.span, "an expected finding needs `subject` and `severity`");
          continue;
        }
        c.expect.push_back(std::move(e));
      }
    }
    test.cases.push_back(std::move(c));
  }
  if (sink.error_count() > errors) return std::nullopt;
  return test;
}

}  // namespace rapport::packs
