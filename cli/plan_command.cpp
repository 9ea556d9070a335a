// `rapport plan PACK... --data DIR`: solves a pack's plan over a CRM export and reports the
// proposed moves, each target's load before and after, what found no room, and findings for
// what the plan can't fix by itself.

#include <boost/program_options.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/pipeline.hpp"
#include "diag/suggest.hpp"
#include "engine/planner.hpp"
#include "model/time.hpp"

#ifndef RAPPORT_VERSION
#define RAPPORT_VERSION "0.0.0"
#endif

namespace rapport::cli {

namespace po = boost::program_options;

namespace {

constexpr const char* kSynopsis =
    "PACK... (--data DIR | --source source.yaml) [--plan ID] [--as-of DATE] [--params FILE]... [--set NAME=VALUE]...\n"
    "                    [--format text|json|csv] [--output FILE] [--fail-on SEVERITY]";

int usage_error(const std::string& message) { return cli::usage_error("plan", kSynopsis, message); }

}  // namespace

int command_plan(const std::vector<std::string>& args) {
  PipelineOptions options;
  options.rapport_version = RAPPORT_VERSION;
  std::string plan_id, data_dir, source_file, as_of_text, format = "text", output, fail_on = "none";
  std::string on_bad_record = "fail", color = "auto", diagnostics = "text";
  bool quiet = false, timings = false;
  po::options_description desc("options");
  desc.add_options()
      ("pack", po::value(&options.pack_paths)->multitoken(), "rule file or directory (repeatable; also positional)")
      ("plan", po::value(&plan_id), "the plan to solve (needed when the packs have more than one)")
      ("data,d", po::value(&data_dir), "directory of <entity>.jsonl or <entity>.csv files")
      ("source", po::value(&source_file), "fetch the data from a CRM source (source.yaml) instead of --data")
      ("params,p", po::value(&options.param_files)->composing(), "YAML parameter override file (repeatable, applied in order)")
      ("set,s", po::value(&options.sets)->composing(), "override one parameter: name=value or name[key]=value (repeatable)")
      ("as-of", po::value(&as_of_text), "the date or UTC timestamp `now` means (default: the current time)")
      ("format,f", po::value(&format)->default_value("text"), "report format: text, json (the change set) or csv (the moves)")
      ("output,o", po::value(&output), "write the report to FILE (atomically) instead of standard output")
      ("fail-on", po::value(&fail_on)->default_value("none"),
       "exit 1 when the plan leaves a finding at or above: info, low, medium, high, critical, or none")
      ("on-bad-record", po::value(&on_bad_record)->default_value("fail"), "bad data records: fail or skip")
      ("diagnostics", po::value(&diagnostics)->default_value("text"), "diagnostics format: text or json")
      ("color", po::value(&color)->default_value("auto"), "colour: auto, always or never")
      ("quiet,q", po::bool_switch(&quiet), "print only errors and the report")
      ("timings", po::bool_switch(&timings), "print the time each stage took to standard error")
      ("help,h", "show this help");
  po::positional_options_description positional;
  positional.add("pack", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: rapport plan " << kSynopsis << "\n\n"
                << "Solves a plan: the fewest moves of its link field after which every target meets every\n"
                << "limit, placed by the preferences in the order written. Nothing is written to the CRM; the\n"
                << "JSON report is the change set a later write-back applies. Exit 0 when planned, 1 when a\n"
                << "finding the plan can't fix is at or above --fail-on, 2 for usage and rule errors, 3 for\n"
                << "data errors.\n\n"
                << desc;
      return kExitClean;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (options.pack_paths.empty()) return usage_error("name at least one rule pack (a .rules file or a directory)");
  if (data_dir.empty() == source_file.empty()) return usage_error("give the data with exactly one of --data DIR or --source source.yaml");
  if (format != "text" && format != "json" && format != "csv") return usage_error("--format must be text, json or csv, got `" + format + "`");
  if (color != "auto" && color != "always" && color != "never") return usage_error("--color must be auto, always or never, got `" + color + "`");
  if (diagnostics != "text" && diagnostics != "json") return usage_error("--diagnostics must be text or json, got `" + diagnostics + "`");
  if (on_bad_record != "fail" && on_bad_record != "skip") return usage_error("--on-bad-record must be fail or skip, got `" + on_bad_record + "`");
  auto threshold = parse_fail_on(fail_on);
  if (!threshold) return usage_error("--fail-on must be info, low, medium, high, critical or none, got `" + fail_on + "`");
  auto as_of = parse_as_of(as_of_text);
  if (!as_of) return usage_error("--as-of takes a date (2026-11-01) or a UTC timestamp (2026-11-01T09:30:00Z), got `" + as_of_text + "`");
  std::optional<ScratchFolder> fetched;
  if (auto stop = fetch_source("plan", source_file, fetched, data_dir, quiet, color_wanted(color, stderr))) return *stop;
  options.data_dir = data_dir;
  options.on_bad_record = on_bad_record == "skip" ? load::BadRecordPolicy::Skip : load::BadRecordPolicy::Fail;
  options.rules = false;

  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); };
  auto started = Clock::now();
  Pipeline pipeline;
  prepare(options, pipeline);
  if (pipeline.exit_code != kExitClean) {
    print_errors(pipeline.sink, diagnostics, color);
    return pipeline.exit_code;
  }
  // The plan: the one named, or the only one.
  const packs::ConfiguredPack* holder = nullptr;
  const dsl::CompiledPlan* plan = nullptr;
  std::vector<std::string> ids;
  for (const auto& configured : pipeline.packs) {
    for (const auto& p : configured.pack.plans) {
      ids.push_back(p.id);
      if (plan_id.empty() || p.id == plan_id) {
        holder = &configured;
        plan = &p;
      }
    }
  }
  if (ids.empty()) return usage_error("the packs have no plan; a plan is written `plan id ... end` (docs/language.md)");
  if (plan_id.empty() && ids.size() > 1) {
    std::string list;
    for (std::size_t k = 0; k < ids.size(); ++k) list += (k ? ", " : "") + ids[k];
    return usage_error("the packs have " + std::to_string(ids.size()) + " plans (" + list + "): choose one with --plan");
  }
  if (!plan) {
    std::string message = "no loaded pack has a plan `" + plan_id + "`";
    if (auto close = diag::closest(plan_id, ids)) message += "; did you mean `" + *close + "`?";
    return usage_error(message);
  }
  options.plans = {plan->id};
  const double compile_seconds = seconds_since(started);
  auto load_started = Clock::now();
  load_data(options, pipeline);
  const double load_seconds = seconds_since(load_started);
  print_errors(pipeline.sink, diagnostics, color);
  if (pipeline.exit_code != kExitClean) return pipeline.exit_code;

  engine::PlanResult result;
  auto solve_started = Clock::now();
  try {
    result = engine::run_plan(holder->pack, *plan, holder->params, pipeline.dataset, *as_of);
  } catch (const engine::PlanError& e) {
    std::cerr << "rapport plan: " << e.what() << "\n";
    return kExitData;
  }
  const double solve_seconds = seconds_since(solve_started);
  auto render_started = Clock::now();
  engine::RunInfo info;
  info.rapport_version = RAPPORT_VERSION;
  info.as_of = model::format_timestamp(*as_of);
  info.packs.emplace_back(holder->pack.name, holder->pack.version);
  info.records = pipeline.stats.records;

  const bool colored = output.empty() && color_wanted(color, stdout);
  const bool delivered = deliver_report("plan", output, [&](const engine::ReportWriter& write) {
    if (format == "json") engine::render_plan_json(result, info, write);
    else if (format == "csv") engine::render_plan_csv(result, write);
    else engine::render_plan_text(result, info, colored, write);
  });
  if (timings) {
    std::fprintf(stderr, "timings: parse+check %.3f s, load %.3f s (%zu records), plan %.3f s, report %.3f s\n",
                 compile_seconds, load_seconds, pipeline.stats.records, solve_seconds, seconds_since(render_started));
    for (const auto& [stage, seconds] : result.stage_seconds) {
      std::fprintf(stderr, "  plan %-35s %9.1f ms\n", stage.c_str(), seconds * 1000);
    }
  }
  if (!delivered) return kExitUsage;
  if (!output.empty() && !quiet) {
    std::cerr << "wrote a plan of " << result.moves.size() << " move(s) to " << output << " ("
              << result.findings.size() << " finding(s) the plan can't fix)\n";
  }
  const int exit_code = findings_exit(*threshold, result.findings);
  leave_for_exit(std::move(result));
  leave_for_exit(std::move(pipeline.dataset));
  return exit_code;
}

}  // namespace rapport::cli
