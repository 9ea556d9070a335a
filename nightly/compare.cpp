#include "nightly/compare.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace rapport::nightly {

Comparison compare(std::vector<engine::Finding> findings, const std::vector<std::string>& owners, const State& previous,
                   const std::vector<LoadedWaiver>& active_waivers, const RunFacts& facts) {
  Comparison out;
  std::unordered_map<std::string_view, const KnownFinding*> known;
  for (const auto& k : previous.findings) known.emplace(k.fingerprint, &k);
  for (const auto& w : active_waivers) out.waivers.push_back(w.waiver);
  std::vector<bool> waiver_used(active_waivers.size(), false);

  std::unordered_set<std::string> current;  // fingerprints are computed: the set owns them
  out.findings.reserve(findings.size());
  for (std::size_t i = 0; i < findings.size(); ++i) {
    reports::ReportFinding r;
    r.finding = std::move(findings[i]);
    r.owner_id = i < owners.size() ? owners[i] : std::string();
    auto it = known.find(r.finding.fingerprint());
    r.first_seen = it != known.end() ? it->second->first_seen : facts.as_of;
    r.status = it != known.end() ? reports::Status::Open : reports::Status::New;
    int w = match_waiver(active_waivers, r.finding.rule, r.finding.subject_id);
    if (w >= 0) {
      r.status = reports::Status::Waived;
      r.waiver = w;
      waiver_used[static_cast<std::size_t>(w)] = true;
    }
    out.findings.push_back(std::move(r));
  }
  for (const auto& r : out.findings) current.insert(r.finding.fingerprint());

  for (const auto& k : previous.findings) {
    if (current.count(k.fingerprint)) continue;
    out.resolved.push_back(k);  // what it was, without the waiver flag
  }
  std::sort(out.resolved.begin(), out.resolved.end(), [](const auto& a, const auto& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.rule != b.rule) return a.rule < b.rule;
    return a.subject_id < b.subject_id;
  });
  for (std::size_t w = 0; w < active_waivers.size(); ++w) {
    if (!waiver_used[w]) out.unused_waivers.push_back(active_waivers[w].waiver);
  }

  reports::TrendPoint& p = out.point;
  p.run_at = facts.run_at;
  p.as_of = facts.as_of;
  p.resolved = out.resolved.size();
  for (const auto& r : out.findings) {
    if (r.status == reports::Status::Waived) {
      ++p.waived;
      continue;
    }
    ++p.open;
    ++p.by_severity[static_cast<std::size_t>(r.finding.severity)];
    if (r.status == reports::Status::New) ++p.new_findings;
  }

  State& next = out.next;
  next.exists = true;
  next.last_run_id = facts.run_id;
  next.last_run_at = facts.run_at;
  next.last_as_of = facts.as_of;
  for (const auto& r : out.findings) {
    KnownFinding k;
    k.fingerprint = r.finding.fingerprint();
    k.pack = r.finding.pack;
    k.rule = r.finding.rule;
    k.title = r.finding.title;
    k.severity = r.finding.severity;
    k.subject_entity = r.finding.subject_entity;
    k.subject_id = r.finding.subject_id;
    k.subject_name = r.finding.subject_name.str();
    k.owner_id = r.owner_id;
    k.first_seen = r.first_seen;
    k.waived = r.status == reports::Status::Waived;
    next.findings.push_back(std::move(k));
  }
  std::sort(next.findings.begin(), next.findings.end(),
            [](const KnownFinding& a, const KnownFinding& b) { return a.fingerprint < b.fingerprint; });
  next.history = previous.history;
  next.history.push_back(p);
  if (next.history.size() > facts.history) {
    next.history.erase(next.history.begin(), next.history.end() - static_cast<std::ptrdiff_t>(facts.history));
  }
  return out;
}

}  // namespace rapport::nightly
