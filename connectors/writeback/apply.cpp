#include "connectors/writeback/apply.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <variant>

#include "connectors/auth/secret.hpp"
#include "connectors/http/redact.hpp"
#include "connectors/source/session.hpp"
#include "connectors/writeback/journal.hpp"
#include "connectors/writeback/vendor.hpp"
#include "model/time.hpp"

namespace rapport::writeback {

namespace {

/// Where a change lands in the CRM, worked out before any request is sent.
struct Target {
  std::string object;       // vendor object of the record
  std::string field;        // vendor field (Move, Flags) or the task key field (Task)
  std::string owner_field;  // Task: the vendor field holding the record's owner; "" when none
  bool owner_is_record = false;  // Task on a user: the task is for that user
};

/// A mistake in the change set or the mapping that stops the run before any request.
struct Unresolvable {
  std::string why;
  bool fatal = true;  // false: the change is left out with a note (a finding on an unsupported entity)
};

const char* kind_name(source::Kind kind) {
  switch (kind) {
    case source::Kind::Salesforce: return "salesforce";
    case source::Kind::Hubspot: return "hubspot";
    case source::Kind::Dynamics: return "dynamics";
    case source::Kind::Files: return "files";
  }
  return "?";
}

/// The single vendor field a canonical field is read from, or why it can't be written back.
std::variant<std::string, Unresolvable> single_source(const mapping::ObjectRule& object, const std::string& entity,
                                                      const std::string& field) {
  for (const mapping::FieldRule& rule : object.fields) {
    if (rule.target != field) continue;
    if (rule.constant || rule.from.empty()) return Unresolvable{entity + "." + field + " is a constant in the mapping"};
    if (rule.from.size() != 1 || rule.join) {
      return Unresolvable{entity + "." + field + " is mapped from several " + object.object + " fields: which to write is ambiguous"};
    }
    if (!rule.values.empty()) {
      return Unresolvable{entity + "." + field + " is mapped through a value map: it can't be written back"};
    }
    return rule.from.front();
  }
  return Unresolvable{"the mapping reads no " + object.object + " field into " + entity + "." + field};
}

std::variant<Target, Unresolvable> resolve(const Change& change, const mapping::Mapping& mapping, const CrmAdapter& adapter,
                                           const std::string& task_key_field) {
  const bool fatal = change.kind == ChangeKind::Move;
  const mapping::EntityRule* rules = mapping.entity(change.entity);
  if (!rules || rules->objects.empty()) return Unresolvable{"the source maps no `" + change.entity + "`", fatal};
  if (rules->objects.size() != 1) {
    std::string names;
    for (const auto& o : rules->objects) names += (names.empty() ? "" : ", ") + o.object;
    return Unresolvable{change.entity + " come from several CRM objects (" + names + "): the object of a record is unknown", fatal};
  }
  const mapping::ObjectRule& object = rules->objects.front();
  Target target{object.object, "", "", false};
  std::string why;
  switch (change.kind) {
    case ChangeKind::Move: {
      auto field = single_source(object, change.entity, change.field);
      if (auto* error = std::get_if<Unresolvable>(&field)) return *error;
      target.field = std::get<std::string>(field);
      why = adapter.unwritable(target.object, target.field);
      break;
    }
    case ChangeKind::Flags:
      target.field = change.field;
      why = adapter.unwritable(target.object, target.field);
      break;
    case ChangeKind::Task:
      target.field = task_key_field;
      target.owner_is_record = change.entity == "users";
      for (const char* owner : {"owner_id", "assignee_id"}) {
        if (target.owner_is_record || !target.owner_field.empty()) break;
        for (const mapping::FieldRule& rule : object.fields) {
          if (rule.target == owner && rule.from.size() == 1 && !rule.constant) target.owner_field = rule.from.front();
        }
      }
      break;
  }
  if (!why.empty()) return Unresolvable{why, fatal};
  return target;
}

std::string now_utc() {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return model::format_timestamp(static_cast<double>(seconds));
}

/// Flags compare as sets of rule ids, whatever their order in the CRM.
std::string normalized_flags(const std::optional<std::string>& value) {
  if (!value) return "";
  std::set<std::string> ids;
  std::stringstream in(*value);
  for (std::string id; std::getline(in, id, ';');) {
    while (!id.empty() && id.front() == ' ') id.erase(0, 1);
    while (!id.empty() && id.back() == ' ') id.pop_back();
    if (!id.empty()) ids.insert(id);
  }
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ";") + id;
  return out;
}

std::string shown(const std::optional<std::string>& value) { return value ? *value : "(empty)"; }

/// The run over the CRM: one adapter, the journal, the results.
class Runner {
 public:
  Runner(CrmAdapter& adapter, Journal& journal, ApplyReport& report, bool dry_run)
      : adapter_(adapter), journal_(journal), report_(report), dry_run_(dry_run) {}

  /// Settles every change of one record (indexes into report.results), reading it once.
  /// Throws auth::AuthError when no token can be had: the run stops.
  void settle_record(const std::vector<std::size_t>& indexes, const std::map<std::size_t, Target>& targets) {
    std::vector<std::size_t> pending;
    for (std::size_t i : indexes) {
      ChangeResult& r = report_.results[i];
      if (journal_.done(report_.source, r.change.key, journal_value(r))) r.outcome = Outcome::Journaled;
      else pending.push_back(i);
    }
    if (pending.empty()) return;
    const ChangeResult& first = report_.results[pending.front()];
    std::vector<std::string> fields;
    for (std::size_t i : pending) {
      const Target& t = targets.at(i);
      const std::string& field = report_.results[i].change.kind == ChangeKind::Task ? t.owner_field : t.field;
      if (!field.empty() && std::find(fields.begin(), fields.end(), field) == fields.end()) fields.push_back(field);
    }
    std::optional<FieldValues> values = FieldValues{};
    if (!fields.empty()) {
      try {
        values = adapter_.read(first.object, first.change.record, fields);
      } catch (const auth::AuthError&) {
        throw;
      } catch (const std::exception& e) {  // HttpError, ResponseError, QueryFormatError
        for (std::size_t i : pending) fail(report_.results[i], e);
        return;
      }
      if (!values) {
        for (std::size_t i : pending) finish(report_.results[i], Outcome::Failed, "the CRM has no such record");
        return;
      }
    }
    for (std::size_t i : pending) {
      ChangeResult& r = report_.results[i];
      try {
        settle(r, targets.at(i), *values);
        // A task goes to the owner the record has after this run's move (or will have, in a dry run).
        const bool landed = r.outcome == Outcome::Applied || r.outcome == Outcome::Unchanged || r.outcome == Outcome::Pending;
        if (r.change.kind == ChangeKind::Move && landed) (*values)[targets.at(i).field] = r.change.value;
      } catch (const auth::AuthError&) {
        throw;
      } catch (const JournalError&) {
        throw;
      } catch (const std::exception& e) {
        fail(r, e);
      }
    }
  }

  /// The value the journal keys a change by: the new value, the task's key for tasks.
  static std::string journal_value(const ChangeResult& r) {
    return r.change.kind == ChangeKind::Task ? r.change.key : r.change.value;
  }

 private:
  void settle(ChangeResult& r, const Target& t, const FieldValues& values) {
    const Change& c = r.change;
    switch (c.kind) {
      case ChangeKind::Move: {
        r.old_value = values.at(t.field);
        if (r.old_value == c.value) return finish(r, Outcome::Unchanged);
        if (r.old_value != c.expected) {
          return finish(r, Outcome::Conflict, "the CRM has " + shown(r.old_value) + ", the plan moved it from " +
                                                   shown(c.expected) + ": re-plan to move it");
        }
        return write(r, t);
      }
      case ChangeKind::Flags:
        r.old_value = values.at(t.field);
        if (normalized_flags(r.old_value) == c.value) return finish(r, Outcome::Unchanged);
        return write(r, t);
      case ChangeKind::Task: {
        TaskSpec spec{c.key, c.task.subject, c.task.body, c.task.high_priority, c.task.due, std::nullopt,
                      t.owner_is_record ? "" : t.object, c.record};
        if (t.owner_is_record) spec.owner = c.record;
        else if (!t.owner_field.empty()) spec.owner = values.at(t.owner_field);
        r.old_value = spec.owner;
        if (adapter_.task_exists(spec)) return finish(r, Outcome::Unchanged);
        if (dry_run_) return finish(r, Outcome::Pending);
        return finish(r, adapter_.create_task(spec) ? Outcome::Applied : Outcome::Unchanged);
      }
    }
  }

  void write(ChangeResult& r, const Target& t) {
    if (dry_run_) return finish(r, Outcome::Pending);
    adapter_.write(t.object, r.change.record, FieldValues{{t.field, r.change.value}});
    finish(r, Outcome::Applied);
  }

  void fail(ChangeResult& r, const std::exception& e) {
    if (const auto* http_error = dynamic_cast<const http::HttpError*>(&e)) r.status = http_error->status();
    else r.status = -1;  // the CRM answered, with something unexpected
    finish(r, Outcome::Failed, e.what());
  }

  /// Records the outcome and, when writing, journals it before the next change is touched.
  void finish(ChangeResult& r, Outcome outcome, std::string detail = "") {
    r.outcome = outcome;
    r.detail = std::move(detail);
    if (dry_run_) return;
    JournalEntry e{now_utc(), report_.source, change_kind_name(r.change.kind), r.change.key, r.change.entity,
                   r.change.record, r.object, r.field, r.old_value, journal_value(r), outcome_name(outcome), r.detail};
    journal_.append(e);
  }

  CrmAdapter& adapter_;
  Journal& journal_;
  ApplyReport& report_;
  bool dry_run_;
};

bool read_file(const std::string& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return in.good() || in.eof();
}

/// Exit code of a run that got through: 4 when something is left, 3 when nothing could be done
/// because the CRM never answered.
int exit_code_of(const ApplyReport& report) {
  const std::size_t failed = report.count(Outcome::Failed), conflicts = report.count(Outcome::Conflict);
  if (failed + conflicts == 0) return kApplyOk;
  const std::size_t reached = report.results.size() - failed;
  if (reached == 0 && std::all_of(report.results.begin(), report.results.end(), [](const ChangeResult& r) { return r.status == 0; })) {
    return kApplySource;
  }
  return kApplyPartial;
}

}  // namespace

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::Pending: return "pending";
    case Outcome::Applied: return "applied";
    case Outcome::Unchanged: return "unchanged";
    case Outcome::Journaled: return "journaled";
    case Outcome::Conflict: return "conflict";
    case Outcome::Failed: return "failed";
  }
  return "?";
}

std::size_t ApplyReport::count(Outcome outcome) const {
  std::size_t n = 0;
  for (const auto& r : results) n += r.outcome == outcome;
  return n;
}

ApplyReport apply(const ApplyOptions& options) {
  ApplyReport report;
  report.dry_run = !options.apply;
  auto config = source::load_source(options.source_path, report.sink);
  if (!config) {
    report.exit_code = kApplyConfig;
    return report;
  }
  if (config->kind == source::Kind::Files) {
    report.error = options.source_path + " is a files source: there is no CRM to write to";
    report.exit_code = kApplyConfig;
    return report;
  }
  report.source = std::string(kind_name(config->kind)) + " " + http::redact_url(base_url(config->instance));
  std::optional<mapping::Mapping> mapping = source::load_mapping(*config, report.sink);
  if (!mapping) {
    report.exit_code = kApplyConfig;
    return report;
  }
  std::string text;
  if (!read_file(options.report_path, text)) {
    report.error = "cannot read " + options.report_path;
    report.exit_code = kApplyConfig;
    return report;
  }
  ChangeSet changes;
  try {
    changes = read_change_set(text, options.findings);
  } catch (const ChangeSetError& e) {
    report.error = options.report_path + ": " + e.what();
    report.exit_code = kApplyConfig;
    return report;
  }
  report.notes = changes.notes;

  source::Session session;
  std::unique_ptr<CrmAdapter> adapter;
  const std::string key_field = options.task_key_field.empty() ? default_task_key_field(config->kind) : options.task_key_field;
  try {
    session = source::open_session(*config, options.client);
    adapter = make_adapter(*config, *session.client, key_field);
  } catch (const auth::SecretError& e) {
    report.error = e.what();
    report.exit_code = kApplyConfig;
    return report;
  }

  // Every change mapped onto the CRM before the first request: a mapping mistake sends nothing.
  std::map<std::size_t, Target> targets;
  std::vector<std::string> fatal;
  for (Change& change : changes.changes) {
    auto resolved = resolve(change, *mapping, *adapter, key_field);
    if (auto* error = std::get_if<Unresolvable>(&resolved)) {
      std::string what = std::string(change_kind_name(change.kind)) + " " + change.key + ": " + error->why;
      (error->fatal ? fatal : report.notes).push_back(what);
      continue;
    }
    const Target& target = std::get<Target>(resolved);
    targets.emplace(report.results.size(), target);
    report.results.push_back(ChangeResult{std::move(change), target.object, target.field, std::nullopt, Outcome::Pending, ""});
  }
  if (!fatal.empty()) {
    for (const auto& f : fatal) report.error += (report.error.empty() ? "" : "\n") + f;
    report.results.clear();
    report.exit_code = kApplyConfig;
    return report;
  }

  report.journal_path = options.journal_path.empty() ? default_journal_path() : options.journal_path;
  std::unique_ptr<Journal> journal;
  try {
    journal = std::make_unique<Journal>(report.journal_path);
    if (options.apply) journal->open_for_append();
  } catch (const JournalError& e) {
    report.error = e.what();
    report.exit_code = kApplyConfig;
    return report;
  }

  // One group per record, in order of first appearance, so each record is read once.
  std::vector<std::vector<std::size_t>> groups;
  std::map<std::pair<std::string, std::string>, std::size_t> group_of;
  for (std::size_t i = 0; i < report.results.size(); ++i) {
    auto key = std::make_pair(report.results[i].object, report.results[i].change.record);
    auto [it, inserted] = group_of.try_emplace(key, groups.size());
    if (inserted) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  Runner runner(*adapter, *journal, report, report.dry_run);
  try {
    for (const auto& group : groups) runner.settle_record(group, targets);
  } catch (const auth::AuthError& e) {
    report.error = e.what();
    report.exit_code = kApplySource;
    return report;
  } catch (const JournalError& e) {  // stop before the next write; what was written is found again by looking
    report.error = e.what();
    report.exit_code = kApplyPartial;
    return report;
  }
  report.exit_code = exit_code_of(report);
  return report;
}

std::string render_apply_text(const ApplyReport& report, bool color, bool only_problems, std::string_view how_to_apply) {
  const char* reset = color ? "\033[0m" : "";
  const char* bold = color ? "\033[1m" : "";
  const char* dim = color ? "\033[2m" : "";
  const char* red = color ? "\033[1;31m" : "";
  const char* yellow = color ? "\033[1;33m" : "";
  std::string out;
  for (const ChangeResult& r : report.results) {
    const bool problem = r.outcome == Outcome::Failed || r.outcome == Outcome::Conflict ||
                         (r.outcome == Outcome::Pending && !report.dry_run);
    if (only_problems && !problem) continue;
    const Change& c = r.change;
    std::string verb, tone;
    switch (r.outcome) {
      case Outcome::Pending:
        verb = !report.dry_run ? "not done" : c.kind == ChangeKind::Task ? "would create" : "would set";
        break;
      case Outcome::Applied: verb = c.kind == ChangeKind::Task ? "created" : "set"; break;
      case Outcome::Unchanged: verb = "unchanged"; tone = dim; break;
      case Outcome::Journaled: verb = "done before"; tone = dim; break;
      case Outcome::Conflict: verb = "CONFLICT"; tone = yellow; break;
      case Outcome::Failed: verb = "FAILED"; tone = red; break;
    }
    out += "  " + tone + verb + (tone.empty() ? "" : reset) + std::string(verb.size() < 12 ? 12 - verb.size() : 1, ' ');
    if (c.kind == ChangeKind::Task) {
      out += "Task " + r.field + "=" + c.key + " for " + shown(r.old_value) + " on " + r.object + " " + c.record + ": \"" +
             c.task.subject + "\"";
    } else {
      out += r.object + " " + c.record + " " + r.field + ": ";
      if (r.outcome == Outcome::Pending || r.outcome == Outcome::Applied || r.outcome == Outcome::Conflict ||
          (r.outcome == Outcome::Failed && r.old_value)) {
        out += shown(r.old_value) + " -> ";
      } else if (r.outcome == Outcome::Journaled || r.outcome == Outcome::Failed) {
        out += "-> ";
      }
      out += c.value;
    }
    out += std::string("  ") + dim + "(" + change_kind_name(c.kind) + (c.kind == ChangeKind::Move ? " " + c.key : "") +
           (c.record_name.empty() ? "" : ", " + c.record_name) + ")" + reset + "\n";
    if (!r.detail.empty()) out += "      " + r.detail + "\n";
  }
  for (const auto& note : report.notes) out += std::string("  ") + dim + "note:" + reset + " " + note + "\n";
  const std::size_t pending = report.count(Outcome::Pending), applied = report.count(Outcome::Applied);
  out += bold;
  out += report.dry_run ? "dry run: " + std::to_string(pending) + " change(s) to make"
                        : std::to_string(applied) + " change(s) made";
  out += reset;
  out += ", " + std::to_string(report.count(Outcome::Unchanged)) + " already in the CRM, " +
         std::to_string(report.count(Outcome::Journaled)) + " done before (journal), " +
         std::to_string(report.count(Outcome::Conflict)) + " conflict(s), " + std::to_string(report.count(Outcome::Failed)) +
         " failed; " + report.source + "\n";
  if (report.dry_run && pending) out += "nothing was written: " + std::string(how_to_apply) + " to make these changes\n";
  if (!report.dry_run && (report.count(Outcome::Failed) || report.count(Outcome::Conflict))) {
    out += "journal: " + report.journal_path + "; run again to complete the rest\n";
  }
  return out;
}

}  // namespace rapport::writeback
