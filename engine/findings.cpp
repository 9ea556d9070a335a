#include "engine/findings.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <numeric>

namespace rapport::engine {

void sort_findings(std::vector<Finding>& findings) {
  // Sort positions, then move each finding once: a Finding is a dozen strings and vectors, and
  // moving them through a million-element stable sort costs seconds.
  std::vector<std::uint32_t> order(findings.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&findings](std::uint32_t x, std::uint32_t y) {
    const Finding& a = findings[x];
    const Finding& b = findings[y];
    if (a.severity != b.severity) return a.severity > b.severity;
    if (int c = a.pack.compare(b.pack)) return c < 0;
    if (int c = a.rule.compare(b.rule)) return c < 0;
    return a.subject_id < b.subject_id;
  });
  bool sorted = true;
  for (std::size_t i = 0; i < order.size() && sorted; ++i) sorted = order[i] == i;
  if (sorted) return;
  std::vector<Finding> out;
  out.reserve(findings.size());
  for (std::uint32_t i : order) out.push_back(std::move(findings[i]));
  findings = std::move(out);
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
