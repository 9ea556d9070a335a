#include "engine/findings.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <numeric>

namespace rapport::engine {

void sort_findings(std::vector<Finding>& findings) {
  const std::size_t n = findings.size();
  // One integer key per finding for severity, pack and rule (ranked among the few distinct
  // pack/rule pairs), so most comparisons never touch a string.
  std::map<std::pair<std::string_view, std::string_view>, std::uint32_t> ranks;
  for (const auto& f : findings) ranks.emplace(std::make_pair(std::string_view(f.pack), std::string_view(f.rule)), 0);
  std::uint32_t next = 0;
  for (auto& [pair, rank] : ranks) rank = next++;
  std::vector<std::uint64_t> key(n);
  const Finding* previous = nullptr;
  std::uint32_t rank = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Finding& f = findings[i];
    if (!previous || previous->rule != f.rule || previous->pack != f.pack) {
      rank = ranks.at(std::make_pair(std::string_view(f.pack), std::string_view(f.rule)));
    }
    previous = &f;
    key[i] = (static_cast<std::uint64_t>(4 - static_cast<int>(f.severity)) << 32) | rank;
  }
  // Sort positions, then move each finding once: a Finding is a dozen strings and vectors, and
  // moving them through a million-element stable sort costs seconds.
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) {
    if (key[x] != key[y]) return key[x] < key[y];
    return findings[x].subject_id < findings[y].subject_id;
  });
  bool sorted = true;
  for (std::size_t i = 0; i < n && sorted; ++i) sorted = order[i] == i;
  if (sorted) return;
  std::vector<Finding> out;
  out.reserve(n);
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
