#include "packs/manifest.hpp"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "packs/yaml_support.hpp"

namespace rapport::packs {

namespace fs = std::filesystem;
using diag::Code;

bool is_pack_folder(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "pack.yaml", ec);
}

std::optional<std::array<int, 3>> parse_semver(std::string_view text, bool partial) {
  std::array<int, 3> parts{0, 0, 0};
  std::size_t index = 0;
  std::size_t at = 0;
  while (true) {
    std::size_t start = at;
    long value = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9' && at - start < 9) value = value * 10 + (text[at++] - '0');
    if (at == start) return std::nullopt;
    parts[index++] = static_cast<int>(value);
    if (at == text.size()) break;
    if (text[at] == '-' || text[at] == '+') {
      if (index < 3 && !partial) return std::nullopt;
      break;  // pre-release and build metadata are accepted and ignored
    }
    if (text[at] != '.' || index == 3) return std::nullopt;
    ++at;
  }
  if (index < 3 && !partial) return std::nullopt;
  return parts;
}

bool version_satisfies(std::string_view version, std::string_view range, std::string& error) {
  auto have = parse_semver(version, true);
  if (!have) {
    error = "`" + std::string(version) + "` is not a version";
    return false;
  }
  std::istringstream words{std::string(range)};
  std::string word;
  bool satisfied = true;
  bool any = false;
  while (words >> word) {
    any = true;
    std::string op;
    while (!word.empty() && std::string_view("<>=^~").find(word.front()) != std::string_view::npos) {
      op += word.front();
      word.erase(0, 1);
    }
    auto want = parse_semver(word, true);
    if (!want || (op != "" && op != "=" && op != ">=" && op != ">" && op != "<=" && op != "<" && op != "^" && op != "~")) {
      error = "`" + op + word + "` is not a version comparator";
      return false;
    }
    auto cmp = [&](const std::array<int, 3>& a, const std::array<int, 3>& b) { return a < b ? -1 : a > b ? 1 : 0; };
    int c = cmp(*have, *want);
    if (op.empty() || op == "=") satisfied = satisfied && c == 0;
    else if (op == ">=") satisfied = satisfied && c >= 0;
    else if (op == ">") satisfied = satisfied && c > 0;
    else if (op == "<=") satisfied = satisfied && c <= 0;
    else if (op == "<") satisfied = satisfied && c < 0;
    else if (op == "^") {
      std::array<int, 3> upper = (*want)[0] > 0 ? std::array<int, 3>{(*want)[0] + 1, 0, 0}
                                                : std::array<int, 3>{0, (*want)[1] + 1, 0};
      satisfied = satisfied && c >= 0 && cmp(*have, upper) < 0;
    } else if (op == "~") {
      std::array<int, 3> upper{(*want)[0], (*want)[1] + 1, 0};
      satisfied = satisfied && c >= 0 && cmp(*have, upper) < 0;
    }
  }
  if (!any) {
    error = "the range is empty";
    return false;
  }
  return satisfied;
}

std::optional<Manifest> load_manifest(const std::string& dir, std::string_view rapport_version, diag::DiagnosticSink& sink) {
  Manifest m;
  m.dir = dir;
  std::string path = (fs::path(dir) / "pack.yaml").string();
  auto root = load_yaml(path, m.file, sink);
  if (!root) return std::nullopt;
  const auto& file = m.file;
  if (!root->IsMap()) {
    sink.error(Code::YamlSyntax, file, {0, 1}, "pack.yaml must be a map with name, version, title and more")
        .help("see docs/packs.md");
    return std::nullopt;
  }
  std::size_t errors_before = sink.error_count();
  check_keys(*root, file,
             {"name", "version", "title", "description", "authors", "license", "requires", "rules", "tests", "extends", "params"},
             "pack.yaml", sink);
  auto required_text = [&](const char* key) -> std::string {
    YAML::Node node = (*root)[key];
    if (!node) {
      sink.error(Code::UnknownKey, file, {0, 1}, std::string("pack.yaml has no `") + key + "`")
          .help(std::string("add `") + key + ": ...`");
      return "";
    }
    return scalar_text(node, file, key, sink).value_or("");
  };
  m.name = required_text("name");
  if (YAML::Node name = (*root)["name"]) m.name_span = span_of(name, *file);
  bool name_ok = !m.name.empty() && m.name[0] >= 'a' && m.name[0] <= 'z' &&
                 std::all_of(m.name.begin(), m.name.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
  if (!m.name.empty() && !name_ok) {
    sink.error(Code::BadIdentifier, file, m.name_span, "pack name `" + m.name + "` must match [a-z][a-z0-9_]*")
        .help("it is also the `pack` header of the rule files: use lower case and underscores");
  }
  m.version = required_text("version");
  if (!m.version.empty() && !parse_semver(m.version)) {
    sink.error(Code::ParamOverrideType, file, span_of((*root)["version"], *file),
               "version `" + m.version + "` is not a semantic version")
        .help("write MAJOR.MINOR.PATCH, e.g. 1.0.0");
  }
  m.title = required_text("title");
  if (YAML::Node n = (*root)["description"]) m.description = scalar_text(n, file, "description", sink).value_or("");
  if (YAML::Node n = (*root)["license"]) m.license = scalar_text(n, file, "license", sink).value_or("");
  if (YAML::Node n = (*root)["authors"]) m.authors = text_list(n, file, "authors", sink).value_or(std::vector<std::string>{});
  if (YAML::Node n = (*root)["requires"]) {
    m.requires_range = scalar_text(n, file, "requires", sink).value_or("");
    std::string error;
    bool ok = version_satisfies(rapport_version, m.requires_range, error);
    if (!error.empty()) {
      sink.error(Code::ParamOverrideType, file, span_of(n, *file), "`requires` " + error)
          .help("write comparators such as \">=0.1.0 <1.0.0\"");
    } else if (!ok) {
      sink.error(Code::PackMismatch, file, span_of(n, *file),
                 "pack " + m.name + " requires Rapport " + m.requires_range + ", but this is Rapport " +
                     std::string(rapport_version))
          .help("use a Rapport version in that range, or a version of the pack made for this one");
    }
  }
  auto paths = [&](const char* key, std::vector<std::string>& out, bool must_be_dir) {
    YAML::Node node = (*root)[key];
    if (!node) return;
    auto list = text_list(node, file, key, sink);
    if (!list) return;
    std::size_t index = 0;
    for (const auto& item : *list) {
      YAML::Node at = node.IsSequence() ? node[index] : node;
      ++index;
      fs::path resolved = fs::path(dir) / item;
      std::error_code ec;
      bool exists = must_be_dir ? fs::is_directory(resolved, ec) : fs::exists(resolved, ec);
      if (!exists) {
        sink.error(Code::DataFileMissing, file, span_of(at, *file),
                   std::string(key) + ": " + resolved.string() + (must_be_dir ? " is not a folder" : " does not exist"));
        continue;
      }
      out.push_back(resolved.lexically_normal().string());
    }
  };
  paths("rules", m.rule_files, false);
  if (!(*root)["rules"]) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".rules") m.rule_files.push_back(entry.path().lexically_normal().string());
    }
    std::sort(m.rule_files.begin(), m.rule_files.end());
    if (m.rule_files.empty()) {
      sink.error(Code::DataFileMissing, file, m.name_span, "pack " + m.name + " has no .rules file in " + dir)
          .help("add a rule file, or list them under `rules:`");
    }
  }
  paths("tests", m.test_paths, false);
  if (!(*root)["tests"]) {
    std::error_code ec;
    if (fs::is_directory(fs::path(dir) / "tests", ec)) m.test_paths.push_back((fs::path(dir) / "tests").lexically_normal().string());
  }
  paths("extends", m.extends, true);
  for (const auto& extended : m.extends) {
    if (!is_pack_folder(extended)) {
      sink.error(Code::DataFileMissing, file, span_of((*root)["extends"], *file), "extends: " + extended + " has no pack.yaml");
    }
  }
  if (YAML::Node params = (*root)["params"]) {
    auto block = std::make_shared<ParamBlock>();
    block->file = file;
    block->node = params;
    block->origin = path;
    m.params = block;
  }
  if (sink.error_count() > errors_before) return std::nullopt;
  return m;
}

}  // namespace rapport::packs
