#include "engine/output.hpp"

#include <algorithm>
#include <array>
#include <map>

#include "diag/render.hpp"
#include "engine/chunked.hpp"

namespace rapport::engine {

namespace {

using dsl::Severity;

const char* severity_color(Severity s) {
  switch (s) {
    case Severity::Critical: return "\033[1;35m";
    case Severity::High: return "\033[1;31m";
    case Severity::Medium: return "\033[1;33m";
    case Severity::Low: return "\033[1;36m";
    case Severity::Info: return "\033[2m";
  }
  return "";
}

/// A renderer's output as one string (for small reports and tests).
template <typename Render>
std::string to_string(Render render) {
  std::string out;
  render([&out](std::string_view piece) { out += piece; });
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string with_thousands(std::size_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void append_csv_cell(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string csv_cell(std::string_view s) {
  std::string out;
  append_csv_cell(out, s);
  return out;
}

std::string json_string(std::string_view s) { return "\"" + diag::json_escape(s) + "\""; }

std::string severity_counts(const std::vector<Finding>& findings) {
  std::array<std::size_t, 5> counts{};
  for (const auto& f : findings) ++counts[static_cast<std::size_t>(f.severity)];
  std::string out;
  for (int s = 4; s >= 0; --s) {
    if (!counts[s]) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(counts[s]) + " " + std::string(dsl::severity_name(static_cast<Severity>(s)));
  }
  return out.empty() ? "none" : out;
}

std::string render_text(const EvalResult& result, const RunInfo& info, bool color) {
  return to_string([&](const ReportWriter& write) { render_text(result, info, color, write); });
}

void render_text(const EvalResult& result, const RunInfo& info, bool color, const ReportWriter& write) {
  Chunked out(write);
  const char* reset = color ? "\033[0m" : "";
  const char* bold = color ? "\033[1m" : "";
  const char* dim = color ? "\033[2m" : "";
  // Groups in order of first appearance (the findings are sorted by severity, then rule).
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Finding*>> groups;
  for (const auto& f : result.findings) {
    std::string key = f.pack + "/" + f.rule;
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&f);
  }
  for (const auto& key : order) {
    const auto& items = groups[key];
    const Finding& first = *items.front();
    out += std::string(color ? severity_color(first.severity) : "") + upper(dsl::severity_name(first.severity)) + reset +
           " " + bold + first.rule + reset + " — " + first.title + " " + dim + "(" + std::to_string(items.size()) +
           (items.size() == 1 ? " finding" : " findings") + ", " + first.pack + "@" + first.pack_version + ")" + reset +
           "\n";
    for (const Finding* f : items) {
      std::string subject = f->value_subject ? f->subject_id : f->subject_id;
      out += "  ";
      if (f->severity != first.severity) {
        out += std::string(color ? severity_color(f->severity) : "") + "[" + std::string(dsl::severity_name(f->severity)) +
               "]" + reset + " ";
      }
      out += std::string(dim) + subject + reset + "  " + f->message + "\n";
      const std::string remedy = f->remedy.str();  // rendered once (a deferred text renders when read)
      if (!remedy.empty()) out += "      " + std::string(dim) + "remedy:" + reset + " " + remedy + "\n";
    }
    out += "\n";
  }
  std::size_t unknown = 0;
  std::size_t rules = 0;
  for (const auto& r : result.rules) {
    unknown += r.unknown;
    rules += r.enabled ? 1 : 0;
  }
  out += std::string(bold) + with_thousands(result.findings.size()) + (result.findings.size() == 1 ? " finding" : " findings") +
         reset + " (" + severity_counts(result.findings) + ") from " + std::to_string(rules) +
         (rules == 1 ? " rule" : " rules") + " over " + with_thousands(info.records) + " records, as of " + info.as_of + "\n";
  if (unknown) {
    std::string line = with_thousands(unknown) + " subject(s) could not be judged because data was missing:";
    for (const auto& r : result.rules) {
      if (r.unknown) line += " " + r.rule + " " + with_thousands(r.unknown) + ";";
    }
    line.back() = '\n';
    out += line;
  }
  if (info.skipped_records || info.dangling_references) {
    out += "data: " + with_thousands(info.skipped_records) + " bad record(s) skipped, " +
           with_thousands(info.dangling_references) + " dangling reference(s)\n";
  }
  out.finish();
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  diag::json_escape_to(out, s);
  out += '"';
}

namespace {

/// The parts of a finding's JSON that every finding of a rule repeats (pack, version, rule, title,
/// subject entity, tags; and the fingerprint's hash of those), escaped once: a million findings
/// would otherwise escape the same texts a million times. Kept per thread for the rule last
/// written; findings come grouped by rule.
class RuleJson {
 public:
  void update(const Finding& f) {
    const Key key{&f.pack.str(), &f.pack_version.str(), &f.rule.str(), &f.title.str(), &f.subject_entity.str(),
                  &f.tags.list()};
    if (valid_ && key == key_) return;
    key_ = key;
    valid_ = true;
    head.clear();
    head += "{\"pack\": ";
    append_json_string(head, f.pack);
    head += ", \"pack_version\": ";
    append_json_string(head, f.pack_version);
    head += ", \"rule\": ";
    append_json_string(head, f.rule);
    head += ", \"title\": ";
    append_json_string(head, f.title);
    head += ", \"severity\": ";
    entity.clear();
    entity += ", \"subject\": {\"entity\": ";
    append_json_string(entity, f.subject_entity);
    tags.clear();
    tags += ", \"tags\": [";
    for (std::size_t t = 0; t < f.tags.size(); ++t) {
      if (t) tags += ", ";
      append_json_string(tags, f.tags[t]);
    }
    tags += "], \"evidence\": {";
    seed = fingerprint_seed(f.pack, f.rule, f.subject_entity);
  }

  std::string head;    // {"pack": ..., "title": ..., "severity":
  std::string entity;  // , "subject": {"entity": ...
  std::string tags;    // , "tags": [...], "evidence": {
  std::uint64_t seed = 0;

 private:
  using Key = std::array<const void*, 6>;
  Key key_{};
  bool valid_ = false;
};

/// A severity's name as a JSON string (the names need no escaping).
void append_severity(std::string& out, Severity severity) {
  out += '"';
  out += dsl::severity_name(severity);
  out += '"';
}

}  // namespace

void append_finding_json(std::string& out, const Finding& f) {
  thread_local RuleJson rule;
  rule.update(f);
  out += rule.head;
  append_severity(out, f.severity);
  out += ", \"base_severity\": ";
  append_severity(out, f.base_severity);
  out += rule.entity;
  out += f.value_subject ? ", \"value\": " : ", \"id\": ";
  append_json_string(out, f.subject_id);
  thread_local std::string scratch;  // a deferred text or evidence, rendered before it is written
  if (!f.value_subject && !f.subject_name.empty()) {
    out += ", \"name\": ";
    append_json_string(out, f.subject_name.view(scratch));
  }
  out += "}, \"message\": ";
  append_json_string(out, f.message.view(scratch));
  out += ", \"remedy\": ";
  append_json_string(out, f.remedy.view(scratch));
  out += rule.tags;
  bool first = true;
  for (const Evidence item : f.evidence.items(scratch)) {
    if (!first) out += ", ";
    first = false;
    append_json_string(out, item.name);
    out += ": ";
    out += item.json;
  }
  out += "}, \"fingerprint\": \"";
  append_fingerprint(out, rule.seed, f.subject_id);
  out += "\"}";
}

std::string finding_json(const Finding& f) {
  std::string out;
  append_finding_json(out, f);
  return out;
}

std::string render_json(const EvalResult& result, const RunInfo& info) {
  return to_string([&](const ReportWriter& write) { render_json(result, info, write); });
}

void render_json(const EvalResult& result, const RunInfo& info, const ReportWriter& write) {
  Chunked out(write);
  out += "{\n";
  out += "  \"schema\": " + json_string(kFindingsSchema) + ",\n";
  out += "  \"rapport_version\": " + json_string(info.rapport_version) + ",\n";
  out += "  \"as_of\": " + json_string(info.as_of) + ",\n";
  out += "  \"packs\": [";
  for (std::size_t i = 0; i < info.packs.size(); ++i) {
    out += std::string(i ? ", " : "") + "{\"name\": " + json_string(info.packs[i].first) +
           ", \"version\": " + json_string(info.packs[i].second) + "}";
  }
  out += "],\n  \"summary\": {\n    \"findings\": " + std::to_string(result.findings.size()) + ",\n    \"by_severity\": {";
  std::array<std::size_t, 5> counts{};
  for (const auto& f : result.findings) ++counts[static_cast<std::size_t>(f.severity)];
  for (int s = 4; s >= 0; --s) {
    out += json_string(dsl::severity_name(static_cast<Severity>(s))) + ": " + std::to_string(counts[s]) + (s ? ", " : "");
  }
  out += "},\n    \"data\": {\"records\": " + std::to_string(info.records) +
         ", \"skipped_records\": " + std::to_string(info.skipped_records) +
         ", \"dangling_references\": " + std::to_string(info.dangling_references) + "},\n    \"rules\": [";
  for (std::size_t i = 0; i < result.rules.size(); ++i) {
    const auto& r = result.rules[i];
    out += std::string(i ? ",\n      " : "\n      ") + "{\"pack\": " + json_string(r.pack) + ", \"rule\": " + json_string(r.rule) +
           ", \"severity\": " + json_string(dsl::severity_name(r.severity)) + ", \"enabled\": " + (r.enabled ? "true" : "false") +
           ", \"subjects\": " + std::to_string(r.subjects) + ", \"findings\": " + std::to_string(r.findings) +
           ", \"unknown\": " + std::to_string(r.unknown) + "}";
  }
  out += result.rules.empty() ? "]\n  },\n" : "\n    ]\n  },\n";
  out += "  \"findings\": [";
  out.append_each(result.findings.size(), [&result](std::string& buffer, std::size_t i) {
    buffer += i ? ",\n    " : "\n    ";
    append_finding_json(buffer, result.findings[i]);
  });
  out += result.findings.empty() ? "]\n}\n" : "\n  ]\n}\n";
  out.finish();
}

std::string render_csv(const EvalResult& result) {
  return to_string([&](const ReportWriter& write) { render_csv(result, write); });
}

void render_csv(const EvalResult& result, const ReportWriter& write) {
  Chunked out(write);
  out += "severity,pack,pack_version,rule,subject_entity,subject_id,subject_name,message,remedy,tags,fingerprint\n";
  out.append_each(result.findings.size(), [&result](std::string& buffer, std::size_t i) {
    const Finding& f = result.findings[i];
    std::string tags;
    for (std::size_t t = 0; t < f.tags.size(); ++t) tags.append(t ? ";" : "").append(f.tags[t]);
    buffer += dsl::severity_name(f.severity);
    // Rendered now: kept alive.
    const std::string name = f.subject_name.str(), message = f.message.str(), remedy = f.remedy.str();
    const std::initializer_list<std::string_view> cells = {
        f.pack, f.pack_version, f.rule, f.subject_entity, f.subject_id, name, message, remedy, tags};
    for (std::string_view cell : cells) {
      buffer += ',';
      append_csv_cell(buffer, cell);
    }
    buffer += ',';
    append_fingerprint(buffer, fingerprint_seed(f.pack, f.rule, f.subject_entity), f.subject_id);
    buffer += '\n';
  });
  out.finish();
}

}  // namespace rapport::engine
