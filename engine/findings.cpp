#include "engine/findings.hpp"

#include <algorithm>
#include <cstdio>

namespace rapport::engine {

void sort_findings(std::vector<Finding>& findings) {
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.pack != b.pack) return a.pack < b.pack;
    if (a.rule != b.rule) return a.rule < b.rule;
    return a.subject_id < b.subject_id;
  });
}

std::string fingerprint(std::string_view pack, std::string_view rule, std::string_view entity, std::string_view id) {
  std::uint64_t hash = 1469598103934665603ull;
  auto mix = [&hash](std::string_view part) {
    for (unsigned char c : part) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
    hash ^= '|';
    hash *= 1099511628211ull;
  };
  mix(pack);
  mix(rule);
  mix(entity);
  mix(id);
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(hash));
  return buffer;
}

}  // namespace rapport::engine
