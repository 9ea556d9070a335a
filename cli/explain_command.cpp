// `rapport explain RULE PACK... --data DIR --subject ID`: how one rule evaluated for one subject.
// It runs the stages `check` runs (prepare, load the data the rule needs), then asks the engine
// for a step-by-step explanation (engine/explain.hpp) and prints it as text or JSON.

#include <boost/program_options.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/pipeline.hpp"
#include "diag/render.hpp"
#include "diag/suggest.hpp"
#include "engine/explain.hpp"
#include "model/time.hpp"

namespace rapport::cli {

namespace po = boost::program_options;

namespace {

constexpr const char* kSynopsis =
    "RULE PACK... --data DIR --subject ID [--as-of DATE] [--params FILE]... [--set NAME=VALUE]...\n"
    "                       [--format text|json] [--records N] [--color auto|always|never]";

int usage_error(const std::string& message) { return cli::usage_error("explain", kSynopsis, message); }

void print_helps(const std::vector<std::string>& helps) {
  for (const auto& help : helps) std::cerr << "   = help: " << help << "\n";
}

/// The pack that holds rule `id`; prints the error (with a did-you-mean) when none or several do.
std::optional<std::size_t> find_rule_pack(const Pipeline& pipeline, const std::string& id) {
  std::vector<std::size_t> holders;
  std::vector<std::string> ids;
  for (std::size_t k = 0; k < pipeline.packs.size(); ++k) {
    for (const auto& rule : pipeline.packs[k].pack.rules) {
      ids.push_back(rule.id);
      if (rule.id == id) holders.push_back(k);
    }
  }
  if (holders.size() == 1) return holders.front();
  if (holders.size() > 1) {
    std::cerr << "rapport explain: rule `" << id << "` is in pack `" << pipeline.packs[holders[0]].pack.name
              << "` and in pack `" << pipeline.packs[holders[1]].pack.name << "`\n";
    print_helps({"name only the rule file of the pack you mean"});
    return std::nullopt;
  }
  std::cerr << "rapport explain: no loaded pack has a rule `" << id << "`\n";
  std::vector<std::string> helps;
  for (const auto& pack : pipeline.packs) {
    for (const auto& plan : pack.pack.plans) {
      if (plan.id == id) helps.push_back("`" + id + "` is a plan; `rapport plan` shows its moves and their reasons");
    }
  }
  if (auto close = diag::closest(id, ids)) helps.push_back("did you mean `" + *close + "`?");
  if (helps.empty() && !ids.empty() && ids.size() <= 20) {
    std::string list;
    for (std::size_t k = 0; k < ids.size(); ++k) list += (k ? ", " : "") + ids[k];
    helps.push_back("the rules: " + list);
  }
  print_helps(helps);
  return std::nullopt;
}

}  // namespace

/// The `explain` command (dispatched from app.cpp).
int command_explain(const std::vector<std::string>& args) {
  PipelineOptions options;
  options.rapport_version = RAPPORT_VERSION;
  std::string rule_id, data_dir, subject, as_of_text, format = "text", color = "auto", diagnostics = "text";
  std::string on_bad_record = "fail";
  long records = 20;
  po::options_description desc("options");
  desc.add_options()
      ("rule", po::value(&rule_id), "the rule id to explain (the first positional argument)")
      ("pack", po::value(&options.pack_paths)->multitoken(), "rule file or directory (repeatable; also positional)")
      ("data,d", po::value(&data_dir), "directory of <entity>.jsonl or <entity>.csv files (required)")
      ("subject", po::value(&subject), "the subject: a record id (or its exact name), or a value such as a team (required)")
      ("as-of", po::value(&as_of_text), "the date or UTC timestamp `now` means (default: the current time)")
      ("params,p", po::value(&options.param_files)->composing(), "YAML parameter override file (repeatable, applied in order)")
      ("set,s", po::value(&options.sets)->composing(), "override one parameter: name=value or name[key]=value (repeatable)")
      ("format,f", po::value(&format)->default_value("text"), "output format: text or json")
      ("records", po::value(&records)->default_value(20), "most records listed per set (and items per list)")
      ("on-bad-record", po::value(&on_bad_record)->default_value("fail"), "bad data records: fail or skip")
      ("diagnostics", po::value(&diagnostics)->default_value("text"), "diagnostics format: text or json")
      ("color", po::value(&color)->default_value("auto"), "colour: auto, always or never")
      ("help,h", "show this help");
  po::positional_options_description positional;
  positional.add("rule", 1).add("pack", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: rapport explain " << kSynopsis << "\n\n"
                << "Shows how one rule evaluated for one subject: whether the subject is selected, each let's\n"
                << "value with the records behind it, each part of `when` and of the escalations with its values,\n"
                << "and the finding. Exit 0 when explained (whether or not the rule fires), 2 for usage and rule\n"
                << "errors (an unknown rule or subject included), 3 for data errors.\n\n"
                << desc;
      return kExitClean;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "rapport explain: " << e.what() << "\nusage: rapport explain " << kSynopsis << "\n"
              << "try `rapport explain --help`\n";
    return kExitUsage;
  }
  if (rule_id.empty()) return usage_error("name the rule to explain, then its rule pack");
  // `rapport explain PACK RULE ...` works too: the one positional that is not a path is the rule.
  std::error_code ec;
  if (std::filesystem::exists(rule_id, ec)) {
    std::vector<std::string> not_paths;
    for (const auto& path : options.pack_paths) {
      if (!std::filesystem::exists(path, ec)) not_paths.push_back(path);
    }
    if (not_paths.size() != 1) return usage_error("name the rule to explain first, then its rule packs");
    std::replace(options.pack_paths.begin(), options.pack_paths.end(), not_paths.front(), rule_id);
    rule_id = not_paths.front();
  }
  if (options.pack_paths.empty()) return usage_error("name at least one rule pack (a .rules file or a directory)");
  if (data_dir.empty()) return usage_error("--data DIR is required: the CRM export to explain the rule over");
  if (!vm.count("subject")) return usage_error("--subject is required: the record id (or value) to explain");
  if (records < 0) return usage_error("--records takes a number of records, 0 or more, got " + std::to_string(records));
  if (format != "text" && format != "json") return usage_error("--format must be text or json, got `" + format + "`");
  if (color != "auto" && color != "always" && color != "never") {
    return usage_error("--color must be auto, always or never, got `" + color + "`");
  }
  if (diagnostics != "text" && diagnostics != "json") {
    return usage_error("--diagnostics must be text or json, got `" + diagnostics + "`");
  }
  if (on_bad_record != "fail" && on_bad_record != "skip") {
    return usage_error("--on-bad-record must be fail or skip, got `" + on_bad_record + "`");
  }
  auto as_of = parse_as_of(as_of_text);
  if (!as_of) {
    return usage_error("--as-of takes a date (2026-11-01) or a UTC timestamp (2026-11-01T09:30:00Z), got `" + as_of_text + "`");
  }
  options.data_dir = data_dir;
  options.only_rules = {rule_id};
  options.on_bad_record = on_bad_record == "skip" ? load::BadRecordPolicy::Skip : load::BadRecordPolicy::Fail;

  Pipeline pipeline;
  prepare(options, pipeline);
  if (pipeline.exit_code != kExitClean) {
    print_errors(pipeline.sink, diagnostics, color);
    return pipeline.exit_code;
  }
  auto pack_index = find_rule_pack(pipeline, rule_id);
  if (!pack_index) return kExitUsage;
  packs::ConfiguredPack& configured = pipeline.packs[*pack_index];
  dsl::CompiledRule* rule = nullptr;
  for (auto& r : configured.pack.rules) {
    if (r.id == rule_id) rule = &r;
  }
  // A disabled rule is explained too: load what it needs as if it were enabled.
  bool enabled = rule->enabled;
  rule->enabled = true;
  load_data(options, pipeline);
  print_errors(pipeline.sink, diagnostics, color);
  if (pipeline.exit_code != kExitClean) return pipeline.exit_code;

  engine::ExplainOptions explain_options;
  explain_options.as_of = *as_of;
  explain_options.max_records = static_cast<std::size_t>(records);
  engine::ExplainError error;
  auto explanation =
      engine::explain(configured.pack, configured.params, pipeline.dataset, *rule, subject, explain_options, error);
  if (!explanation) {
    std::cerr << "rapport explain: " << error.message << "\n";
    print_helps(error.helps);
    return kExitUsage;
  }
  explanation->enabled = enabled;
  if (format == "json") std::cout << engine::render_explanation_json(*explanation);
  else std::cout << engine::render_explanation_text(*explanation, color_wanted(color, stdout));
  std::cout << std::flush;
  return kExitClean;
}

}  // namespace rapport::cli
