// `rapport apply --source source.yaml (--plan plan.json | --findings findings.json) [--apply]`:
// writes a plan's moves, and findings as flags and tasks, back to the CRM (docs/cli.md). A dry run
// unless --apply; the work is connectors/writeback's apply().

#include <boost/program_options.hpp>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/pipeline.hpp"
#include "connectors/writeback/apply.hpp"
#include "diag/render.hpp"

namespace rapport::cli {

namespace po = boost::program_options;

namespace {

constexpr const char* kSynopsis =
    "--source source.yaml (--plan plan.json | --findings findings.json) [--apply] [--journal FILE]\n"
    "                     [--flag-field NAME] [--task] [--task-key NAME] [--min-severity SEVERITY] [--output FILE]";

int usage_error(const std::string& message) { return cli::usage_error("apply", kSynopsis, message); }

}  // namespace

int command_apply(const std::vector<std::string>& args) {
  writeback::ApplyOptions options;
  std::string plan, findings, flag_field, output, color = "auto", diagnostics = "text";
  bool quiet = false;
  po::options_description desc("options");
  desc.add_options()
      ("source", po::value(&options.source_path), "the CRM to write to (source.yaml)")
      ("plan", po::value(&plan), "a plan report (`rapport plan --format json`): its moves")
      ("findings", po::value(&findings), "a findings report (`rapport check --format json`)")
      ("apply", po::bool_switch(&options.apply), "write the changes (without it: a dry run that writes nothing)")
      ("journal", po::value(&options.journal_path), "the journal of settled changes (default: <state>/rapport-journal.jsonl)")
      ("flag-field", po::value(&flag_field), "set this field of each finding's record to its rule ids (Rapport_Flags__c, rapport_flags, new_rapportflags)")
      ("task", po::bool_switch(&options.findings.tasks), "create a task per finding for the record's owner, keyed by the finding's fingerprint")
      ("task-key", po::value(&options.task_key_field), "the task field holding that key (default Rapport_Key__c, rapport_key or new_rapportkey)")
      ("min-severity", po::value(&options.findings.min_severity)->default_value("info"), "leave out findings below: info, low, medium, high or critical")
      ("output,o", po::value(&output), "also write the report to FILE (atomically)")
      ("diagnostics", po::value(&diagnostics)->default_value("text"), "diagnostics format: text or json")
      ("color", po::value(&color)->default_value("auto"), "colour: auto, always or never")
      ("quiet,q", po::bool_switch(&quiet), "print only what failed or conflicts, and the summary")
      ("help,h", "show this help");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: rapport apply " << kSynopsis << "\n\n"
                << "Writes a plan's reassignments, and findings as flags and tasks, back to the CRM. Without\n"
                << "--apply it is a dry run: it reads the records concerned and prints every change it would\n"
                << "make (record, field, old -> new; tasks to create) without writing anything. Each record is\n"
                << "read before it is written and unchanged fields are skipped; tasks are keyed by the finding's\n"
                << "fingerprint, so a re-run never duplicates one. Exit 0 done or nothing to do, 2 usage or\n"
                << "configuration, 3 the CRM failed, 4 some changes failed or conflict (run again to complete).\n\n"
                << desc;
      return kExitClean;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (options.source_path.empty()) return usage_error("name the CRM with --source source.yaml");
  if (plan.empty() == findings.empty()) return usage_error("give exactly one of --plan FILE or --findings FILE");
  if (color != "auto" && color != "always" && color != "never") return usage_error("--color must be auto, always or never, got `" + color + "`");
  if (diagnostics != "text" && diagnostics != "json") return usage_error("--diagnostics must be text or json, got `" + diagnostics + "`");
  if (!writeback::is_severity(options.findings.min_severity)) {
    return usage_error("--min-severity must be info, low, medium, high or critical, got `" + options.findings.min_severity + "`");
  }
  if (vm.count("flag-field")) {
    if (flag_field.empty()) return usage_error("--flag-field needs a field name");
    options.findings.flag_field = flag_field;
  }
  if (!findings.empty() && !options.findings.flag_field && !options.findings.tasks) {
    return usage_error("with --findings, say what to write: --flag-field NAME, --task or both");
  }
  options.report_path = plan.empty() ? findings : plan;

  writeback::ApplyReport report = writeback::apply(options);
  print_errors(report.sink, diagnostics, color);
  if (!report.error.empty()) std::cerr << "rapport apply: " << report.error << "\n";
  if (report.results.empty() && report.exit_code == writeback::kApplyConfig) return report.exit_code;

  std::string text = writeback::render_apply_text(report, output.empty() && color_wanted(color, stdout), quiet);
  std::cout << text << std::flush;
  if (!output.empty()) {
    std::string error;
    if (!write_file_atomically(output, writeback::render_apply_text(report, false), error)) {
      std::cerr << "rapport apply: " << error << "\n";
      return report.exit_code == writeback::kApplyOk ? kExitUsage : report.exit_code;
    }
  }
  return report.exit_code;
}

}  // namespace rapport::cli
