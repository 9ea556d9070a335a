#include "dsl/program.hpp"

namespace rapport::dsl {

std::string_view severity_name(Severity severity) {
  switch (severity) {
    case Severity::Info: return "info";
    case Severity::Low: return "low";
    case Severity::Medium: return "medium";
    case Severity::High: return "high";
    case Severity::Critical: return "critical";
  }
  return "medium";
}

std::optional<Severity> parse_severity(std::string_view name) {
  if (name == "info") return Severity::Info;
  if (name == "low") return Severity::Low;
  if (name == "medium") return Severity::Medium;
  if (name == "high") return Severity::High;
  if (name == "critical") return Severity::Critical;
  return std::nullopt;
}

int CompiledPack::param_slot(std::string_view name) const {
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (params[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

ParamValues CompiledPack::default_params() const {
  ParamValues values;
  for (const auto& p : params) {
    values.values.push_back(p.default_value);
    values.keyed.push_back(p.keyed);
    values.origin.emplace_back("default");
  }
  return values;
}

std::string CompiledPack::text_of(diag::Span span) const {
  if (!source || span.empty() || span.end > source->text().size()) return "";
  const std::string& text = source->text();
  std::string_view raw = std::string_view(text).substr(span.begin, span.end - span.begin);
  // One line: runs of whitespace outside quotes become one space.
  std::string out;
  char quote = 0;
  bool space = false;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (quote) {
      out += c;
      if (c == '\\' && i + 1 < raw.size()) out += raw[++i];
      else if (c == quote) quote = 0;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = true;
      continue;
    }
    if (c == '#') {  // a comment inside a multi-line expression
      while (i + 1 < raw.size() && raw[i + 1] != '\n') ++i;
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    if (c == '"' || c == '\'') quote = c;
    out += c;
  }
  return out;
}

}  // namespace rapport::dsl
