#include "serve/writeback.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <utility>

#include "connectors/writeback/apply.hpp"
#include "connectors/writeback/change_set.hpp"
#include "engine/output.hpp"
#include "model/time.hpp"

namespace rapport::serve {

namespace fs = std::filesystem;
using engine::json_string;

namespace {

bool wanted(const engine::Finding& finding, const nightly::Writeback& policy, dsl::Severity floor) {
  if (finding.value_subject || finding.severity < floor) return false;
  return policy.rules.empty() || std::find(policy.rules.begin(), policy.rules.end(), finding.rule) != policy.rules.end();
}

/// One planned or settled change, as the answer lists it.
std::string change_json(const writeback::Change& c) {
  std::string out = "{\"kind\": " + json_string(writeback::change_kind_name(c.kind)) + ", \"entity\": " + json_string(c.entity) +
                    ", \"record\": " + json_string(c.record) + ", \"name\": " + json_string(c.record_name);
  if (c.kind == writeback::ChangeKind::Task) {
    out += ", \"key\": " + json_string(c.key) + ", \"subject\": " + json_string(c.task.subject);
  } else {
    out += ", \"field\": " + json_string(c.field) + ", \"value\": " + json_string(c.value);
  }
  return out + "}";
}

std::string change_line(const writeback::Change& c) {
  if (c.kind == writeback::ChangeKind::Task) return "task for " + c.entity + " " + c.record + ": " + c.task.subject;
  return c.entity + " " + c.record + " " + c.field + " = " + c.value;
}

std::string strings_json(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + json_string(items[i]);
  return out + "]";
}

}  // namespace

std::vector<engine::Finding> writeback_findings(const std::vector<engine::Finding>& open, const engine::ChangeEffect& effect,
                                                const nightly::Writeback& policy) {
  const dsl::Severity floor = dsl::parse_severity(policy.min_severity).value_or(dsl::Severity::High);
  std::set<std::pair<std::string, std::string>> records;
  for (const auto* list : {&effect.created, &effect.resolved}) {
    for (const auto& f : *list) {
      if (wanted(f, policy, floor)) records.emplace(f.subject_entity, f.subject_id);
    }
  }
  std::vector<engine::Finding> out;
  if (records.empty()) return out;
  for (const auto& f : open) {
    if (wanted(f, policy, floor) && records.count({f.subject_entity, f.subject_id})) out.push_back(f);
  }
  return out;
}

WebhookWriteback::WebhookWriteback(nightly::Writeback policy, http::ClientOptions client, std::string rapport_version)
    : policy_(std::move(policy)), client_(std::move(client)), rapport_version_(std::move(rapport_version)) {}

WritebackOutcome WebhookWriteback::run(const engine::LiveSnapshot& snapshot, const engine::ChangeEffect& effect) {
  if (policy_.mode == nightly::WritebackMode::Off) return {};
  // The same findings report the nightly run hands to write-back, restricted to the records the
  // change touched.
  engine::EvalResult result;
  result.findings = writeback_findings(snapshot.findings(), effect, policy_);
  engine::RunInfo info;
  info.rapport_version = rapport_version_;
  info.as_of = model::format_timestamp(snapshot.as_of());
  for (const auto& pack : snapshot.packs()) info.packs.emplace_back(pack.pack.name, pack.pack.version);
  const std::string report = engine::render_json(result, info);
  return policy_.mode == nightly::WritebackMode::DryRun ? plan(report) : apply(report);
}

WritebackOutcome WebhookWriteback::plan(const std::string& report) const {
  writeback::FindingOptions options{policy_.flag_field, policy_.tasks, policy_.min_severity};
  writeback::ChangeSet changes = writeback::read_change_set(report, options);
  WritebackOutcome out;
  std::string planned;
  for (const auto& c : changes.changes) {
    planned += (planned.empty() ? "" : ", ") + change_json(c);
    out.log_lines.push_back("would write " + change_line(c));
  }
  out.planned = changes.changes.size();
  out.json = "{\"mode\": \"dry-run\", \"planned\": [" + planned + "], \"notes\": " + strings_json(changes.notes) + "}";
  return out;
}

WritebackOutcome WebhookWriteback::apply(const std::string& report) {
  WritebackOutcome out;
  writeback::FindingOptions finding_options{policy_.flag_field, policy_.tasks, policy_.min_severity};
  if (writeback::read_change_set(report, finding_options).changes.empty()) {
    out.json = "{\"mode\": \"apply\", \"changes\": 0, \"written\": 0, \"unchanged\": 0, \"done_before\": 0, \"failed\": 0, "
               "\"failures\": [], \"error\": null}";
    return out;
  }
  // One write-back at a time: they share the journal, and two webhooks about one record must not
  // both find its flag unset and write it.
  std::lock_guard lock(mutex_);
  // apply() reads its report from a file, as `rapport apply` does.
  const fs::path staged = fs::temp_directory_path() /
                          ("rapport-serve-writeback-" + std::to_string(::getpid()) + "-" + std::to_string(++runs_) + ".json");
  writeback::ApplyReport applied;
  {
    std::ofstream file(staged, std::ios::binary | std::ios::trunc);
    file << report;
    file.close();
    if (!file) {
      applied.error = "cannot stage the findings for write-back in " + staged.parent_path().string();
      applied.exit_code = writeback::kApplyConfig;
    }
  }
  if (applied.error.empty()) {
    writeback::ApplyOptions options;
    options.source_path = *policy_.source;
    options.report_path = staged.string();
    options.apply = true;
    options.journal_path = policy_.journal;
    options.findings = finding_options;
    options.task_key_field = policy_.task_key;
    options.client = client_;
    applied = writeback::apply(options);
  }
  std::error_code ignored;
  fs::remove(staged, ignored);

  std::string error = applied.error;
  for (const auto& d : applied.sink.diagnostics()) {
    if (d.severity == diag::Severity::Error) error += (error.empty() ? "" : "\n") + d.message;
  }
  std::string failures;
  for (const auto& r : applied.results) {
    if (r.outcome == writeback::Outcome::Applied) out.log_lines.push_back("wrote " + change_line(r.change));
    if (r.outcome != writeback::Outcome::Failed) continue;
    out.log_lines.push_back("failed " + change_line(r.change) + ": " + r.detail);
    failures += std::string(failures.empty() ? "" : ", ") + "{\"change\": " + change_json(r.change) +
                ", \"status\": " + std::to_string(r.status) + ", \"detail\": " + json_string(r.detail) + "}";
  }
  out.written = applied.count(writeback::Outcome::Applied);
  out.failed = applied.count(writeback::Outcome::Failed);
  // Changes a stopped run never reached failed too; a run stopped before any change, once.
  if (!error.empty()) {
    out.failed += std::max<std::uint64_t>(applied.count(writeback::Outcome::Pending), out.failed == 0 ? 1 : 0);
    out.log_lines.push_back("stopped: " + error);
  }
  out.json = "{\"mode\": \"apply\", \"changes\": " + std::to_string(applied.results.size()) +
             ", \"written\": " + std::to_string(out.written) +
             ", \"unchanged\": " + std::to_string(applied.count(writeback::Outcome::Unchanged)) +
             ", \"done_before\": " + std::to_string(applied.count(writeback::Outcome::Journaled)) +
             ", \"failed\": " + std::to_string(out.failed) + ", \"failures\": [" + failures + "], \"error\": " +
             (error.empty() ? "null" : json_string(error)) + "}";
  return out;
}

}  // namespace rapport::serve
