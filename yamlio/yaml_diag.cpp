#include "yamlio/yaml_diag.hpp"

#include <algorithm>

#include "diag/suggest.hpp"

namespace rapport::yamlio {

using diag::Code;

std::string quote(std::string_view name) { return "`" + std::string(name) + "`"; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

diag::Span span_of(const YAML::Node& node, const diag::SourceFile& file) {
  YAML::Mark mark = node.Mark();
  auto begin = static_cast<std::uint32_t>(mark.pos < 0 ? 0 : mark.pos);
  std::uint32_t end = begin;
  const std::string& text = file.text();
  if (node.IsScalar()) {
    end = begin + static_cast<std::uint32_t>(node.Scalar().size());
    if (begin < text.size() && (text[begin] == '"' || text[begin] == '\'')) end += 2;
  } else {
    end = begin + 1;
  }
  if (end > text.size()) end = static_cast<std::uint32_t>(text.size());
  if (end <= begin && begin < text.size()) end = begin + 1;
  return {begin, end};
}

std::string place_of(const YAML::Node& node, const diag::SourceFile& file) {
  diag::Position pos = file.position(span_of(node, file).begin);
  return file.path() + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
}

std::optional<YAML::Node> load_yaml(const std::string& path, diag::SourceFilePtr& file, diag::DiagnosticSink& sink) {
  std::string error;
  file = diag::read_source_file(path, error);
  if (!file) {
    sink.error(Code::YamlSyntax, nullptr, {}, error);
    return std::nullopt;
  }
  try {
    return YAML::Load(file->text());
  } catch (const YAML::Exception& e) {
    auto pos = static_cast<std::uint32_t>(e.mark.pos < 0 ? 0 : e.mark.pos);
    sink.error(Code::YamlSyntax, file, {pos, pos + 1}, "the YAML cannot be parsed: " + e.msg);
    return std::nullopt;
  }
}

bool check_keys(const YAML::Node& map, const diag::SourceFilePtr& file, const std::vector<std::string>& allowed,
                std::string_view where, diag::DiagnosticSink& sink) {
  bool ok = true;
  for (const auto& entry : map) {
    std::string key = entry.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    auto& d = sink.error(Code::UnknownKey, file, span_of(entry.first, *file),
                         "unknown key " + quote(key) + " in " + std::string(where));
    if (auto s = diag::closest(key, allowed)) {
      d.help("did you mean " + quote(*s) + "?");
    } else {
      d.help("allowed keys: " + join(allowed));
    }
    ok = false;
  }
  return ok;
}

std::optional<std::string> scalar_text(const YAML::Node& node, const diag::SourceFilePtr& file, std::string_view what,
                                       diag::DiagnosticSink& sink) {
  if (node.IsScalar()) return node.Scalar();
  sink.error(Code::ParamOverrideType, file, span_of(node, *file), std::string(what) + " must be text");
  return std::nullopt;
}

std::optional<std::vector<std::string>> text_list(const YAML::Node& node, const diag::SourceFilePtr& file,
                                                  std::string_view what, diag::DiagnosticSink& sink) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence()) {
    sink.error(Code::ParamOverrideType, file, span_of(node, *file), std::string(what) + " must be a list of text")
        .help("for example: [a, b]");
    return std::nullopt;
  }
  for (const auto& item : node) {
    auto text = scalar_text(item, file, what, sink);
    if (!text) return std::nullopt;
    out.push_back(*text);
  }
  return out;
}

}  // namespace rapport::yamlio
