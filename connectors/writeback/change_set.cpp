#include "connectors/writeback/change_set.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <set>

namespace rapport::writeback {

namespace json = boost::json;

namespace {

constexpr std::array<const char*, 5> kSeverities = {"info", "low", "medium", "high", "critical"};

int severity_rank(std::string_view name) {
  for (std::size_t i = 0; i < kSeverities.size(); ++i) {
    if (name == kSeverities[i]) return static_cast<int>(i);
  }
  return -1;
}

[[noreturn]] void malformed(const std::string& why) { throw ChangeSetError(why); }

const json::object& member_object(const json::object& object, std::string_view name, std::string_view where) {
  const json::value* v = object.if_contains(name);
  if (!v || !v->is_object()) malformed(std::string(where) + " has no `" + std::string(name) + "` object");
  return v->as_object();
}

const json::array& member_array(const json::object& object, std::string_view name, std::string_view where) {
  const json::value* v = object.if_contains(name);
  if (!v || !v->is_array()) malformed(std::string(where) + " has no `" + std::string(name) + "` array");
  return v->as_array();
}

std::string member_text(const json::object& object, std::string_view name, std::string_view where) {
  const json::value* v = object.if_contains(name);
  if (!v || !v->is_string()) malformed(std::string(where) + " has no `" + std::string(name) + "` text");
  return std::string(v->as_string());
}

std::string optional_text(const json::object& object, std::string_view name) {
  const json::value* v = object.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

/// A plan party ({"id": .., "name": ..}) or null.
std::optional<std::string> party_id(const json::object& move, std::string_view name, std::string_view where) {
  const json::value* v = move.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_object()) malformed(std::string(where) + ": `" + std::string(name) + "` is neither an object nor null");
  return member_text(v->as_object(), "id", std::string(where) + " " + std::string(name));
}

void read_moves(const json::object& report, ChangeSet& set) {
  const json::object& change = member_object(report, "change", "the plan");
  const std::string entity = member_text(change, "entity", "the plan's change");
  const std::string field = member_text(change, "field", "the plan's change");
  for (const json::value& item : member_array(report, "moves", "the plan")) {
    if (!item.is_object()) malformed("a move is not an object");
    const json::object& move = item.as_object();
    Change c;
    c.kind = ChangeKind::Move;
    c.key = member_text(move, "id", "a move");
    const std::string where = "move " + c.key;
    c.entity = entity;
    c.field = field;
    const json::value* record = move.if_contains("record");
    if (!record || !record->is_object()) malformed(where + " has no `record`");
    c.record = member_text(record->as_object(), "id", where + " record");
    c.record_name = optional_text(record->as_object(), "name");
    c.expected = party_id(move, "from", where);
    std::optional<std::string> to = party_id(move, "to", where);
    if (!to) malformed(where + " has no `to`");
    c.value = *to;
    set.changes.push_back(std::move(c));
  }
}

/// One finding of the report, as much of it as write-back uses.
struct FindingItem {
  std::string pack, rule, title, severity, entity, id, name, message, remedy, fingerprint;
  bool value_subject = false;
};

FindingItem read_finding(const json::value& item) {
  if (!item.is_object()) malformed("a finding is not an object");
  const json::object& f = item.as_object();
  FindingItem out;
  out.fingerprint = member_text(f, "fingerprint", "a finding");
  const std::string where = "finding " + out.fingerprint;
  out.pack = member_text(f, "pack", where);
  out.rule = member_text(f, "rule", where);
  out.title = optional_text(f, "title");
  out.severity = member_text(f, "severity", where);
  out.message = optional_text(f, "message");
  out.remedy = optional_text(f, "remedy");
  const json::object& subject = member_object(f, "subject", where);
  out.entity = member_text(subject, "entity", where + " subject");
  out.value_subject = !subject.contains("id");
  out.id = out.value_subject ? optional_text(subject, "value") : member_text(subject, "id", where + " subject");
  out.name = optional_text(subject, "name");
  return out;
}

TaskText task_text(const FindingItem& f, const std::string& as_of) {
  TaskText t;
  t.subject = "Rapport " + f.rule + ": " + (f.title.empty() ? f.message : f.title);
  if (!f.name.empty()) t.subject += " (" + f.name + ")";
  t.body = f.message;
  if (!f.remedy.empty()) t.body += "\n\nRemedy: " + f.remedy;
  t.body += "\n\n" + f.pack + "/" + f.rule + " (" + f.severity + "), finding " + f.fingerprint;
  t.high_priority = severity_rank(f.severity) >= severity_rank("high");
  t.due = as_of.substr(0, 10);
  return t;
}

void read_findings(const json::array& findings, const FindingOptions& options, ChangeSet& set) {
  const int floor = severity_rank(options.min_severity);
  // Flags: one change per subject record, its rule ids sorted, in order of first appearance.
  std::vector<std::pair<std::string, std::string>> flagged;  // entity, id
  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::set<std::string>>> rules;  // -> name, rules
  std::vector<Change> tasks;
  for (const json::value& item : findings) {
    FindingItem f = read_finding(item);
    if (severity_rank(f.severity) < floor) continue;
    if (f.value_subject) {
      set.notes.push_back("finding " + f.fingerprint + " (" + f.rule + ") is about the value `" + f.id + "` of " +
                          f.entity + ", not a record: nothing to write it to");
      continue;
    }
    auto subject = std::make_pair(f.entity, f.id);
    if (options.flag_field) {
      auto [it, inserted] = rules.try_emplace(subject, f.name, std::set<std::string>{});
      if (inserted) flagged.push_back(subject);
      it->second.second.insert(f.rule);
    }
    if (options.tasks) {
      Change c;
      c.kind = ChangeKind::Task;
      c.key = f.fingerprint;
      c.entity = f.entity;
      c.record = f.id;
      c.record_name = f.name;
      c.task = task_text(f, set.as_of);
      tasks.push_back(std::move(c));
    }
  }
  for (const auto& subject : flagged) {
    const auto& [name, ids] = rules.at(subject);
    Change c;
    c.kind = ChangeKind::Flags;
    c.key = "flags:" + subject.first + ":" + subject.second;
    c.entity = subject.first;
    c.record = subject.second;
    c.record_name = name;
    c.field = *options.flag_field;
    for (const std::string& rule : ids) c.value += (c.value.empty() ? "" : ";") + rule;
    set.changes.push_back(std::move(c));
  }
  for (Change& c : tasks) set.changes.push_back(std::move(c));
}

}  // namespace

const char* change_kind_name(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::Move: return "move";
    case ChangeKind::Flags: return "flags";
    case ChangeKind::Task: return "task";
  }
  return "?";
}

bool is_severity(const std::string& name) { return severity_rank(name) >= 0; }

ChangeSet read_change_set(const std::string& json_text, const FindingOptions& options) {
  boost::system::error_code ec;
  json::value parsed = json::parse(json_text, ec);
  if (ec || !parsed.is_object()) malformed("not a JSON report" + (ec ? ": " + ec.message() : std::string()));
  const json::object& report = parsed.as_object();
  ChangeSet set;
  set.schema = optional_text(report, "schema");
  set.as_of = optional_text(report, "as_of");
  if (set.schema == "rapport.plan/1") {
    read_moves(report, set);
  } else if (set.schema != "rapport.findings/1") {
    malformed(set.schema.empty() ? "the report has no `schema`: write it with `rapport plan --format json` or `rapport check --format json`"
                                 : "unknown report schema `" + set.schema + "` (this version reads rapport.plan/1 and rapport.findings/1)");
  }
  if (options.flag_field || options.tasks) {
    const json::value* findings = report.if_contains("findings");
    if (findings && !findings->is_array()) malformed("`findings` is not an array");
    if (findings) read_findings(findings->as_array(), options, set);
  }
  return set;
}

}  // namespace rapport::writeback
