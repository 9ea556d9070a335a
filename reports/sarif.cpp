// SARIF 2.1.0 (OASIS): one run of the "Rapport" tool. The rules are reportingDescriptors whose
// definitions (rule file, line, column) sit in their property bag, pointing into run.artifacts;
// the results' locations are logical: the CRM records (`accounts/acc-000123`). Validated
// against the OASIS schema in tests/data/schemas.

#include <algorithm>
#include <cctype>
#include <map>

#include "reports/json_writer.hpp"
#include "reports/markup.hpp"
#include "reports/render.hpp"
#include "reports/summary.hpp"

namespace rapport::reports {

namespace {

using dsl::Severity;

constexpr std::string_view kSarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";
// Where people read about Rapport; SARIF wants an absolute URI here.

std::string_view level_of(Severity severity) {
  switch (severity) {
    case Severity::Critical:
    case Severity::High: return "error";
    case Severity::Medium: return "warning";
    case Severity::Low:
    case Severity::Info: return "note";
  }
  return "warning";
}

/// "stale-opportunity" -> "StaleOpportunity": the reportingDescriptor's readable name.
std::string pascal_case(std::string_view id) {
  std::string out;
  bool upper = true;
  for (char c : id) {
    if (c == '-' || c == '_' || c == '.' || c == ' ') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

/// Positions of the rules (by pack and id) and of the rule files (artifacts).
struct Index {
  std::map<std::pair<std::string, std::string>, std::size_t> rule;
  std::map<std::string, std::size_t> artifact;
  std::vector<std::string> artifacts;  // rule files in order of first use
};

Index index_rules(const RunReport& report) {
  Index index;
  for (std::size_t i = 0; i < report.rules.size(); ++i) {
    const RuleInfo& r = report.rules[i];
    index.rule.emplace(std::pair{r.pack, r.id}, i);
    if (!r.file.empty() && index.artifact.emplace(r.file, index.artifacts.size()).second) index.artifacts.push_back(r.file);
  }
  return index;
}

void write_artifact_location(JsonWriter& json, const Index& index, const std::string& file) {
  json.key("artifactLocation")
      .begin_object()
      .member("uri", uri_path(file))
      .member("index", index.artifact.at(file))
      .end();
}

void write_rule(JsonWriter& json, const RuleInfo& r, const Index& index) {
  json.begin_object().member("id", r.id).member("name", pascal_case(r.id));
  json.key("shortDescription").begin_object().member("text", r.title).end();
  if (!r.rationale.empty()) json.key("fullDescription").begin_object().member("text", r.rationale).end();
  json.key("defaultConfiguration").begin_object().member("enabled", r.enabled).member("level", level_of(r.severity)).end();
  json.key("properties")
      .begin_object()
      .member("tags", r.tags)
      .member("pack", r.pack)
      .member("packVersion", r.pack_version)
      .member("severity", dsl::severity_name(r.severity));
  if (!r.file.empty()) {
    // A reportingDescriptor has no location of its own in SARIF 2.1.0: the definition is a
    // physicalLocation in the property bag, its artifact in run.artifacts.
    json.member("definition", r.file + ":" + std::to_string(r.line) + ":" + std::to_string(r.column));
    json.key("definitionLocation").begin_object();
    write_artifact_location(json, index, r.file);
    json.key("region").begin_object().member("startLine", std::size_t{std::max(r.line, 1u)});
    json.member("startColumn", std::size_t{std::max(r.column, 1u)}).end().end();
  }
  json.end().end();
}

void write_logical_location(JsonWriter& json, std::string_view entity, std::string_view id, bool value_subject) {
  json.key("locations").begin_array().begin_object().key("logicalLocations").begin_array();
  json.begin_object()
      .member("name", id)
      .member("fullyQualifiedName", std::string(entity) + "/" + std::string(id))
      .member("kind", value_subject ? "value" : "object")
      .end();
  json.end().end().end();
}

void write_owner_properties(JsonWriter& json, const RunReport& report, const std::string& owner_id) {
  json.member("owner", owner_id).member("ownerName", owner_id.empty() ? "" : owner_label(report, owner_id));
}

/// The rule's index, or none when the finding's rule is not among the report's rules.
void write_rule_reference(JsonWriter& json, const Index& index, const std::string& pack, const std::string& rule) {
  json.member("ruleId", rule);
  auto it = index.rule.find({pack, rule});
  if (it != index.rule.end()) json.member("ruleIndex", it->second);
}

void write_result(JsonWriter& json, const RunReport& report, const Index& index, const ReportFinding& rf) {
  const engine::Finding& f = rf.finding;
  json.begin_object();
  write_rule_reference(json, index, f.pack, f.rule);
  json.member("level", level_of(f.severity));
  json.key("message").begin_object().member("text", f.message.empty() ? f.title.str() : f.message.str()).end();
  write_logical_location(json, f.subject_entity, f.subject_id, f.value_subject);
  json.key("partialFingerprints").begin_object().member("rapport/v1", f.fingerprint()).end();
  // A waived finding is "unchanged" when it was already reported before this run.
  bool is_new = rf.status == Status::New || (rf.status == Status::Waived && rf.first_seen == report.as_of);
  json.member("baselineState", is_new ? "new" : "unchanged");
  if (rf.status == Status::Waived && rf.waiver >= 0) {
    const Waiver& w = report.waivers.at(static_cast<std::size_t>(rf.waiver));
    json.key("suppressions").begin_array().begin_object();
    json.member("kind", "external").member("status", "accepted").member("justification", w.reason);
    json.key("properties")
        .begin_object()
        .member("owner", w.owner)
        .member("expires", w.expires)
        .member("location", w.location)
        .end();
    json.end().end();
  }
  json.key("properties").begin_object().member("status", status_name(rf.status));
  write_owner_properties(json, report, rf.owner_id);
  json.member("team", rf.team)
      .member("region", rf.region)
      .member("severity", dsl::severity_name(f.severity))
      .member("remedy", f.remedy.str())
      .member("subjectName", f.subject_name.str())
      .member("pack", f.pack)
      .member("firstSeen", rf.first_seen)
      .end();
  json.end();
}

void write_resolved_result(JsonWriter& json, const RunReport& report, const Index& index, const ResolvedFinding& r) {
  json.begin_object();
  write_rule_reference(json, index, r.pack, r.rule);
  json.member("level", level_of(r.severity));
  json.key("message").begin_object().member("text", r.title + " — resolved since the previous run").end();
  write_logical_location(json, r.subject_entity, r.subject_id, false);
  json.key("partialFingerprints").begin_object().member("rapport/v1", r.fingerprint).end();
  json.member("baselineState", "absent");
  json.key("properties").begin_object().member("status", "resolved");
  write_owner_properties(json, report, r.owner_id);
  json.member("severity", dsl::severity_name(r.severity))
      .member("subjectName", r.subject_name)
      .member("pack", r.pack)
      .member("firstSeen", r.first_seen)
      .end();
  json.end();
}

}  // namespace

std::string render_sarif(const RunReport& report) {
  Index index = index_rules(report);
  JsonWriter json;
  json.begin_object().member("$schema", kSarifSchema).member("version", "2.1.0");
  json.key("runs").begin_array().begin_object();

  json.key("tool").begin_object().key("driver").begin_object();
  json.member("name", "Rapport").member("version", report.rapport_version);
  json.key("rules").begin_array();
  for (const auto& r : report.rules) write_rule(json, r, index);
  json.end();
  json.key("locations").begin_array();
  for (std::size_t i = 0; i < index.artifacts.size(); ++i) {
    json.begin_object().member("uri", uri_path(index.artifacts[i])).member("index", i).end();
  }
  json.end().end().end();  // locations, driver, tool

  json.key("invocations").begin_array().begin_object().member("executionSuccessful", true);
  if (!report.run_at.empty()) json.member("startTimeUtc", report.run_at);
  json.end().end();
  if (!report.run_id.empty()) json.key("automationDetails").begin_object().member("id", "rapport-run/" + report.run_id).end();

  json.key("artifacts").begin_array();
  for (const auto& file : index.artifacts) {
    json.begin_object().key("location").begin_object().member("uri", uri_path(file)).end();
    json.member("sourceLanguage", "rapport").end();
  }
  json.end();

  json.key("results").begin_array();
  for (const auto& f : report.findings) write_result(json, report, index, f);
  for (const auto& r : report.resolved) write_resolved_result(json, report, index, r);
  json.end();

  json.key("properties")
      .begin_object()
      .member("title", report.title)
      .member("asOf", report.as_of)
      .member("source", report.source)
      .member("records", report.records)
      .member("firstRun", report.first_run);
  json.key("packs").begin_array();
  for (const auto& [name, version] : report.packs) json.begin_object().member("name", name).member("version", version).end();
  json.end().end();

  return json.end().end().end().str();  // run, runs, log
}

}  // namespace rapport::reports
