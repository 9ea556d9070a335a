// Golden evaluation cases: tests/golden/eval/<case>/ holds `pack.rules` (or several .rules files),
// `data/` (small JSONL or CSV files), an optional `args` file (one option per line: `as-of DATE`,
// `set name=value`, `params FILE`, `on-bad-record skip`) and `expected.txt`: the findings with
// their severities, subjects, messages, remedies and evidence, or the diagnostics when the run
// stops. The whole pipeline runs in-process, as `rapport check` runs it; and again over the data
// loaded as the other commands load it (not compacted), which must give the same.

#include <sstream>

#include "cli/pipeline.hpp"
#include "diag/render.hpp"
#include "golden/golden_support.hpp"
#include "model/time.hpp"

namespace rapport {
namespace {

namespace fs = std::filesystem;

std::string render_findings(const engine::EvalResult& result) {
  std::string out;
  for (const auto& f : result.findings) {
    out += std::string(dsl::severity_name(f.severity)) + " " + f.rule + " " + f.subject_entity + "/" + f.subject_id + "\n";
    out += "  message: " + f.message + "\n";
    if (!f.remedy.empty()) out += "  remedy: " + f.remedy + "\n";
    if (!f.evidence.empty()) {
      out += "  evidence:";
      for (const auto e : f.evidence) out += " " + std::string(e.name) + "=" + std::string(e.json);
      out += "\n";
    }
  }
  out += "-- " + std::to_string(result.findings.size()) + " finding(s)\n";
  for (const auto& r : result.rules) {
    out += "rule " + r.rule + ": subjects=" + std::to_string(r.subjects) + " findings=" + std::to_string(r.findings) +
           " unknown=" + std::to_string(r.unknown) + (r.enabled ? "" : " (disabled)") + "\n";
  }
  return out;
}

class EvalGolden : public ::testing::TestWithParam<std::string> {};

/// The case's diagnostics and findings, the data loaded as `rapport check` loads it (compacted,
/// ids that only label rows front-coded) or as kept for edits and explanations.
std::string run_case(const fs::path& dir, bool compact_data) {
  cli::PipelineOptions options;
  options.compact_data = compact_data;
  options.pack_paths = {dir.string()};
  options.data_dir = (dir / "data").string();
  options.rapport_version = RAPPORT_VERSION;
  double as_of = *model::parse_date("2026-11-01");
  if (fs::exists(dir / "args")) {
    std::istringstream lines(testing::read_text(dir / "args"));
    std::string line;
    while (std::getline(lines, line)) {
      auto space = line.find(' ');
      if (line.empty() || line[0] == '#' || space == std::string::npos) continue;
      std::string key = line.substr(0, space), value = line.substr(space + 1);
      if (key == "as-of") as_of = *model::parse_date_or_timestamp(value);
      else if (key == "set") options.sets.push_back(value);
      else if (key == "params") options.param_files.push_back((dir / value).string());
      else if (key == "on-bad-record") options.on_bad_record = value == "skip" ? load::BadRecordPolicy::Skip : load::BadRecordPolicy::Fail;
    }
  }
  cli::Pipeline pipeline;
  cli::prepare(options, pipeline);
  if (pipeline.exit_code == cli::kExitClean) cli::load_data(options, pipeline);
  std::string actual;
  // Paths in diagnostics are made relative so the expectations don't depend on the checkout.
  auto diagnostics = pipeline.sink.sorted();
  std::string rendered = diag::render_text(diagnostics);
  std::string prefix = dir.string() + "/";
  for (auto at = rendered.find(prefix); at != std::string::npos; at = rendered.find(prefix)) rendered.erase(at, prefix.size());
  actual += rendered;
  if (pipeline.exit_code == cli::kExitClean) {
    engine::EvalOptions eval;
    eval.as_of = as_of;
    actual += render_findings(cli::evaluate_all(pipeline, eval));
  } else {
    actual += "-- stopped with exit code " + std::to_string(pipeline.exit_code) + "\n";
  }
  return actual;
}

TEST_P(EvalGolden, FindingsMatch) {
  fs::path dir = fs::path(RAPPORT_TEST_DATA) / "golden" / "eval" / GetParam();
  const std::string actual = run_case(dir, true);
  testing::expect_golden(dir / "expected.txt", actual);
  EXPECT_EQ(run_case(dir, false), actual) << "the data loaded without compacting gives other findings";
}

INSTANTIATE_TEST_SUITE_P(Cases, EvalGolden, ::testing::ValuesIn(testing::golden_cases("eval", "", true)),
                         testing::test_name);

}  // namespace
}  // namespace rapport
