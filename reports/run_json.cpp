// The run as data: the `rapport.run/1` JSON document and the CSV of findings by status.

#include <span>

#include "engine/output.hpp"
#include "reports/json_writer.hpp"
#include "reports/render.hpp"
#include "reports/summary.hpp"

namespace rapport::reports {

namespace {

using dsl::Severity;
using engine::csv_cell;
using engine::json_string;

constexpr Severity kHighestFirst[] = {Severity::Critical, Severity::High, Severity::Medium, Severity::Low,
                                      Severity::Info};

void write_by_severity(JsonWriter& json, std::span<const std::size_t, 5> counts) {
  json.key("by_severity").begin_object();
  for (Severity s : kHighestFirst) json.member(dsl::severity_name(s), counts[static_cast<std::size_t>(s)]);
  json.end();
}

/// {id, name, team, region} of a person, or null for no owner; unknown people keep their id.
void write_owner(JsonWriter& json, const RunReport& report, std::string_view owner_id) {
  if (owner_id.empty()) {
    json.null();
    return;
  }
  const Person* person = report.person(owner_id);
  json.begin_object().member("id", owner_id);
  if (person) json.member("name", person->name).member("team", person->team).member("region", person->region);
  json.end();
}

void write_waivers(JsonWriter& json, std::string_view name, const std::vector<Waiver>& waivers) {
  json.key(name).begin_array();
  for (const auto& w : waivers) {
    json.begin_object()
        .member("rule", w.rule)
        .member("subject", w.subject)
        .member("reason", w.reason)
        .member("owner", w.owner)
        .member("expires", w.expires)
        .member("location", w.location)
        .end();
  }
  json.end();
}

/// finding_json's object with the run's view of the finding added at the end.
std::string report_finding_json(const RunReport& report, const ReportFinding& f) {
  std::string object = engine::finding_json(f.finding);
  object.pop_back();  // the closing brace
  object += ", \"status\": " + json_string(status_name(f.status)) + ", \"first_seen\": " + json_string(f.first_seen) +
            ", \"owner\": ";
  if (f.owner_id.empty()) {
    object += "null";
  } else {
    object += "{\"id\": " + json_string(f.owner_id) + ", \"name\": " + json_string(owner_label(report, f.owner_id)) +
              ", \"team\": " + json_string(f.team) + ", \"region\": " + json_string(f.region) + "}";
  }
  object += ", \"waiver\": " + (f.waiver >= 0 ? std::to_string(f.waiver) : std::string("null")) + "}";
  return object;
}

void write_summary(JsonWriter& json, const RunReport& report) {
  RunCounts counts = count_findings(report);
  json.key("summary")
      .begin_object()
      .member("open", counts.open())
      .member("new", counts.new_findings)
      .member("still_open", counts.still_open)
      .member("waived", counts.waived)
      .member("resolved", counts.resolved);
  write_by_severity(json, counts.open_by_severity);
  json.end();
}

void write_rules(JsonWriter& json, const RunReport& report) {
  json.key("rules").begin_array();
  for (const auto& r : report.rules) {
    json.begin_object()
        .member("pack", r.pack)
        .member("pack_version", r.pack_version)
        .member("id", r.id)
        .member("title", r.title)
        .member("rationale", r.rationale)
        .member("severity", dsl::severity_name(r.severity))
        .member("tags", r.tags)
        .member("enabled", r.enabled);
    json.key("location").begin_object().member("file", r.file).member("line", std::size_t{r.line});
    json.member("column", std::size_t{r.column}).end();
    json.member("subjects", r.subjects).member("findings", r.findings).end();
  }
  json.end();
}

void write_resolved(JsonWriter& json, const RunReport& report) {
  json.key("resolved").begin_array();
  for (const auto& r : report.resolved) {
    json.begin_object()
        .member("fingerprint", r.fingerprint)
        .member("pack", r.pack)
        .member("rule", r.rule)
        .member("title", r.title)
        .member("severity", dsl::severity_name(r.severity));
    json.key("subject").begin_object().member("entity", r.subject_entity).member("id", r.subject_id);
    if (!r.subject_name.empty()) json.member("name", r.subject_name);
    json.end().key("owner");
    write_owner(json, report, r.owner_id);
    json.member("first_seen", r.first_seen).end();
  }
  json.end();
}

}  // namespace

void write_portfolios(JsonWriter& json, const RunReport& report) {
  json.key("portfolios")
      .begin_object()
      .member("dunbar_line", report.dunbar_line)
      .member("inner_circle", report.inner_circle);
  json.key("managers").begin_array();
  for (const auto& p : report.portfolios) {
    json.begin_object()
        .member("id", p.manager_id)
        .member("name", p.name)
        .member("team", p.team)
        .member("region", p.region)
        .member("accounts", p.accounts)
        .member("strategic", p.strategic)
        .end();
  }
  json.end().end();
}

void write_trend(JsonWriter& json, const RunReport& report) {
  json.key("trend").begin_array();
  for (const auto& t : report.trend) {
    json.begin_object()
        .member("run_at", t.run_at)
        .member("as_of", t.as_of)
        .member("open", t.open)
        .member("new", t.new_findings)
        .member("resolved", t.resolved)
        .member("waived", t.waived);
    write_by_severity(json, t.by_severity);
    json.end();
  }
  json.end();
}

std::string render_run_json(const RunReport& report) {
  JsonWriter json;
  json.begin_object()
      .member("schema", kRunSchema)
      .member("rapport_version", report.rapport_version)
      .member("run_id", report.run_id)
      .member("run_at", report.run_at)
      .member("as_of", report.as_of)
      .member("title", report.title)
      .member("config", report.config_path)
      .member("source", report.source)
      .member("first_run", report.first_run);
  json.key("packs").begin_array();
  for (const auto& [name, version] : report.packs) json.begin_object().member("name", name).member("version", version).end();
  json.end().member("records", report.records);
  write_summary(json, report);
  write_rules(json, report);
  json.key("findings").begin_array();
  for (const auto& f : report.findings) json.raw(report_finding_json(report, f));
  json.end();
  write_resolved(json, report);
  json.key("waivers").begin_object();
  write_waivers(json, "in_force", report.waivers);
  write_waivers(json, "expired", report.expired_waivers);
  write_waivers(json, "unused", report.unused_waivers);
  json.end();
  write_portfolios(json, report);
  write_trend(json, report);
  return json.end().str();
}

std::string render_run_csv(const RunReport& report) {
  std::string out =
      "status,severity,pack,rule,subject_entity,subject_id,subject_name,message,remedy,owner_id,owner_name,team,region,"
      "first_seen,waiver_reason,fingerprint\r\n";
  auto row = [&out](std::initializer_list<std::string_view> cells) {
    bool first = true;
    for (std::string_view cell : cells) {
      out += first ? "" : ",";
      out += csv_cell(cell);
      first = false;
    }
    out += "\r\n";
  };
  for (const auto& rf : report.findings) {
    const engine::Finding& f = rf.finding;
    const Person* owner = report.person(rf.owner_id);
    const std::string message = f.message.str(), remedy = f.remedy.str();
    std::string_view reason = rf.waiver >= 0 ? std::string_view(report.waivers.at(static_cast<std::size_t>(rf.waiver)).reason) : "";
    row({status_name(rf.status), dsl::severity_name(f.severity), f.pack, f.rule, f.subject_entity, f.subject_id,
         f.subject_name.str(), message, remedy, rf.owner_id, owner ? owner->name : "", rf.team, rf.region, rf.first_seen,
         reason, f.fingerprint()});
  }
  for (const auto& r : report.resolved) {
    const Person* owner = report.person(r.owner_id);
    row({"resolved", dsl::severity_name(r.severity), r.pack, r.rule, r.subject_entity, r.subject_id, r.subject_name, "",
         "", r.owner_id, owner ? owner->name : "", owner ? owner->team : "", owner ? owner->region : "", r.first_seen, "",
         r.fingerprint});
  }
  return out;
}

}  // namespace rapport::reports
