// Plan reports: text for the admin who reviews the moves, JSON as the change set write-back
// applies, CSV for a spreadsheet or a CRM import.

#include <cmath>

#include "engine/chunked.hpp"
#include "engine/format.hpp"
#include "engine/planner.hpp"

namespace rapport::engine {

namespace {

std::string number(double v) { return std::isinf(v) ? "none" : format_number(v, dsl::Unit::None); }
std::string json_number(double v) { return std::isinf(v) || std::isnan(v) ? "null" : format_number(v, dsl::Unit::None); }

/// A record or target as JSON, `null` when there is none, appended to `out` (every move names
/// three: no temporaries).
void append_party_json(std::string& out, const std::string& id, const std::string& name) {
  if (id.empty()) {
    out += "null";
    return;
  }
  out += "{\"id\": ";
  append_json_string(out, id);
  out += ", \"name\": ";
  append_json_string(out, name);
  out += '}';
}

std::string party_json(const std::string& id, const std::string& name) {
  std::string out;
  append_party_json(out, id, name);
  return out;
}

std::string loads_json(std::size_t count, const std::vector<double>& loads) {
  std::string out = "{\"count\": " + std::to_string(count) + ", \"limits\": [";
  for (std::size_t l = 0; l < loads.size(); ++l) out += (l ? ", " : "") + json_number(loads[l]);
  return out + "]}";
}

/// A move's reasons joined by "; ", appended to `out`.
void append_reasons(std::string& out, const PlanResult& r, const PlanMove& m) {
  for (std::size_t k = 0; k < m.reasons.size(); ++k) out.append(k ? "; " : "").append(r.reason_texts[m.reasons[k]]);
}

}  // namespace

void render_plan_text(const PlanResult& r, const RunInfo& info, bool color, const ReportWriter& write) {
  const char* reset = color ? "\033[0m" : "";
  const char* bold = color ? "\033[1m" : "";
  const char* dim = color ? "\033[2m" : "";
  Chunked out(write);
  out += std::string(bold) + "PLAN " + r.plan + reset + " — " + r.title + " " + dim + "(" + r.pack + "@" + r.pack_version +
         ", as of " + info.as_of + ")" + reset + "\n";
  out += "  " + with_thousands(r.moves.size()) + (r.moves.size() == 1 ? " move" : " moves") + " of " + r.entity + "." +
         r.field + " over " + with_thousands(r.records) + " " + r.entity + ": " + with_thousands(r.without_target) +
         " without a valid owner, " + with_thousands(r.relieved) + " off a target over a limit; " +
         with_thousands(r.to_overflow) + " to the overflow; " + with_thousands(r.kept) + " kept in place\n";
  out += "  targets over a limit: " + with_thousands(r.over_before) + " before, " + with_thousands(r.over_after) + " after";
  out += r.minimal ? "; the fewest moves that meet every limit\n"
                   : "; the search ran out of budget on some target, so the count is not proven minimal\n";
  out += "  limits:";
  for (std::size_t l = 0; l < r.limits.size(); ++l) out += " [" + std::to_string(l + 1) + "] " + r.limits[l] + (l + 1 < r.limits.size() ? ";" : "");
  out += "\n";

  if (!r.moves.empty()) {
    out += std::string("\n") + bold + "Moves" + reset + "\n";
    out.append_each(r.moves.size(), [&](std::string& buffer, std::size_t i) {
      const PlanMove& m = r.moves[i];
      buffer.append("  ").append(m.record).append("  ").append(m.record_name).append(": ");
      if (m.from.empty()) buffer += "nobody";
      else buffer.append(m.from_name).append(" (").append(m.from).append(")");
      buffer.append(" -> ").append(m.to_name).append(" (").append(m.to).append(")");
      if (m.to_overflow) buffer += " [overflow]";
      buffer.append("  ").append(dim).append(m.id).append(reset).append("\n");
      buffer.append("      ").append(dim).append("why:").append(reset).append(" ");
      append_reasons(buffer, r, m);
      buffer += "\n";
      if (!m.message.empty()) buffer.append("      ").append(m.message).append("\n");
      if (!m.remedy.empty()) buffer.append("      ").append(dim).append("remedy:").append(reset).append(" ").append(m.remedy).append("\n");
    });
  }

  bool header = false;
  for (const auto& t : r.targets) {
    if (!t.moved_in && !t.moved_out && !t.over_before && !t.over_after) continue;
    if (!header) {
      out += std::string("\n") + bold + "Portfolios that change" + reset + " " + dim + "(items, then each limit: before -> after / bound)" + reset + "\n";
      header = true;
    }
    out += "  " + t.id + "  " + t.name + (t.overflow ? " [overflow]" : "") + ": " + std::to_string(t.count_before) +
           " -> " + std::to_string(t.count_after) + " (+" + std::to_string(t.moved_in) + " -" + std::to_string(t.moved_out) + ")";
    for (std::size_t l = 0; l < t.before.size() && !t.overflow; ++l) {
      out += "; [" + std::to_string(l + 1) + "] " + number(t.before[l]) + " -> " + number(t.after[l]) + " / " + number(t.capacity[l]);
    }
    out += t.over_after ? "  STILL OVER\n" : "\n";
  }

  if (!r.unplaced.empty()) {
    out += std::string("\n") + bold + "Could not be placed" + reset + "\n";
    for (const auto& u : r.unplaced) {
      out += "  " + u.record + "  " + u.record_name + (u.from.empty() ? "" : " (stays with " + u.from + ")") + ": " + u.reason + "\n";
    }
  }
  if (!r.shortfalls.empty()) {
    out += std::string("\n") + bold + "Capacity" + reset + "\n";
    for (const auto& s : r.shortfalls) out += "  " + s.text + "\n";
  }
  if (!r.findings.empty()) {
    out += std::string("\n") + bold + "What the plan can't fix by itself" + reset + "\n";
    for (const auto& f : r.findings) {
      out += "  [" + std::string(dsl::severity_name(f.severity)) + "] " + f.subject_id + "  " + f.message + "\n";
      out += "      " + std::string(dim) + "remedy:" + reset + " " + f.remedy + "\n";
    }
  }
  out.finish();
}

void render_plan_json(const PlanResult& r, const RunInfo& info, const ReportWriter& write) {
  Chunked out(write);
  out += "{\n";
  out += "  \"schema\": " + json_string(kPlanSchema) + ",\n";
  out += "  \"rapport_version\": " + json_string(info.rapport_version) + ",\n";
  out += "  \"as_of\": " + json_string(info.as_of) + ",\n";
  out += "  \"pack\": {\"name\": " + json_string(r.pack) + ", \"version\": " + json_string(r.pack_version) + "},\n";
  out += "  \"plan\": " + json_string(r.plan) + ",\n  \"title\": " + json_string(r.title) + ",\n";
  out += "  \"change\": {\"entity\": " + json_string(r.entity) + ", \"field\": " + json_string(r.field) +
         ", \"target_entity\": " + json_string(r.target_entity) + "},\n";
  out += "  \"limits\": [";
  for (std::size_t l = 0; l < r.limits.size(); ++l) out += (l ? ", " : "") + json_string(r.limits[l]);
  out += "],\n  \"preferences\": [";
  for (std::size_t j = 0; j < r.preferences.size(); ++j) out += (j ? ", " : "") + json_string(r.preferences[j]);
  out += "],\n";
  out += "  \"summary\": {\"records\": " + std::to_string(r.records) + ", \"moves\": " + std::to_string(r.moves.size()) +
         ", \"without_target\": " + std::to_string(r.without_target) + ", \"relieved\": " + std::to_string(r.relieved) +
         ", \"to_overflow\": " + std::to_string(r.to_overflow) + ", \"kept\": " + std::to_string(r.kept) +
         ", \"unplaced\": " + std::to_string(r.unplaced.size()) + ", \"targets_over_before\": " + std::to_string(r.over_before) +
         ", \"targets_over_after\": " + std::to_string(r.over_after) + ", \"minimal\": " + (r.minimal ? "true" : "false") + "},\n";
  out += "  \"moves\": [";
  out.append_each(r.moves.size(), [&](std::string& buffer, std::size_t i) {
    const PlanMove& m = r.moves[i];
    buffer.append(i ? ",\n    " : "\n    ").append("{\"id\": ");
    append_json_string(buffer, m.id);
    buffer.append(", \"record\": ");
    append_party_json(buffer, m.record, m.record_name);
    buffer.append(", \"from\": ");
    append_party_json(buffer, m.from, m.from_name);
    buffer.append(", \"to\": ");
    append_party_json(buffer, m.to, m.to_name);
    buffer.append(", \"overflow\": ").append(m.to_overflow ? "true" : "false").append(", \"reasons\": [");
    for (std::size_t k = 0; k < m.reasons.size(); ++k) {
      buffer.append(k ? ", " : "");
      append_json_string(buffer, r.reason_texts[m.reasons[k]]);
    }
    buffer.append("], \"message\": ");
    append_json_string(buffer, m.message);
    buffer.append(", \"remedy\": ");
    append_json_string(buffer, m.remedy);
    buffer.append("}");
  });
  out += r.moves.empty() ? "],\n" : "\n  ],\n";
  out += "  \"targets\": [";
  for (std::size_t i = 0; i < r.targets.size(); ++i) {
    const auto& t = r.targets[i];
    out += std::string(i ? ",\n    " : "\n    ") + "{\"id\": " + json_string(t.id) + ", \"name\": " + json_string(t.name) +
           ", \"overflow\": " + (t.overflow ? "true" : "false") + ", \"before\": " + loads_json(t.count_before, t.before) +
           ", \"after\": " + loads_json(t.count_after, t.after) + ", \"bounds\": [";
    for (std::size_t l = 0; l < t.capacity.size(); ++l) out += (l ? ", " : "") + json_number(t.overflow ? INFINITY : t.capacity[l]);
    out += "], \"moved_in\": " + std::to_string(t.moved_in) + ", \"moved_out\": " + std::to_string(t.moved_out) +
           ", \"over_before\": " + (t.over_before ? "true" : "false") + ", \"over_after\": " + (t.over_after ? "true" : "false") + "}";
  }
  out += r.targets.empty() ? "],\n" : "\n  ],\n";
  out += "  \"unplaced\": [";
  for (std::size_t i = 0; i < r.unplaced.size(); ++i) {
    const auto& u = r.unplaced[i];
    out += std::string(i ? ",\n    " : "\n    ") + "{\"record\": " + party_json(u.record, u.record_name) +
           ", \"stays_with\": " + (u.from.empty() ? "null" : json_string(u.from)) + ", \"reason\": " + json_string(u.reason) + "}";
  }
  out += r.unplaced.empty() ? "],\n" : "\n  ],\n";
  out += "  \"shortfalls\": [";
  for (std::size_t i = 0; i < r.shortfalls.size(); ++i) {
    const auto& s = r.shortfalls[i];
    out += std::string(i ? ",\n    " : "\n    ") + "{\"key\": " + json_string(s.key) + ", \"records\": " + std::to_string(s.records) +
           ", \"targets_needed\": " + std::to_string(s.targets_needed) + ", \"text\": " + json_string(s.text) + "}";
  }
  out += r.shortfalls.empty() ? "],\n" : "\n  ],\n";
  out += "  \"findings\": [";
  for (std::size_t i = 0; i < r.findings.size(); ++i) {
    out.append([&](std::string& buffer) {
      buffer += i ? ",\n    " : "\n    ";
      append_finding_json(buffer, r.findings[i]);
    });
  }
  out += r.findings.empty() ? "]\n}\n" : "\n  ]\n}\n";
  out.finish();
}

void render_plan_csv(const PlanResult& r, const ReportWriter& write) {
  Chunked out(write);
  out += "move_id,record_id,record_name,from_id,from_name,to_id,to_name,overflow,reasons,message,remedy\n";
  out.append_each(r.moves.size(), [&](std::string& buffer, std::size_t i) {
    const PlanMove& m = r.moves[i];
    buffer += m.id;
    for (const std::string* cell : {&m.record, &m.record_name, &m.from, &m.from_name, &m.to, &m.to_name}) {
      buffer += ',';
      append_csv_cell(buffer, *cell);
    }
    buffer.append(m.to_overflow ? ",true," : ",false,");
    std::string reasons;
    append_reasons(reasons, r, m);
    append_csv_cell(buffer, reasons);
    buffer += ',';
    append_csv_cell(buffer, m.message);
    buffer += ',';
    append_csv_cell(buffer, m.remedy);
    buffer += '\n';
  });
  out.finish();
}

}  // namespace rapport::engine
