#include "cli/app.hpp"

#include <boost/program_options.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <optional>

#include "cli/commands.hpp"
#include "cli/pipeline.hpp"
#include "diag/render.hpp"
#include "engine/output.hpp"
#include "model/time.hpp"

#ifndef RAPPORT_VERSION
#define RAPPORT_VERSION "0.0.0"
#endif

namespace rapport::cli {

namespace po = boost::program_options;

namespace {

constexpr const char* kUsage =
    "usage: rapport <command> [options]\n"
    "\n"
    "commands:\n"
    "  check PACK... --data DIR   evaluate rule packs over a CRM export and report findings\n"
    "  lint PACK...               parse and check rule files without data\n"
    "  params PACK...             print the effective parameter values and where each came from\n"
    "  test PACK...               run the test cases of pack folders\n"
    "  doc PACK                   print a pack's Markdown reference\n"
    "  explain RULE PACK... --data DIR --subject ID\n"
    "                             show how one rule evaluated for one subject, step by step\n"
    "  plan PACK... --data DIR    propose the fewest reassignments that keep every limit of a plan\n"
    "  fetch --source FILE --out DIR  fetch CRM data (Salesforce, HubSpot, Dynamics, files) as canonical files\n"
    "  apply --source FILE (--plan FILE | --findings FILE) [--apply]\n"
    "                             write a plan's moves, and findings as flags or tasks, back to the CRM\n"
    "  run nightly.yaml           the nightly job: data, packs, reports, digests, notification, write-back\n"
    "  serve --config serve.yaml  an HTTP server: what-if checks, webhooks, findings, metrics\n"
    "  codes                      list the diagnostic codes\n"
    "\n"
    "options: --help (on every command), --version\n"
    "PACK is a .rules file or a directory of them. See docs/cli.md.\n";

struct CommonOptions {
  std::string diagnostics = "text";
  std::string color = "auto";
  bool quiet = false;
};

bool stream_is_tty(FILE* stream) { return ::isatty(::fileno(stream)) != 0; }

bool use_color(const CommonOptions& common, FILE* stream) {
  if (common.color == "always") return true;
  if (common.color == "never") return false;
  return stream_is_tty(stream) && std::getenv("NO_COLOR") == nullptr;
}

void add_common(po::options_description& desc, CommonOptions& common) {
  desc.add_options()
      ("diagnostics", po::value(&common.diagnostics)->default_value("text"), "diagnostics format: text or json")
      ("color", po::value(&common.color)->default_value("auto"), "colour: auto, always or never")
      ("quiet,q", po::bool_switch(&common.quiet), "print only errors and the report")
      ("help,h", "show this help");
}

/// Prints diagnostics to stderr in the chosen format. Warnings and infos are hidden with --quiet.
void print_diagnostics(const diag::DiagnosticSink& sink, const CommonOptions& common) {
  std::vector<diag::Diagnostic> shown;
  for (auto& d : sink.sorted()) {
    if (common.quiet && d.severity != diag::Severity::Error) continue;
    shown.push_back(std::move(d));
  }
  if (common.diagnostics == "json") {
    std::cerr << diag::render_json(shown);
    return;
  }
  diag::RenderOptions render;
  render.color = use_color(common, stderr);
  std::cerr << diag::render_text(shown, render);
  if (sink.dropped()) std::cerr << sink.dropped() << " more diagnostics not shown\n";
}

/// Parses a subcommand's options; returns an exit code when the command must stop (help or error).
std::optional<int> parse_options(const std::string& command, const std::vector<std::string>& args,
                                 po::options_description& desc, po::positional_options_description& positional,
                                 po::variables_map& vm, std::string_view synopsis) {
  try {
    po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: rapport " << command << " " << synopsis << "\n\n" << desc;
      return kExitClean;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "rapport " << command << ": " << e.what() << "\n"
              << "usage: rapport " << command << " " << synopsis << "\n"
              << "try `rapport " << command << " --help`\n";
    return kExitUsage;
  }
  return std::nullopt;
}

std::optional<int> validate_common(const std::string& command, const CommonOptions& common) {
  if (common.diagnostics != "text" && common.diagnostics != "json") {
    std::cerr << "rapport " << command << ": --diagnostics must be text or json, got `" << common.diagnostics << "`\n";
    return kExitUsage;
  }
  if (common.color != "auto" && common.color != "always" && common.color != "never") {
    std::cerr << "rapport " << command << ": --color must be auto, always or never, got `" << common.color << "`\n";
    return kExitUsage;
  }
  return std::nullopt;
}

int command_check(const std::vector<std::string>& args) {
  CommonOptions common;
  PipelineOptions options;
  options.rapport_version = RAPPORT_VERSION;
  std::string data_dir, source_file, params_hint, as_of_text, format = "text", output, fail_on = "none", on_bad_record = "fail";
  std::vector<std::string> rules;
  bool timings = false;
  po::options_description desc("options");
  desc.add_options()
      ("pack", po::value(&options.pack_paths)->multitoken(), "rule file or directory (repeatable; also positional)")
      ("timings", po::bool_switch(&timings), "print the time each stage and rule took to standard error")
      ("data,d", po::value(&data_dir), "directory of <entity>.jsonl or <entity>.csv files")
      ("source", po::value(&source_file), "fetch the data from a CRM source (source.yaml) instead of --data")
      ("params,p", po::value(&options.param_files)->composing(), "YAML parameter override file (repeatable, applied in order)")
      ("set,s", po::value(&options.sets)->composing(), "override one parameter: name=value or name[key]=value (repeatable)")
      ("as-of", po::value(&as_of_text), "the date or UTC timestamp `now` means (default: the current time)")
      ("format,f", po::value(&format)->default_value("text"), "report format: text, json or csv")
      ("output,o", po::value(&output), "write the report to FILE (atomically) instead of standard output")
      ("fail-on", po::value(&fail_on)->default_value("none"), "exit 1 when a finding is at or above: info, low, medium, high, critical, or none")
      ("on-bad-record", po::value(&on_bad_record)->default_value("fail"), "bad data records: fail or skip")
      ("rule", po::value(&rules)->composing(), "evaluate only this rule id (repeatable)");
  add_common(desc, common);
  po::positional_options_description positional;
  positional.add("pack", -1);
  po::variables_map vm;
  const char* synopsis = "PACK... (--data DIR | --source source.yaml) [options]";
  if (auto stop = parse_options("check", args, desc, positional, vm, synopsis)) return *stop;
  if (auto stop = validate_common("check", common)) return *stop;
  if (options.pack_paths.empty()) {
    std::cerr << "rapport check: name at least one rule pack (a .rules file or a directory)\nusage: rapport check " << synopsis << "\n";
    return kExitUsage;
  }
  if (format != "text" && format != "json" && format != "csv") {
    std::cerr << "rapport check: --format must be text, json or csv, got `" << format << "`\n";
    return kExitUsage;
  }
  auto threshold = parse_fail_on(fail_on);
  if (!threshold) {
    std::cerr << "rapport check: --fail-on must be info, low, medium, high, critical or none, got `" << fail_on << "`\n";
    return kExitUsage;
  }
  if (on_bad_record != "fail" && on_bad_record != "skip") {
    std::cerr << "rapport check: --on-bad-record must be fail or skip, got `" << on_bad_record << "`\n";
    return kExitUsage;
  }
  options.on_bad_record = on_bad_record == "skip" ? load::BadRecordPolicy::Skip : load::BadRecordPolicy::Fail;
  auto parsed_as_of = parse_as_of(as_of_text);
  if (!parsed_as_of) {
    std::cerr << "rapport check: --as-of takes a date (2026-11-01) or a UTC timestamp (2026-11-01T09:30:00Z), got `"
              << as_of_text << "`\n";
    return kExitUsage;
  }
  const double as_of = *parsed_as_of;
  if (data_dir.empty() == source_file.empty()) {
    std::cerr << "rapport check: give the data with exactly one of --data DIR or --source source.yaml\nusage: rapport check "
              << synopsis << "\n";
    return kExitUsage;
  }
  // A source is fetched into a scratch folder first, then checked like any export.
  std::optional<ScratchFolder> fetched;
  if (auto stop = fetch_source("check", source_file, fetched, data_dir, common.quiet, use_color(common, stderr))) return *stop;
  options.data_dir = data_dir;
  options.only_rules = rules;
  options.progress = !common.quiet && stream_is_tty(stderr);
  options.keep_source_lines = false;  // the report reads none
  options.compact_data = true;  // nothing edits the data

  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  auto started = Clock::now();
  Pipeline pipeline;
  prepare(options, pipeline);
  double compile_seconds = seconds_since(started);
  auto load_started = Clock::now();
  const double load_cpu_started = cpu_seconds();
  if (pipeline.exit_code == kExitClean) load_data(options, pipeline);
  double load_seconds = seconds_since(load_started);
  const double load_cpu = cpu_seconds() - load_cpu_started;
  const std::string load_peak = timings ? peak_memory_text() : std::string();
  print_diagnostics(pipeline.sink, common);
  if (pipeline.exit_code != kExitClean) return pipeline.exit_code;
  for (const auto& rule : rules) {
    bool known = false;
    for (const auto& pack : pipeline.packs) {
      for (const auto& r : pack.pack.rules) known = known || r.id == rule;
    }
    if (!known) {
      std::cerr << "rapport check: no loaded pack has a rule `" << rule << "`\n";
      return kExitUsage;
    }
  }

  engine::EvalOptions eval_options;
  eval_options.as_of = as_of;
  eval_options.only_rules = rules;
  eval_options.threads = 0;  // rules in parallel, one per core
  eval_options.defer_texts = true;  // the report is written before the pipeline goes
  auto eval_started = Clock::now();
  const double eval_cpu_started = cpu_seconds();
  engine::EvalResult result = evaluate_all(pipeline, eval_options);
  if (timings) {
    std::fprintf(stderr,
                 "timings: parse+check %.3f s, load %.3f s (cpu %.3f s, %zu records, peak memory %s), evaluate %.3f s "
                 "(cpu %.3f s, peak %s)\n",
                 compile_seconds, load_seconds, load_cpu, pipeline.stats.records, load_peak.c_str(),
                 seconds_since(eval_started), cpu_seconds() - eval_cpu_started, peak_memory_text().c_str());
    for (const auto& [entity, seconds] : pipeline.stats.seconds_by_entity) {
      std::fprintf(stderr, "  load %-35s %9.1f ms  %8zu records\n", entity.c_str(), seconds * 1000,
                   pipeline.stats.records_by_entity[entity]);
    }
    std::fprintf(stderr, "  load %-35s %9.1f ms\n", "(references)", pipeline.stats.reference_seconds * 1000);
    print_memory_breakdown(pipeline.dataset);
    for (const auto& rule : result.rules) {
      std::fprintf(stderr, "  %-40s %9.1f ms  %8zu subjects  %7zu findings\n", rule.rule.c_str(), rule.milliseconds,
                   rule.subjects, rule.findings);
    }
  }

  engine::RunInfo info;
  info.rapport_version = RAPPORT_VERSION;
  info.as_of = model::format_timestamp(as_of);
  for (const auto& pack : pipeline.packs) info.packs.emplace_back(pack.pack.name, pack.pack.version);
  info.records = pipeline.stats.records;
  info.skipped_records = pipeline.stats.skipped;
  info.dangling_references = pipeline.stats.dangling_references;

  const bool color = output.empty() && use_color(common, stdout);
  auto render = [&](const engine::ReportWriter& write) {
    if (format == "json") engine::render_json(result, info, write);
    else if (format == "csv") engine::render_csv(result, write);
    else engine::render_text(result, info, color, write);
  };
  auto report_started = Clock::now();
  const double report_cpu_started = cpu_seconds();
  if (!deliver_report("check", output, render)) return kExitUsage;
  if (timings) {
    std::fprintf(stderr, "timings: report %.3f s (cpu %.3f s, %zu findings, peak memory %s)\n",
                 seconds_since(report_started), cpu_seconds() - report_cpu_started, result.findings.size(),
                 peak_memory_text().c_str());
  }
  if (!output.empty() && !common.quiet) {
    std::cerr << "wrote " << result.findings.size() << " finding(s) to " << output << " ("
              << engine::severity_counts(result.findings) << ")\n";
  }
  const int exit_code = findings_exit(*threshold, result.findings);
  leave_for_exit(std::move(result));
  leave_for_exit(std::move(pipeline.dataset));
  return exit_code;
}

int command_lint(const std::vector<std::string>& args) {
  CommonOptions common;
  PipelineOptions options;
  options.rapport_version = RAPPORT_VERSION;
  std::string data_dir;
  po::options_description desc("options");
  desc.add_options()
      ("pack", po::value(&options.pack_paths)->multitoken(), "rule file or directory (repeatable; also positional)")
      ("data,d", po::value(&data_dir), "also check field names against this data directory's files")
      ("params,p", po::value(&options.param_files)->composing(), "also check these parameter override files")
      ("set,s", po::value(&options.sets)->composing(), "also check these name=value overrides");
  add_common(desc, common);
  po::positional_options_description positional;
  positional.add("pack", -1);
  po::variables_map vm;
  const char* synopsis = "PACK... [--data DIR] [--params FILE] [options]";
  if (auto stop = parse_options("lint", args, desc, positional, vm, synopsis)) return *stop;
  if (auto stop = validate_common("lint", common)) return *stop;
  if (options.pack_paths.empty()) {
    std::cerr << "rapport lint: name at least one rule pack\nusage: rapport lint " << synopsis << "\n";
    return kExitUsage;
  }
  if (!data_dir.empty()) options.data_dir = data_dir;
  Pipeline pipeline;
  prepare(options, pipeline);
  print_diagnostics(pipeline.sink, common);
  if (pipeline.exit_code != kExitClean) return pipeline.exit_code;
  if (!common.quiet && common.diagnostics == "text") {
    std::size_t rules = 0;
    for (const auto& pack : pipeline.packs) rules += pack.pack.rules.size();
    std::cerr << "ok: " << pipeline.packs.size() << (pipeline.packs.size() == 1 ? " pack, " : " packs, ") << rules
              << (rules == 1 ? " rule" : " rules") << ", " << pipeline.sink.warning_count() << " warning(s)\n";
  }
  return kExitClean;
}

int command_params(const std::vector<std::string>& args) {
  CommonOptions common;
  PipelineOptions options;
  options.rapport_version = RAPPORT_VERSION;
  po::options_description desc("options");
  desc.add_options()
      ("pack", po::value(&options.pack_paths)->multitoken(), "rule file or directory (repeatable; also positional)")
      ("params,p", po::value(&options.param_files)->composing(), "YAML parameter override file (repeatable)")
      ("set,s", po::value(&options.sets)->composing(), "override one parameter: name=value")
      ("effective", "print the merged values (the default)");
  add_common(desc, common);
  po::positional_options_description positional;
  positional.add("pack", -1);
  po::variables_map vm;
  const char* synopsis = "PACK... [--params FILE] [--set name=value]";
  if (auto stop = parse_options("params", args, desc, positional, vm, synopsis)) return *stop;
  if (auto stop = validate_common("params", common)) return *stop;
  if (options.pack_paths.empty()) {
    std::cerr << "rapport params: name at least one rule pack\n";
    return kExitUsage;
  }
  Pipeline pipeline;
  prepare(options, pipeline);
  print_diagnostics(pipeline.sink, common);
  if (pipeline.exit_code != kExitClean) return pipeline.exit_code;
  for (const auto& pack : pipeline.packs) {
    std::cout << "# pack " << pack.pack.name << "@" << pack.pack.version << "\n" << packs::describe_params(pack);
  }
  return kExitClean;
}

int command_codes(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "usage: rapport codes\n\nLists every diagnostic code with a one-line summary.\n";
    return kExitClean;
  }
  if (!args.empty()) {
    std::cerr << "rapport codes: takes no arguments\n";
    return kExitUsage;
  }
  for (const auto& info : diag::all_codes()) std::cout << info.id << "  " << info.summary << "\n";
  return kExitClean;
}

}  // namespace


int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const std::string command = args.front();
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--version" || command == "-V" || command == "version") {
    std::cout << "rapport " << RAPPORT_VERSION << "\n";
    return kExitClean;
  }
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return kExitClean;
  }
  try {
    if (command == "check") return command_check(rest);
    if (command == "lint") return command_lint(rest);
    if (command == "params") return command_params(rest);
    if (command == "codes") return command_codes(rest);
    if (command == "test") return command_test(rest);
    if (command == "plan") return command_plan(rest);
    if (command == "doc") return command_doc(rest);
    if (command == "explain") return command_explain(rest);
    if (command == "fetch") return command_fetch(rest);
    if (command == "apply") return command_apply(rest);
    if (command == "run") return command_run(rest);
    if (command == "serve") return command_serve(rest);
  } catch (const std::bad_alloc&) {
    std::cerr << "rapport " << command << ": out of memory\n";
    return kExitData;
  } catch (const std::exception& e) {
    std::cerr << "rapport " << command << ": internal error: " << e.what() << "\n";
    return kExitUsage;
  }
  std::cerr << "rapport: unknown command `" << command << "`\n" << kUsage;
  return kExitUsage;
}

}  // namespace rapport::cli
