// `rapport test PACK...`: runs each pack's test cases and reports like a test runner.

#include <boost/program_options.hpp>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/pipeline.hpp"
#include "diag/render.hpp"
#include "model/time.hpp"
#include "packs/test_suite.hpp"

namespace rapport::cli {

namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace {

/// "high dunbar_portfolio_limit u1" (+ the message when the expectation names one).
struct Line {
  std::string key;
  std::string message;
  bool operator<(const Line& other) const { return key < other.key; }
};

std::string quoted_json_key(const std::string& name) { return "\"" + diag::json_escape(name) + "\""; }

/// Writes the case's records as <entity>.jsonl, every record carrying every field the rules read
/// (absent keys become null, as the model says); entities with no records become a header-only CSV.
bool write_case_data(const packs::TestCase& test, const std::map<std::string, std::set<std::string>>& needed,
                     const std::string& dir, std::string& error) {
  std::set<std::string> entities;
  for (const auto& [entity, fields] : needed) entities.insert(entity);
  for (const auto& [entity, records] : test.records) entities.insert(entity);
  if (!test.fixtures.empty()) {
    for (const auto& entry : fs::directory_iterator(test.fixtures)) {
      auto ext = entry.path().extension();
      if (ext != ".jsonl" && ext != ".csv") continue;
      std::string entity = entry.path().stem().string();
      if (test.records.count(entity)) {
        error = "fixtures and inline data both give " + entity + "; use one";
        return false;
      }
      fs::copy_file(entry.path(), fs::path(dir) / entry.path().filename());
      entities.erase(entity);
    }
  }
  for (const auto& entity : entities) {
    auto fields_it = needed.find(entity);
    std::set<std::string> fields = fields_it == needed.end() ? std::set<std::string>{} : fields_it->second;
    fields.insert("id");
    auto records_it = test.records.find(entity);
    if (records_it == test.records.end() || records_it->second.empty()) {
      std::ofstream out(fs::path(dir) / (entity + ".csv"));
      bool first = true;
      for (const auto& f : fields) {
        out << (first ? "" : ",") << f;
        first = false;
      }
      out << "\n";
      continue;
    }
    std::ofstream out(fs::path(dir) / (entity + ".jsonl"));
    for (const auto& record : records_it->second) {
      // Add the needed keys the record lacks, as null, before its closing brace.
      std::string line = record;
      std::string extra;
      for (const auto& f : fields) {
        if (line.find(quoted_json_key(f) + ":") == std::string::npos) extra += "," + quoted_json_key(f) + ":null";
      }
      if (!extra.empty()) {
        line.pop_back();
        if (line.size() == 1) extra.erase(0, 1);  // "{" alone: no leading comma
        line += extra + "}";
      }
      out << line << "\n";
    }
  }
  return true;
}

struct CaseOutcome {
  bool passed = false;
  std::string details;  // the diff or the diagnostics, indented
};

CaseOutcome run_case(const std::string& pack_dir, const packs::TestCase& test, const std::vector<std::string>& own_rules,
                     const std::map<std::string, std::set<std::string>>& needed, const std::string& rapport_version) {
  CaseOutcome outcome;
  ScratchFolder scratch;
  std::string error;
  if (scratch.path().empty() || !write_case_data(test, needed, scratch.path(), error)) {
    outcome.details = "      " + (error.empty() ? std::string("cannot create a temporary folder") : error) + "\n";
    return outcome;
  }
  PipelineOptions options;
  options.pack_paths = {pack_dir};
  options.data_dir = scratch.path();
  options.rapport_version = rapport_version;
  options.only_rules = test.rules.empty() ? own_rules : test.rules;
  Pipeline pipeline;
  prepare(options, pipeline);
  if (pipeline.exit_code == kExitClean && !pipeline.manifests.empty()) {
    std::vector<packs::ConfiguredPack*> targets;
    for (std::size_t member : pipeline.manifest_packs.back()) targets.push_back(&pipeline.packs[member]);
    for (const auto& block : test.params) packs::apply_param_block(targets, *block, pipeline.sink);
    if (pipeline.sink.has_errors()) pipeline.exit_code = kExitUsage;
  }
  if (pipeline.exit_code == kExitClean) {
    for (const auto& rule : options.only_rules) {
      bool known = false;
      for (const auto& pack : pipeline.packs) {
        for (const auto& r : pack.pack.rules) known = known || r.id == rule;
      }
      if (!known) {
        outcome.details = "      the pack has no rule `" + rule + "`\n";
        return outcome;
      }
    }
    load_data(options, pipeline);
  }
  if (pipeline.exit_code != kExitClean) {
    std::string text = diag::render_text(pipeline.sink.sorted());
    std::string prefix = scratch.path() + "/";
    for (auto at = text.find(prefix); at != std::string::npos; at = text.find(prefix)) text.replace(at, prefix.size(), "data/");
    outcome.details = "      the case could not run:\n";
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) outcome.details += "        " + line + "\n";
    return outcome;
  }
  engine::EvalOptions eval;
  eval.as_of = *model::parse_date_or_timestamp(test.as_of);
  eval.only_rules = options.only_rules;
  engine::EvalResult result = evaluate_all(pipeline, eval);

  std::string single_rule = options.only_rules.size() == 1 ? options.only_rules.front() : "";
  std::vector<Line> expected;
  bool want_messages = false;
  for (const auto& e : test.expect) {
    std::string rule = e.rule.empty() ? single_rule : e.rule;
    expected.push_back({e.severity + " " + rule + " " + e.subject, e.message.value_or("")});
    want_messages = want_messages || e.message.has_value();
  }
  std::vector<Line> actual;
  for (const auto& f : result.findings) {
    actual.push_back({std::string(dsl::severity_name(f.severity)) + " " + f.rule + " " + f.subject_id, f.message.str()});
  }
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  std::string diff;
  std::size_t i = 0, j = 0;
  while (i < expected.size() || j < actual.size()) {
    if (j == actual.size() || (i < expected.size() && expected[i].key < actual[j].key)) {
      diff += "        - " + expected[i].key + (expected[i].message.empty() ? "" : "  \"" + expected[i].message + "\"") + "\n";
      ++i;
    } else if (i == expected.size() || actual[j].key < expected[i].key) {
      diff += "        + " + actual[j].key + "  \"" + actual[j].message + "\"\n";
      ++j;
    } else {
      if (!expected[i].message.empty() && expected[i].message != actual[j].message) {
        diff += "        ~ " + expected[i].key + "\n          expected message: \"" + expected[i].message +
                "\"\n          actual message:   \"" + actual[j].message + "\"\n";
      }
      ++i, ++j;
    }
  }
  (void)want_messages;
  outcome.passed = diff.empty();
  if (!outcome.passed) {
    outcome.details = "      findings differ (- expected but missing, + not expected, ~ message differs):\n" + diff;
  }
  return outcome;
}

}  // namespace

int command_test(const std::vector<std::string>& args) {
  std::vector<std::string> pack_paths;
  std::string filter;
  std::string color = "auto";
  po::options_description desc("options");
  desc.add_options()
      ("pack", po::value(&pack_paths)->multitoken(), "pack folder (repeatable; also positional)")
      ("filter", po::value(&filter), "run only cases whose name contains this text")
      ("color", po::value(&color)->default_value("auto"), "colour: auto, always or never")
      ("help,h", "show this help");
  po::positional_options_description positional;
  positional.add("pack", -1);
  po::variables_map vm;
  const char* synopsis = "PACK... [--filter TEXT]";
  try {
    po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: rapport test " << synopsis << "\n\nRuns the test cases of each pack folder (docs/packs.md).\n\n" << desc;
      return kExitClean;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "rapport test: " << e.what() << "\nusage: rapport test " << synopsis << "\n";
    return kExitUsage;
  }
  if (pack_paths.empty()) {
    std::cerr << "rapport test: name at least one pack folder\nusage: rapport test " << synopsis << "\n";
    return kExitUsage;
  }
  bool use_color = color == "always" || (color == "auto" && ::isatty(::fileno(stdout)) && !std::getenv("NO_COLOR"));
  const char* green = use_color ? "\033[32m" : "";
  const char* red = use_color ? "\033[31m" : "";
  const char* reset = use_color ? "\033[0m" : "";

  std::size_t passed = 0, failed = 0;
  bool invalid = false;
  for (const auto& pack_dir : pack_paths) {
    if (!packs::is_pack_folder(pack_dir)) {
      std::cerr << "rapport test: " << pack_dir << " is not a pack folder (no pack.yaml)\n";
      invalid = true;
      continue;
    }
    // Compile once without data to learn the pack's rules and the fields they read.
    PipelineOptions options;
    options.pack_paths = {pack_dir};
    options.rapport_version = RAPPORT_VERSION;
    Pipeline pipeline;
    prepare(options, pipeline);
    if (pipeline.exit_code != kExitClean) {
      std::cerr << diag::render_text(pipeline.sink.sorted());
      invalid = true;
      continue;
    }
    const packs::Manifest& manifest = pipeline.manifests.back();
    std::vector<std::string> own_rules;
    std::map<std::string, std::set<std::string>> needed;
    for (std::size_t member : pipeline.manifest_packs.back()) {
      const auto& pack = pipeline.packs[member].pack;
      for (const auto& use : pack.field_uses) needed[use.entity].insert(use.field);
      if (pipeline.pack_manifest[member] == static_cast<int>(pipeline.manifests.size()) - 1) {
        for (const auto& rule : pack.rules) own_rules.push_back(rule.id);
      }
    }
    std::cout << manifest.name << "@" << manifest.version << "  (" << pack_dir << ")\n";
    auto test_files = packs::find_test_files(manifest.test_paths);
    if (test_files.empty()) std::cout << "  no tests\n";
    for (const auto& path : test_files) {
      diag::DiagnosticSink sink;
      auto test_file = packs::load_test_file(path, sink);
      std::cout << "  " << fs::path(path).lexically_relative(pack_dir).string() << "\n";
      if (!test_file) {
        std::cerr << diag::render_text(sink.sorted());
        std::cout << "    " << red << "INVALID" << reset << " (see the errors above)\n";
        invalid = true;
        ++failed;
        continue;
      }
      for (const auto& test : test_file->cases) {
        if (!filter.empty() && test.name.find(filter) == std::string::npos) continue;
        CaseOutcome outcome = run_case(pack_dir, test, own_rules, needed, RAPPORT_VERSION);
        auto line = test_file->file->position(test.span.begin).line;
        if (outcome.passed) {
          ++passed;
          std::cout << "    " << green << "PASS" << reset << "  " << test.name << "\n";
        } else {
          ++failed;
          std::cout << "    " << red << "FAIL" << reset << "  " << test.name << "  (" << path << ":" << line << ")\n"
                    << outcome.details;
        }
      }
    }
  }
  std::cout << passed << " passed, " << failed << " failed\n";
  if (failed) return kExitFindings;
  return invalid ? kExitUsage : kExitClean;
}

}  // namespace rapport::cli
