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

}  // namespace rapport::dsl
