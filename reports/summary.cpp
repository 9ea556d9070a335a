#include "reports/summary.hpp"

#include <algorithm>
#include <map>

namespace rapport::reports {

namespace {

using dsl::Severity;

std::size_t index_of(Severity severity) { return static_cast<std::size_t>(severity); }

/// Most open findings first, then the highest severity, then the key.
void sort_groups(std::vector<FindingGroup>& groups) {
  std::stable_sort(groups.begin(), groups.end(), [](const FindingGroup& a, const FindingGroup& b) {
    if (a.open != b.open) return a.open > b.open;
    if (a.severity != b.severity) return a.severity > b.severity;
    return a.key < b.key;
  });
}

template <typename KeyOf>
std::vector<FindingGroup> group_open(const RunReport& report, KeyOf key_of) {
  std::map<std::string, FindingGroup> groups;
  for (const auto& f : report.findings) {
    if (!is_open(f)) continue;
    std::string key = key_of(f);
    FindingGroup& g = groups[key];
    if (g.open == 0) {
      g.key = key;
      g.label = key;
      g.severity = f.finding.severity;
    }
    g.severity = std::max(g.severity, f.finding.severity);
    ++g.open;
    if (f.status == Status::New) ++g.new_findings;
  }
  std::vector<FindingGroup> out;
  for (auto& [key, group] : groups) out.push_back(std::move(group));
  sort_groups(out);
  return out;
}

}  // namespace

bool is_open(const ReportFinding& finding) { return finding.status != Status::Waived; }

RunCounts count_findings(const RunReport& report) {
  RunCounts counts;
  for (const auto& f : report.findings) {
    switch (f.status) {
      case Status::New: ++counts.new_findings; break;
      case Status::Open: ++counts.still_open; break;
      case Status::Waived: ++counts.waived; break;
    }
    if (is_open(f)) ++counts.open_by_severity[index_of(f.finding.severity)];
  }
  counts.resolved = report.resolved.size();
  return counts;
}

std::vector<engine::Finding> open_findings(const RunReport& report) {
  std::vector<engine::Finding> out;
  for (const auto& f : report.findings) {
    if (is_open(f)) out.push_back(f.finding);
  }
  return out;
}

std::vector<FindingGroup> group_by_rule(const RunReport& report) {
  std::vector<FindingGroup> groups;
  std::map<std::string, std::size_t> index;  // "pack/rule" -> position in groups
  for (const auto& r : report.rules) {
    index.emplace(r.pack + "/" + r.id, groups.size());
    groups.push_back({r.pack + "/" + r.id, r.title, r.severity, 0, 0, 0});
  }
  for (const auto& f : report.findings) {
    std::string key = f.finding.pack + "/" + f.finding.rule;
    auto [it, added] = index.emplace(key, groups.size());
    if (added) groups.push_back({key, f.finding.title, f.finding.base_severity, 0, 0, 0});
    FindingGroup& g = groups[it->second];
    if (!is_open(f)) {
      ++g.waived;
      continue;
    }
    ++g.open;
    if (f.status == Status::New) ++g.new_findings;
  }
  std::erase_if(groups, [](const FindingGroup& g) { return g.open == 0 && g.waived == 0; });
  sort_groups(groups);
  return groups;
}

std::vector<FindingGroup> group_by_team(const RunReport& report) {
  return group_open(report, [](const ReportFinding& f) { return f.team; });
}

std::vector<FindingGroup> group_by_region(const RunReport& report) {
  return group_open(report, [](const ReportFinding& f) { return f.region; });
}

std::optional<Severity> worst_open_severity(const RunReport& report) {
  std::optional<Severity> worst;
  for (const auto& f : report.findings) {
    if (is_open(f) && (!worst || f.finding.severity > *worst)) worst = f.finding.severity;
  }
  return worst;
}

std::string_view severity_color(Severity severity) {
  switch (severity) {
    case Severity::Critical: return "#8e1b5c";
    case Severity::High: return "#c62828";
    case Severity::Medium: return "#d97706";
    case Severity::Low: return "#2b6cb0";
    case Severity::Info: return "#6b7280";
  }
  return "#6b7280";
}

std::string owner_label(const RunReport& report, std::string_view owner_id) {
  if (owner_id.empty()) return "unassigned";
  const Person* person = report.person(owner_id);
  return person && !person->name.empty() ? person->name : std::string(owner_id);
}

std::string count_noun(std::size_t n, std::string_view singular, std::string_view plural) {
  return std::to_string(n) + " " + std::string(n == 1 ? singular : plural);
}

std::string subject_label(std::string_view name, std::string_view id) {
  if (name.empty()) return std::string(id);
  return std::string(name) + " (" + std::string(id) + ")";
}

}  // namespace rapport::reports
