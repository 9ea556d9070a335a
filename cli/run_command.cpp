// `rapport run nightly.yaml`: the nightly job (docs/nightly.md). Reads the data (files or a CRM),
// applies the packs, compares with the previous run in the state folder, writes every report and
// the owners' digests, saves the state, posts to the chat webhook and writes back to the CRM.
//
// A run that stops half-way leaves the previous reports and state as they were: reports are
// rendered in memory, written to temporary files, and only then renamed into place; the state is
// saved after the reports. One run at a time per state folder (a lock).

#include <boost/program_options.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>

#include "cli/commands.hpp"
#include "cli/pipeline.hpp"
#include "cli/run_log.hpp"
#include "connectors/writeback/apply.hpp"
#include "connectors/writeback/journal.hpp"
#include "diag/render.hpp"
#include "engine/output.hpp"
#include "model/time.hpp"
#include "nightly/compare.hpp"
#include "nightly/config.hpp"
#include "nightly/notify.hpp"
#include "nightly/owners.hpp"
#include "nightly/state.hpp"
#include "nightly/waivers.hpp"
#include "reports/render.hpp"

#ifndef RAPPORT_VERSION
#define RAPPORT_VERSION "0.0.0"
#endif

namespace rapport::cli {

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace {

constexpr const char* kSynopsis =
    "nightly.yaml [--as-of DATE] [--state DIR] [--outputs DIR] [--writeback off|dry-run|apply] [--no-notify]\n"
    "                   [--log-format text|json] [--quiet] [--color auto|always|never]";

int usage(const std::string& message) { return usage_error("run", kSynopsis, message); }

/// The default state folder of a config: <rapport state>/nightly/<config name>.
std::string default_state_dir(const std::string& config_path) {
  fs::path journal(writeback::default_journal_path());
  return (journal.parent_path() / "nightly" / fs::path(config_path).stem()).string();
}

/// Files written in two steps: every one to a temporary name first, then all renamed into place.
/// Until commit() nothing the previous run wrote is touched.
class OutputBatch {
 public:
  ~OutputBatch() { discard(); }

  bool stage(const std::string& path, const std::string& content, std::string& error) {
    fs::path target(path);
    std::error_code ec;
    fs::create_directories(target.has_parent_path() ? target.parent_path() : fs::path("."), ec);
    std::string temp = (target.parent_path() / ("." + target.filename().string() + ".part." + std::to_string(::getpid()))).string();
    if (!write_file_atomically(temp, content, error)) return false;
    staged_.emplace_back(temp, path);
    return true;
  }

  /// Stages a whole folder (digests): made beside the target and swapped in at commit. Returns
  /// the folder to write the files into, or nullopt (with `error`).
  std::optional<std::string> stage_folder(const std::string& dir, std::string& error) {
    fs::path target(dir);
    fs::path temp = target.parent_path() / ("." + target.filename().string() + ".part." + std::to_string(::getpid()));
    std::error_code ec;
    fs::remove_all(temp, ec);
    fs::create_directories(temp, ec);
    if (ec) {
      error = "cannot create " + temp.string() + ": " + ec.message();
      return std::nullopt;
    }
    folders_.emplace_back(temp.string(), dir);
    return temp.string();
  }

  /// Renames everything into place; false (with `error`) if a rename failed.
  bool commit(std::string& error) {
    std::error_code ec;
    for (const auto& [temp, target] : staged_) {
      fs::rename(temp, target, ec);
      if (ec) {
        error = "cannot replace " + target + ": " + ec.message();
        return false;
      }
    }
    staged_.clear();
    for (const auto& [temp, target] : folders_) {
      fs::path old = fs::path(target).parent_path() / ("." + fs::path(target).filename().string() + ".old." + std::to_string(::getpid()));
      bool had = fs::exists(target, ec);
      if (had) fs::rename(target, old, ec);
      if (!ec) fs::rename(temp, target, ec);
      if (ec) {
        if (had) fs::rename(old, target, ec);
        error = "cannot replace the folder " + target;
        return false;
      }
      fs::remove_all(old, ec);
    }
    folders_.clear();
    return true;
  }

  void discard() {
    std::error_code ec;
    for (const auto& [temp, target] : staged_) fs::remove(temp, ec);
    for (const auto& [temp, target] : folders_) fs::remove_all(temp, ec);
    staged_.clear();
    folders_.clear();
  }

 private:
  std::vector<std::pair<std::string, std::string>> staged_;
  std::vector<std::pair<std::string, std::string>> folders_;
};

/// A parameter's number in the first pack that has it (dunbar_limit, inner_circle).
std::optional<double> param_number(const Pipeline& p, std::string_view name) {
  for (const auto& configured : p.packs) {
    int slot = configured.pack.param_slot(std::string(name));
    if (slot >= 0 && !configured.params.values[static_cast<std::size_t>(slot)].missing) {
      return configured.params.values[static_cast<std::size_t>(slot)].number;
    }
  }
  return std::nullopt;
}

std::vector<reports::RuleInfo> rule_infos(const Pipeline& p, const engine::EvalResult& result) {
  std::vector<reports::RuleInfo> rules;
  for (const auto& configured : p.packs) {
    const auto& pack = configured.pack;
    for (const auto& rule : pack.rules) {
      reports::RuleInfo info;
      info.pack = pack.name;
      info.pack_version = pack.version;
      info.id = rule.id;
      info.title = rule.title;
      info.rationale = rule.rationale;
      info.severity = rule.severity;
      info.tags = rule.tags;
      info.enabled = rule.enabled;
      if (pack.source) {
        info.file = pack.source->path();
        diag::Position pos = pack.source->position(rule.span.begin);
        info.line = pos.line;
        info.column = pos.column;
      }
      for (const auto& summary : result.rules) {
        if (summary.pack == pack.name && summary.rule == rule.id) {
          info.subjects = summary.subjects;
          info.findings = summary.findings;
          info.enabled = summary.enabled;
        }
      }
      rules.push_back(std::move(info));
    }
  }
  return rules;
}

/// The run's facts without its findings: what every digest view starts from.
reports::RunReport facts_only(const reports::RunReport& report) {
  reports::RunReport view;
  view.rapport_version = report.rapport_version;
  view.run_id = report.run_id;
  view.run_at = report.run_at;
  view.as_of = report.as_of;
  view.title = report.title;
  view.config_path = report.config_path;
  view.source = report.source;
  view.first_run = report.first_run;
  view.packs = report.packs;
  view.records = report.records;
  view.dunbar_line = report.dunbar_line;
  view.inner_circle = report.inner_circle;
  return view;
}

std::string digest_file_name(std::string id) {
  for (char& c : id) {
    bool safe = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    if (!safe) c = '_';
  }
  if (id.empty() || id[0] == '.') id = "_" + id;
  return id;
}

std::string summary_of(const reports::TrendPoint& point, std::size_t digests, const std::string& outputs_dir) {
  std::string out = engine::with_thousands(point.new_findings) + " new, " +
                    engine::with_thousands(point.open - point.new_findings) + " still open, " +
                    engine::with_thousands(point.resolved) + " resolved, " + engine::with_thousands(point.waived) + " waived";
  if (digests) out += "; " + engine::with_thousands(digests) + " digest(s)";
  return out + "; reports in " + outputs_dir;
}

std::string now_iso() { return model::format_timestamp(static_cast<double>(std::time(nullptr))); }

}  // namespace

int command_run(const std::vector<std::string>& args) {
  std::string config_path, as_of_text, state_override, outputs_override, writeback_override, log_format = "text", color = "auto",
                                                                            diagnostics = "text";
  bool quiet = false, no_notify = false;
  po::options_description desc("options");
  desc.add_options()
      ("config", po::value(&config_path), "the nightly run file (also positional)")
      ("as-of", po::value(&as_of_text), "the date or UTC timestamp `now` means (default: the file's as_of, else the current time)")
      ("state", po::value(&state_override), "the state folder (default: the file's `state`)")
      ("outputs", po::value(&outputs_override), "the reports folder (default: the file's `outputs.dir`)")
      ("writeback", po::value(&writeback_override), "override the file's write-back mode: off, dry-run or apply")
      ("no-notify", po::bool_switch(&no_notify), "do not post to the chat webhook")
      ("log-format", po::value(&log_format)->default_value("text"), "progress on standard error: text or json (one object a line)")
      ("diagnostics", po::value(&diagnostics)->default_value("text"), "diagnostics format: text or json")
      ("color", po::value(&color)->default_value("auto"), "colour: auto, always or never")
      ("quiet,q", po::bool_switch(&quiet), "print only warnings, errors and the final summary")
      ("help,h", "show this help");
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: rapport run " << kSynopsis << "\n\n"
                << "The nightly job: reads the data, applies the packs, compares with the previous run, writes the\n"
                << "reports and digests, posts to the chat webhook and writes back to the CRM, as nightly.yaml says.\n"
                << "Exit 0 clean, 1 findings at or above fail_on, 2 configuration, 3 source, data or output failure,\n"
                << "4 some write-back changes failed, 5 another run holds the state folder. See docs/nightly.md.\n\n"
                << desc;
      return kExitClean;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return usage(e.what());
  }
  if (config_path.empty()) return usage("name the nightly run file, for example examples/nightly.yaml");
  if (log_format != "text" && log_format != "json") return usage("--log-format must be text or json, got `" + log_format + "`");
  if (color != "auto" && color != "always" && color != "never") return usage("--color must be auto, always or never, got `" + color + "`");
  if (diagnostics != "text" && diagnostics != "json") return usage("--diagnostics must be text or json, got `" + diagnostics + "`");
  if (!writeback_override.empty() && writeback_override != "off" && writeback_override != "dry-run" && writeback_override != "apply") {
    return usage("--writeback must be off, dry-run or apply, got `" + writeback_override + "`");
  }

  RunLog log(log_format == "json" ? RunLog::Format::Json : RunLog::Format::Text, quiet);
  const std::string run_at = now_iso();
  const std::string run_id = run_at + "-" + std::to_string(::getpid());
  auto finish = [&](int code, const std::string& summary) {
    log.done(code, summary);
    return code;
  };
  // Errors and warnings (infos about the packs are `rapport lint`'s business), all sinks at once.
  auto show = [&](std::initializer_list<const diag::DiagnosticSink*> sinks) {
    std::vector<diag::Diagnostic> shown;
    for (const auto* from : sinks) {
      for (auto& d : from->sorted()) {
        if (d.severity == diag::Severity::Error || d.severity == diag::Severity::Warning) shown.push_back(std::move(d));
      }
    }
    if (shown.empty()) return;
    if (log.json()) {
      for (const auto& d : shown) log.diagnostic(diag::diagnostic_json(d));
      return;
    }
    if (diagnostics == "json") {
      std::cerr << diag::render_json(shown);
      return;
    }
    diag::RenderOptions render;
    render.color = color_wanted(color, stderr);
    std::cerr << diag::render_text(shown, render);
  };

  // 1. The configuration, the lock, the previous state and the waivers.
  diag::DiagnosticSink sink;
  auto config = nightly::load_config(config_path, default_state_dir(config_path), sink);
  if (!config) {
    show({&sink});
    return finish(kExitUsage, "the run file has errors");
  }
  if (!state_override.empty()) config->state_dir = state_override;
  if (config->writeback.journal.empty()) {
    config->writeback.journal = (fs::path(config->state_dir) / "writeback-journal.jsonl").string();
  }
  if (!outputs_override.empty()) config->outputs_dir = outputs_override;
  if (config->digests_dir.empty()) config->digests_dir = (fs::path(config->outputs_dir) / "digests").string();
  if (!writeback_override.empty()) {
    config->writeback.mode = writeback_override == "off" ? nightly::WritebackMode::Off
                             : writeback_override == "dry-run" ? nightly::WritebackMode::DryRun
                                                                : nightly::WritebackMode::Apply;
    if (config->writeback.mode != nightly::WritebackMode::Off && !config->writeback.source) {
      return finish(usage("--writeback " + writeback_override + " needs a CRM `source` in " + config_path), "usage");
    }
    if (config->writeback.mode != nightly::WritebackMode::Off && !config->writeback.flag_field && !config->writeback.tasks) {
      return finish(usage("--writeback " + writeback_override + ": " + config_path + " says nothing to write (flag_field, tasks)"), "usage");
    }
  }
  std::optional<double> as_of = parse_as_of(!as_of_text.empty() ? as_of_text : config->as_of.value_or(""));
  if (!as_of) {
    return finish(usage("the as-of must be a date (2026-11-01) or a UTC timestamp (2026-11-01T09:30:00Z), got `" +
                        (!as_of_text.empty() ? as_of_text : *config->as_of) + "`"),
                  "usage");
  }
  const std::string as_of_iso = model::format_timestamp(*as_of);

  nightly::RunLock lock;
  std::string error;
  if (!lock.acquire(config->state_dir, "pid " + std::to_string(::getpid()) + ", started " + run_at, error)) {
    log.error("rapport run: " + error);
    return finish(fs::exists(config->state_dir) ? kExitBusy : kExitData, "not run");
  }
  auto previous = nightly::read_state(config->state_dir, error);
  if (!previous) {
    log.error("rapport run: " + error);
    return finish(kExitData, "the state folder is damaged");
  }
  std::vector<nightly::LoadedWaiver> waivers;
  if (config->waivers_file) {
    auto loaded = nightly::load_waivers(*config->waivers_file, sink);
    if (!loaded) {
      show({&sink});
      return finish(kExitUsage, "the waivers file has errors");
    }
    waivers = std::move(*loaded);
  }
  log.start(run_id, config_path, as_of_iso);

  // 2. The data: fetched from the CRM, or the files as they are.
  std::optional<ScratchFolder> fetched;
  std::string data_dir = config->data_dir.value_or("");
  if (config->source_file) {
    auto stage = log.stage("fetch");
    if (auto stop = fetch_source("run", *config->source_file, fetched, data_dir, quiet || log.json(), color_wanted(color, stderr))) {
      return finish(*stop, "the fetch failed");
    }
    stage.done("from " + *config->source_file);
  }

  // 3. Packs, data, evaluation.
  PipelineOptions options;
  options.rapport_version = RAPPORT_VERSION;
  options.pack_paths = config->packs;
  options.param_files = config->param_files;
  options.sets = config->sets;
  options.data_dir = data_dir;
  options.on_bad_record = config->on_bad_record == "skip" ? load::BadRecordPolicy::Skip : load::BadRecordPolicy::Fail;
  options.progress = !quiet && !log.json() && ::isatty(STDERR_FILENO) != 0;
  Pipeline pipeline;
  {
    auto stage = log.stage("compile");
    prepare(options, pipeline);
    if (pipeline.exit_code != kExitClean) {
      show({&pipeline.sink});
      return finish(pipeline.exit_code, "the packs or parameters have errors");
    }
    std::size_t rules = 0;
    for (const auto& pack : pipeline.packs) rules += pack.pack.rules.size();
    stage.count("packs", pipeline.packs.size()).count("rules", rules).done();
  }
  std::vector<std::string> rule_ids;
  std::set<std::string> subject_entities;
  for (const auto& pack : pipeline.packs) {
    for (const auto& rule : pack.pack.rules) {
      rule_ids.push_back(rule.id);
      subject_entities.insert(rule.subject_entity);
    }
  }
  options.extra_fields = nightly::attribution_fields(pipeline.discovery->schema, subject_entities);
  {
    auto stage = log.stage("load");
    load_data(options, pipeline);
    if (pipeline.exit_code != kExitClean) {
      show({&pipeline.sink});
      return finish(pipeline.exit_code, "the data has errors");
    }
    stage.count("records", pipeline.stats.records).count("skipped", pipeline.stats.skipped).done();
  }
  engine::EvalResult result;
  {
    auto stage = log.stage("evaluate");
    engine::EvalOptions eval;
    eval.as_of = *as_of;
    eval.threads = 0;  // rules in parallel, one per core
    result = evaluate_all(pipeline, eval);
    stage.count("rules", result.rules.size()).count("findings", result.findings.size()).done();
  }
  auto split = nightly::split_waivers(std::move(waivers), *as_of, rule_ids, sink);
  show({&pipeline.sink, &sink});

  // 4. This run against the previous one, and everything the reports show.
  reports::RunReport report;
  {
    auto stage = log.stage("compare");
    nightly::Directory directory(pipeline.dataset);
    std::vector<std::string> owners;
    owners.reserve(result.findings.size());
    for (const auto& f : result.findings) owners.push_back(directory.owner_of(f));
    nightly::RunFacts facts{run_id, run_at, as_of_iso, config->history};
    nightly::Comparison comparison = nightly::compare(result.findings, owners, *previous, split.active, facts);

    report.rapport_version = RAPPORT_VERSION;
    report.run_id = run_id;
    report.run_at = run_at;
    report.as_of = as_of_iso;
    report.title = config->title;
    report.config_path = config_path;
    report.source = config->source_file ? "source " + *config->source_file : "files " + data_dir;
    report.first_run = !previous->exists;
    for (const auto& pack : pipeline.packs) report.packs.emplace_back(pack.pack.name, pack.pack.version);
    report.records = pipeline.stats.records;
    report.rules = rule_infos(pipeline, result);
    report.findings = std::move(comparison.findings);
    report.resolved = std::move(comparison.resolved);
    report.waivers = std::move(comparison.waivers);
    report.unused_waivers = std::move(comparison.unused_waivers);
    for (const auto& w : split.expired) report.expired_waivers.push_back(w.waiver);
    std::set<std::string> people;
    for (const auto& f : report.findings) {
      if (!f.owner_id.empty()) people.insert(f.owner_id);
    }
    for (const auto& r : report.resolved) {
      if (!r.owner_id.empty()) people.insert(r.owner_id);
    }
    report.portfolios = directory.portfolios();
    for (const auto& bar : report.portfolios) people.insert(bar.manager_id);
    for (const auto& id : people) report.people.push_back(directory.person(id));
    for (auto& f : report.findings) {
      if (const reports::Person* owner = report.person(f.owner_id)) {
        f.team = owner->team;
        f.region = owner->region;
      }
    }
    report.dunbar_line = config->dunbar_line.value_or(param_number(pipeline, "dunbar_limit").value_or(150));
    report.inner_circle = param_number(pipeline, "inner_circle").value_or(5);
    report.trend = comparison.next.history;
    *previous = std::move(comparison.next);  // from here on: the state to save
    stage.count("new", comparison.point.new_findings)
        .count("still_open", comparison.point.open - comparison.point.new_findings)
        .count("resolved", comparison.point.resolved)
        .count("waived", comparison.point.waived)
        .done();
  }
  const reports::TrendPoint& point = report.trend.back();

  // 5. Every report and digest, staged, then renamed into place together.
  OutputBatch batch;
  std::size_t digests = 0;
  {
    auto stage = log.stage("write");
    try {
      for (auto format : config->formats) {
        std::string content;
        switch (format) {
          case nightly::Format::Text: {
            engine::RunInfo info;
            info.rapport_version = RAPPORT_VERSION;
            info.as_of = as_of_iso;
            info.packs = report.packs;
            info.records = pipeline.stats.records;
            info.skipped_records = pipeline.stats.skipped;
            info.dangling_references = pipeline.stats.dangling_references;
            content = config->title + " — " + std::to_string(point.new_findings) + " new, " +
                      std::to_string(point.open - point.new_findings) + " still open, " + std::to_string(point.resolved) +
                      " resolved, " + std::to_string(point.waived) + " waived since the previous run\n\n" +
                      engine::render_text(result, info, false);
            break;
          }
          case nightly::Format::Json: content = reports::render_run_json(report); break;
          case nightly::Format::Csv: content = reports::render_run_csv(report); break;
          case nightly::Format::Junit: content = reports::render_junit(report); break;
          case nightly::Format::Sarif: content = reports::render_sarif(report); break;
          case nightly::Format::Html: content = reports::render_html(report); break;
        }
        std::string path = (fs::path(config->outputs_dir) / nightly::format_file(format)).string();
        if (!batch.stage(path, content, error)) {
          log.error("rapport run: " + error + "; the previous reports are left as they were");
          return finish(kExitData, "the reports could not be written");
        }
      }
      if (config->digests) {
        auto folder = batch.stage_folder(config->digests_dir, error);
        auto digest_failed = [&] {
          log.error("rapport run: " + error + "; the previous digests are left as they were");
          return finish(kExitData, "the digests could not be written");
        };
        if (!folder) return digest_failed();
        // Each owner's open findings at or above the digests' severity, and what was resolved for them:
        // grouped once, so each digest renders from its own few findings.
        auto min = dsl::parse_severity(config->digest_min_severity).value_or(dsl::Severity::Info);
        std::map<std::string, std::pair<std::vector<std::size_t>, std::vector<std::size_t>>> owners;
        for (std::size_t i = 0; i < report.findings.size(); ++i) {
          const auto& f = report.findings[i];
          if (!f.owner_id.empty() && f.status != reports::Status::Waived && f.finding.severity >= min) {
            owners[f.owner_id].first.push_back(i);
          }
        }
        for (std::size_t i = 0; i < report.resolved.size(); ++i) {
          auto it = owners.find(report.resolved[i].owner_id);
          if (it != owners.end()) it->second.second.push_back(i);
        }
        const reports::RunReport facts = facts_only(report);
        std::string index = "{\"schema\": \"rapport.digests/1\", \"run_id\": " + engine::json_string(run_id) + ", \"digests\": [";
        for (const auto& [id, rows] : owners) {
          const reports::Person* owner = report.person(id);
          if (owner == nullptr) continue;
          reports::RunReport view = facts;
          view.people = {*owner};
          std::size_t fresh = 0;
          for (std::size_t i : rows.first) {
            view.findings.push_back(report.findings[i]);
            fresh += report.findings[i].status == reports::Status::New ? 1 : 0;
          }
          for (std::size_t i : rows.second) view.resolved.push_back(report.resolved[i]);
          index += std::string(digests ? ", " : "") + "{\"owner\": " + engine::json_string(id) +
                   ", \"name\": " + engine::json_string(owner->name) + ", \"email\": " + engine::json_string(owner->email) +
                   ", \"findings\": " + std::to_string(view.findings.size()) + ", \"new\": " + std::to_string(fresh) +
                   ", \"files\": [";
          bool first = true;
          for (const auto& format : config->digest_formats) {
            std::string name = digest_file_name(id) + (format == "markdown" ? ".md" : ".html");
            std::string content = format == "markdown" ? reports::render_digest_markdown(view, *owner)
                                                       : reports::render_digest_html(view, *owner);
            if (!write_file_atomically((fs::path(*folder) / name).string(), content, error)) return digest_failed();
            index += std::string(first ? "" : ", ") + engine::json_string(name);
            first = false;
          }
          index += "]}";
          ++digests;
        }
        if (!write_file_atomically((fs::path(*folder) / "index.json").string(), index + "]}\n", error)) return digest_failed();
      }
    } catch (const std::exception& e) {
      log.error(std::string("rapport run: a report could not be rendered: ") + e.what());
      return finish(kExitData, "the reports could not be written");
    }
    if (!batch.commit(error)) {
      log.error("rapport run: " + error);
      return finish(kExitData, "the reports could not be written");
    }
    stage.count("reports", config->formats.size()).count("digests", digests).done("to " + config->outputs_dir);
  }

  // 6. The state, once every report is in place.
  {
    std::string state_path = (fs::path(config->state_dir) / "state.json").string();
    if (!write_file_atomically(state_path, nightly::state_json(*previous), error)) {
      log.error("rapport run: " + error + "; the reports are written but the next run will compare with the previous state");
      return finish(kExitData, "the state could not be saved");
    }
  }

  // 7. The chat webhook (a failure is reported, but does not undo or fail the run).
  if (config->webhook && !no_notify) {
    const auto& hook = *config->webhook;
    bool wanted = hook.when == nightly::WebhookWhen::Always ||
                  (hook.when == nightly::WebhookWhen::Findings && point.open > 0) ||
                  (hook.when == nightly::WebhookWhen::Changes && (point.new_findings > 0 || point.resolved > 0));
    if (wanted) {
      auto stage = log.stage("notify");
      auto format = hook.format == "teams" ? reports::WebhookFormat::Teams : reports::WebhookFormat::Slack;
      nightly::WebhookResult posted = nightly::post_webhook(hook, reports::render_webhook(report, format, hook.report_url));
      if (posted.ok) stage.done(posted.message);
      else stage.fail(posted.message);
    }
  }

  // 8. Write-back, as the configuration says.
  int exit_code = kExitClean;
  if (config->writeback.mode != nightly::WritebackMode::Off) {
    auto stage = log.stage("writeback");
    engine::EvalResult open;
    for (const auto& f : report.findings) {
      if (f.status == reports::Status::Waived) continue;
      const auto& rules = config->writeback.rules;
      if (!rules.empty() && std::find(rules.begin(), rules.end(), f.finding.rule) == rules.end()) continue;
      open.findings.push_back(f.finding);
    }
    engine::RunInfo info;
    info.rapport_version = RAPPORT_VERSION;
    info.as_of = as_of_iso;
    info.packs = report.packs;
    ScratchFolder scratch;
    std::string findings_path = (fs::path(scratch.path()) / "findings.json").string();
    if (scratch.path().empty() || !write_file_atomically(findings_path, engine::render_json(open, info), error)) {
      stage.fail("cannot stage the findings for write-back");
      return finish(kExitData, "write-back could not start");
    }
    writeback::ApplyOptions apply;
    apply.source_path = *config->writeback.source;
    apply.report_path = findings_path;
    apply.apply = config->writeback.mode == nightly::WritebackMode::Apply;
    apply.journal_path = config->writeback.journal;
    apply.findings.flag_field = config->writeback.flag_field;
    apply.findings.tasks = config->writeback.tasks;
    apply.findings.min_severity = config->writeback.min_severity;
    apply.task_key_field = config->writeback.task_key;
    writeback::ApplyReport applied = writeback::apply(apply);
    show({&applied.sink});
    const std::string how_to_apply = "set `writeback.mode: apply` in " + config_path;
    std::string text = writeback::render_apply_text(applied, false, false, how_to_apply);
    std::string applied_path = (fs::path(config->outputs_dir) / "writeback.txt").string();
    if (!write_file_atomically(applied_path, text, error)) log.error("rapport run: " + error);
    if (!quiet && !log.json()) std::cerr << writeback::render_apply_text(applied, color_wanted(color, stderr), true, how_to_apply);
    stage.count("changes", applied.results.size())
        .count("applied", applied.count(writeback::Outcome::Applied))
        .count("pending", applied.count(writeback::Outcome::Pending))
        .count("failed", applied.count(writeback::Outcome::Failed))
        .count("conflicts", applied.count(writeback::Outcome::Conflict));
    if (applied.exit_code == writeback::kApplyOk) {
      stage.done(apply.apply ? "applied" : "dry run: nothing written");
    } else {
      stage.fail(applied.error.empty() ? "some changes failed or conflict; the next run completes them" : applied.error);
      exit_code = applied.exit_code == writeback::kApplyPartial ? kExitPartial
                  : applied.exit_code == writeback::kApplyConfig ? kExitUsage
                                                                 : kExitData;
    }
  }

  auto fail_on = parse_fail_on(config->fail_on);
  std::vector<engine::Finding> judged;
  for (const auto& f : report.findings) {
    if (f.status != reports::Status::Waived) judged.push_back(f.finding);
  }
  if (exit_code == kExitClean) exit_code = findings_exit(*fail_on, judged);
  std::string summary = summary_of(point, digests, config->outputs_dir);
  return finish(exit_code, summary);
}

}  // namespace rapport::cli
