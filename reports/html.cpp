// The HTML report: one self-contained page (styles, data and script inline; no URL is ever
// fetched). Tables are rendered here so the page reads without JavaScript and prints; the
// charts are drawn by the inline script from the embedded JSON.

#include <algorithm>
#include <set>

#include "engine/output.hpp"
#include "reports/html_assets.hpp"
#include "reports/json_writer.hpp"
#include "reports/markup.hpp"
#include "reports/render.hpp"
#include "reports/summary.hpp"

namespace rapport::reports {

namespace {

using dsl::Severity;
using engine::with_thousands;

constexpr Severity kHighestFirst[] = {Severity::Critical, Severity::High, Severity::Medium, Severity::Low,
                                      Severity::Info};

std::string e(std::string_view text) { return markup_escape(text); }

std::string severity_badge(Severity severity) {
  std::string name(dsl::severity_name(severity));
  return "<span class=\"sev sev-" + name + "\">" + name + "</span>";
}

std::string num_cell(std::size_t n) { return "<td class=\"num\">" + with_thousands(n) + "</td>"; }

std::string or_none(std::string_view text, std::string_view none) {
  return text.empty() ? "<span class=\"muted\">" + e(none) + "</span>" : e(text);
}

std::string tile(std::string_view css_class, std::size_t value, std::string_view label) {
  return "<div class=\"tile " + std::string(css_class) + "\"><div class=\"value\">" + with_thousands(value) +
         "</div><div class=\"label\">" + e(label) + "</div></div>\n";
}

/// The embedded data the charts are drawn from.
std::string chart_data(const RunReport& report) {
  JsonWriter json;
  json.begin_object();
  write_portfolios(json, report);
  write_trend(json, report);
  json.end();
  return script_safe_json(json.str());
}

std::string header(const RunReport& report) {
  std::string packs;
  for (const auto& [name, version] : report.packs) packs += (packs.empty() ? "" : ", ") + e(name) + " " + e(version);
  auto fact = [](std::string_view label, const std::string& html) {
    return "<div><dt>" + std::string(label) + "</dt><dd>" + html + "</dd></div>";
  };
  std::string out = "<header class=\"page\">\n<p class=\"kicker\">Rapport nightly report</p>\n<h1>" +
                    e(report.title.empty() ? "Rapport run" : report.title) + "</h1>\n<dl class=\"facts\">";
  out += fact("As of", e(report.as_of)) + fact("Run at", e(report.run_at)) + fact("Packs", packs.empty() ? "none" : packs) +
         fact("Records", with_thousands(report.records));
  if (!report.source.empty()) out += fact("Source", e(report.source));
  if (report.first_run) out += fact("Baseline", "first run: every finding is new");
  return out + "</dl>\n</header>\n";
}

std::string summary_tiles(const RunCounts& counts) {
  std::string out = "<section class=\"tiles\" id=\"summary\" aria-label=\"Summary\">\n";
  out += tile("open", counts.open(), "Open") + tile("new", counts.new_findings, "New") +
         tile("resolved", counts.resolved, "Resolved") + tile("waived", counts.waived, "Waived");
  for (Severity s : kHighestFirst) {
    std::string name(dsl::severity_name(s));
    out += tile("tile-" + name, counts.open_by_severity[static_cast<std::size_t>(s)], name);
  }
  return out + "</section>\n";
}

std::string rules_table(const RunReport& report) {
  auto groups = group_by_rule(report);
  std::string out = "<section id=\"by-rule\">\n<h2>Findings by rule</h2>\n";
  if (groups.empty()) return out + "<p class=\"empty\">No rule reported anything.</p>\n</section>\n";
  out += "<div class=\"scroll\"><table>\n<thead><tr><th>Rule</th><th>Title</th><th>Severity</th><th class=\"num\">Open</th>"
         "<th class=\"num\">New</th><th class=\"num\">Waived</th></tr></thead>\n<tbody>\n";
  for (const auto& g : groups) {
    out += "<tr><td><code>" + e(g.key) + "</code></td><td>" + e(g.label) + "</td><td>" + severity_badge(g.severity) +
           "</td>" + num_cell(g.open) + num_cell(g.new_findings) + num_cell(g.waived) + "</tr>\n";
  }
  return out + "</tbody></table></div>\n</section>\n";
}

std::string group_table(std::string_view id, std::string_view title, std::string_view none,
                        const std::vector<FindingGroup>& groups) {
  std::string out = "<section id=\"" + std::string(id) + "\">\n<h2>" + std::string(title) + "</h2>\n";
  if (groups.empty()) return out + "<p class=\"empty\">Nothing open.</p>\n</section>\n";
  out += "<table>\n<thead><tr><th></th><th class=\"num\">Open</th><th class=\"num\">New</th></tr></thead>\n<tbody>\n";
  for (const auto& g : groups) {
    out += "<tr><td>" + or_none(g.label, none) + "</td>" + num_cell(g.open) + num_cell(g.new_findings) + "</tr>\n";
  }
  return out + "</tbody></table>\n</section>\n";
}

std::string breakdowns(const RunReport& report, const RunCounts& counts) {
  std::vector<FindingGroup> severities;
  for (Severity s : kHighestFirst) {
    std::size_t open = counts.open_by_severity[static_cast<std::size_t>(s)];
    if (open) severities.push_back({std::string(dsl::severity_name(s)), std::string(dsl::severity_name(s)), s, open, 0, 0});
  }
  for (const auto& f : report.findings) {
    if (f.status != Status::New) continue;
    for (auto& g : severities) g.new_findings += g.severity == f.finding.severity ? 1 : 0;
  }
  return "<div class=\"grid3\">\n" + group_table("by-severity", "By severity", "", severities) +
         group_table("by-team", "By team", "no team", group_by_team(report)) +
         group_table("by-region", "By region", "no region", group_by_region(report)) + "</div>\n";
}

std::string portfolio_chart(const RunReport& report) {
  std::size_t over = 0;
  for (const auto& p : report.portfolios) over += static_cast<double>(p.accounts) > report.dunbar_line ? 1 : 0;
  return "<section id=\"portfolios\">\n<h2>Portfolio size per account manager</h2>\n<p class=\"note\">" +
         with_thousands(report.portfolios.size()) + " account managers; " + with_thousands(over) +
         " above the Dunbar line of " + json_number(report.dunbar_line) +
         " accounts (highlighted). Sorted by portfolio size; hover a bar for the manager.</p>\n"
         "<div class=\"chart-scroll\"><svg id=\"portfolio-chart\" class=\"chart\" role=\"img\" aria-label=\"Accounts per "
         "account manager against the Dunbar line\" data-managers=\"" +
         std::to_string(report.portfolios.size()) + "\" xmlns=\"http://www.w3.org/2000/svg\"></svg></div>\n"
         "<div class=\"legend\"><span style=\"--c: var(--bar)\">accounts</span><span style=\"--c: var(--over)\">above the "
         "Dunbar line</span></div>\n</section>\n";
}

std::string trend_chart(const RunReport& report) {
  return "<section id=\"trend\">\n<h2>Trend</h2>\n<p class=\"note\">Open findings per run (line), new and resolved (bars), "
         "oldest first.</p>\n<div class=\"chart-scroll\"><svg id=\"trend-chart\" class=\"chart\" role=\"img\" "
         "aria-label=\"Open, new and resolved findings per run\" data-trend-points=\"" +
         std::to_string(report.trend.size()) +
         "\" xmlns=\"http://www.w3.org/2000/svg\"></svg></div>\n<div class=\"legend\"><span style=\"--c: "
         "var(--accent)\">open</span><span style=\"--c: var(--new)\">new</span><span style=\"--c: "
         "var(--resolved)\">resolved</span></div>\n</section>\n";
}

/// A <select> with "all" and one option per value (the empty value reads `none`).
std::string filter(std::string_view name, std::string_view label, const std::set<std::string>& values,
                   std::string_view none) {
  std::string out = "<label>" + std::string(label) + "<select id=\"filter-" + std::string(name) +
                    "\"><option value=\"*\">all</option>";
  for (const auto& v : values) out += "<option value=\"" + e(v) + "\">" + (v.empty() ? e(none) : e(v)) + "</option>";
  return out + "</select></label>\n";
}

/// The most rows a table of the page lists: a large book's findings belong in the CSV and JSON
/// reports, and a page of hundreds of thousands of rows would not open.
constexpr std::size_t kTableRows = 2000;

std::string truncation_note(std::size_t total, std::string_view what) {
  if (total <= kTableRows) return "";
  return "<p class=\"note\">The table lists the first " + with_thousands(kTableRows) + " of " + with_thousands(total) + " " +
         std::string(what) + ", highest severity first; findings.csv and findings.json have them all.</p>\n";
}

std::string findings_table(const RunReport& report) {
  std::string out = "<section id=\"findings\">\n<h2>Findings</h2>\n";
  if (report.findings.empty()) return out + "<p class=\"empty\">No open or waived findings.</p>\n</section>\n";
  const std::size_t rows = std::min(report.findings.size(), kTableRows);
  std::set<std::string> severities, statuses, teams, regions;
  for (const auto& f : report.findings) {
    severities.insert(std::string(dsl::severity_name(f.finding.severity)));
    statuses.insert(std::string(status_name(f.status)));
    teams.insert(f.team);
    regions.insert(f.region);
  }
  out += "<div class=\"filters\">\n" + filter("severity", "Severity", severities, "") +
         filter("status", "Status", statuses, "") + filter("team", "Team", teams, "no team") +
         filter("region", "Region", regions, "no region") +
         "<label>Search<input id=\"filter-text\" type=\"search\" placeholder=\"subject, rule, message\"></label>\n"
         "<span class=\"muted\"><span id=\"findings-shown\">" +
         std::to_string(rows) + "</span> of " + with_thousands(rows) + " shown</span>\n</div>\n" +
         truncation_note(report.findings.size(), "findings");
  out += "<div class=\"scroll\"><table id=\"findings-table\">\n<thead><tr><th>Severity</th><th>Status</th><th>Rule</th>"
         "<th>Subject</th><th>Finding</th><th>Owner</th><th>Team</th><th>Region</th><th>Since</th></tr></thead>\n<tbody>\n";
  for (std::size_t i = 0; i < rows; ++i) {
    const ReportFinding& rf = report.findings[i];
    const engine::Finding& f = rf.finding;
    std::string severity(dsl::severity_name(f.severity));
    std::string status(status_name(rf.status));
    out += "<tr data-severity=\"" + severity + "\" data-status=\"" + status + "\" data-team=\"" + e(rf.team) +
           "\" data-region=\"" + e(rf.region) + "\"><td>" + severity_badge(f.severity) + "</td><td><span class=\"status status-" +
           status + "\">" + status + "</span></td><td><code>" + e(f.rule) + "</code><div class=\"remedy\">" + e(f.title) +
           "</div></td><td>" + e(f.subject_name.empty() ? f.subject_id : f.subject_name.str()) + "<div class=\"remedy\"><code>" +
           e(f.subject_entity + "/" + f.subject_id) + "</code></div></td><td>" + e(f.message.str());
    if (!f.remedy.empty()) out += "<div class=\"remedy\">Remedy: " + e(f.remedy.str()) + "</div>";
    if (rf.waiver >= 0) {
      const Waiver& w = report.waivers.at(static_cast<std::size_t>(rf.waiver));
      out += "<div class=\"remedy\">Waived until " + e(w.expires) + ": " + e(w.reason) + "</div>";
    }
    out += "</td><td>" + or_none(rf.owner_id.empty() ? "" : owner_label(report, rf.owner_id), "unassigned") + "</td><td>" +
           or_none(rf.team, "—") + "</td><td>" + or_none(rf.region, "—") + "</td><td class=\"date\">" + e(rf.first_seen.substr(0, 10)) +
           "</td></tr>\n";
  }
  return out + "</tbody></table></div>\n</section>\n";
}

std::string resolved_table(const RunReport& report) {
  std::string out = "<section id=\"resolved\">\n<h2>Resolved since the previous run</h2>\n";
  if (report.resolved.empty()) return out + "<p class=\"empty\">Nothing was resolved.</p>\n</section>\n";
  out += truncation_note(report.resolved.size(), "resolved findings");
  out += "<div class=\"scroll\"><table>\n<thead><tr><th>Severity</th><th>Rule</th><th>Subject</th><th>Owner</th>"
         "<th>First seen</th></tr></thead>\n<tbody>\n";
  for (std::size_t i = 0; i < std::min(report.resolved.size(), kTableRows); ++i) {
    const ResolvedFinding& r = report.resolved[i];
    out += "<tr><td>" + severity_badge(r.severity) + "</td><td><code>" + e(r.rule) + "</code><div class=\"remedy\">" +
           e(r.title) + "</div></td><td>" + e(r.subject_name.empty() ? r.subject_id : r.subject_name) +
           "<div class=\"remedy\"><code>" + e(r.subject_entity + "/" + r.subject_id) + "</code></div></td><td>" +
           or_none(r.owner_id.empty() ? "" : owner_label(report, r.owner_id), "unassigned") + "</td><td class=\"date\">" +
           e(r.first_seen.substr(0, 10)) + "</td></tr>\n";
  }
  return out + "</tbody></table></div>\n</section>\n";
}

std::string waiver_table(std::string_view id, std::string_view title, std::string_view empty,
                         const std::vector<Waiver>& waivers) {
  std::string out = "<section id=\"" + std::string(id) + "\">\n<h2>" + std::string(title) + "</h2>\n";
  if (waivers.empty()) return out + "<p class=\"empty\">" + std::string(empty) + "</p>\n</section>\n";
  out += "<div class=\"scroll\"><table>\n<thead><tr><th>Rule</th><th>Subject</th><th>Reason</th><th>Granted by</th>"
         "<th>Expires</th><th>Where</th></tr></thead>\n<tbody>\n";
  for (const auto& w : waivers) {
    out += "<tr><td><code>" + e(w.rule) + "</code></td><td>" + (w.subject == "*" ? "every subject" : e(w.subject)) +
           "</td><td>" + e(w.reason) + "</td><td>" + e(w.owner) + "</td><td>" + e(w.expires) + "</td><td><code>" +
           e(w.location) + "</code></td></tr>\n";
  }
  return out + "</tbody></table></div>\n</section>\n";
}

}  // namespace

std::string render_html(const RunReport& report) {
  RunCounts counts = count_findings(report);
  std::string title = (report.title.empty() ? std::string("Rapport run") : report.title) + " — " + report.as_of;
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<meta name=\"generator\" content=\"Rapport " +
                    e(report.rapport_version) + "\">\n<title>" + e(title) + "</title>\n<style>" +
                    std::string(kReportStyle) + "</style>\n</head>\n<body>\n";
  out += header(report) + "<main>\n" + summary_tiles(counts) + rules_table(report) + breakdowns(report, counts) +
         portfolio_chart(report) + trend_chart(report) + findings_table(report) + resolved_table(report) +
         waiver_table("waivers", "Waivers in force", "No waivers in force.", report.waivers) +
         waiver_table("expired-waivers", "Expired waivers", "No waiver has expired.", report.expired_waivers) +
         waiver_table("unused-waivers", "Unused waivers", "Every waiver matched a finding.", report.unused_waivers) +
         "</main>\n<footer class=\"page\">Rapport " + e(report.rapport_version) + " · run " + e(report.run_id) +
         "</footer>\n";
  out += "<script type=\"application/json\" id=\"report-data\">" + chart_data(report) + "</script>\n<script>" +
         std::string(kReportScript) + "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace rapport::reports
