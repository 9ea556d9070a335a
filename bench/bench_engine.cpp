// Micro-benchmarks of the stages: parsing and checking the shipped packs, loading the example
// export (also in bytes a second, and on one thread next to simdjson's own walk over the same
// files, the floor a JSONL loader built on it cannot go below), evaluating every shipped rule
// over it (together, and each rule on its own: BM_Rule/<id>), and the evaluator on correlated
// filters over a shared set at growing sizes, with and without its shared-set shortcuts. End-to-end numbers at scale come from
// bench/e2e.py (docs/performance.md).

#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <unistd.h>

#include "cli/pipeline.hpp"
#include "diag/diagnostic.hpp"
#include "dsl/check.hpp"
#include "dsl/parser.hpp"
#include "engine/findings.hpp"
#include "model/time.hpp"

namespace rapport {
namespace {

const std::vector<std::string> kPacks = {
    RAPPORT_SOURCE_DIR "/rulesets/portfolio", RAPPORT_SOURCE_DIR "/rulesets/relationships",
    RAPPORT_SOURCE_DIR "/rulesets/service-gaps", RAPPORT_SOURCE_DIR "/rulesets/service-operations"};

void BM_ParseAndCheckShippedPacks(benchmark::State& state) {
  for (auto _ : state) {
    cli::PipelineOptions options;
    options.pack_paths = kPacks;
    options.rapport_version = RAPPORT_VERSION;
    cli::Pipeline pipeline;
    cli::prepare(options, pipeline);
    benchmark::DoNotOptimize(pipeline.packs.size());
  }
}
BENCHMARK(BM_ParseAndCheckShippedPacks)->Unit(benchmark::kMillisecond);

void BM_LoadAndEvaluateExamples(benchmark::State& state) {
  for (auto _ : state) {
    cli::PipelineOptions options;
    options.pack_paths = kPacks;
    options.data_dir = RAPPORT_SOURCE_DIR "/examples/data";
    options.rapport_version = RAPPORT_VERSION;
    cli::Pipeline pipeline;
    cli::prepare(options, pipeline);
    cli::load_data(options, pipeline);
    engine::EvalOptions eval;
    eval.as_of = *model::parse_date("2026-11-01");
    auto result = cli::evaluate_all(pipeline, eval);
    benchmark::DoNotOptimize(result.findings.size());
  }
}
BENCHMARK(BM_LoadAndEvaluateExamples)->Unit(benchmark::kMillisecond);

/// The shipped packs prepared over the example export, loaded once for the per-rule benchmarks.
/// RAPPORT_BENCH_DATA names another data folder (a generated book: one rule at a time at scale,
/// on one thread, e.g. `RAPPORT_BENCH_DATA=/tmp/crm100k rapport_bench --benchmark_filter=BM_Rule`).
struct LoadedExamples {
  cli::PipelineOptions options;
  cli::Pipeline pipeline;
  double as_of = *model::parse_date("2026-11-01");
  LoadedExamples() {
    options.pack_paths = kPacks;
    const char* data = std::getenv("RAPPORT_BENCH_DATA");
    options.data_dir = data && *data ? data : RAPPORT_SOURCE_DIR "/examples/data";
    options.rapport_version = RAPPORT_VERSION;
    cli::prepare(options, pipeline);
    cli::load_data(options, pipeline);
  }
};

LoadedExamples& examples() {
  static LoadedExamples loaded;
  return loaded;
}

// Loading alone, in bytes a second: every field the shipped packs read from the example export
// (or RAPPORT_BENCH_DATA), with `threads` parsing threads (0: one per core).
void load_per_mb(benchmark::State& state, unsigned threads) {
  std::int64_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(*examples().options.data_dir)) {
    bytes += static_cast<std::int64_t>(entry.file_size());
  }
  for (auto _ : state) {
    state.PauseTiming();
    cli::PipelineOptions options = examples().options;
    options.load_threads = threads;
    cli::Pipeline pipeline;
    cli::prepare(options, pipeline);
    state.ResumeTiming();
    cli::load_data(options, pipeline);
    benchmark::DoNotOptimize(pipeline.stats.records);
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}

void BM_LoadExamplesPerMB(benchmark::State& state) { load_per_mb(state, 0); }
BENCHMARK(BM_LoadExamplesPerMB)->UseRealTime()->Unit(benchmark::kMillisecond);  // the loader is multi-threaded

// One parsing thread (the merge runs beside it), to set against BM_JsonWalkFloorPerMB in one run:
// the host's speed drifts between runs, the ratio doesn't.
void BM_LoadOneThreadPerMB(benchmark::State& state) { load_per_mb(state, 1); }
BENCHMARK(BM_LoadOneThreadPerMB)->UseRealTime()->Unit(benchmark::kMillisecond);

// simdjson's On-Demand walk over every field of every JSONL file of the data folder, on one
// thread, as the loader reads them (document streams over 4 MiB slices cut at line ends, the raw
// token of every scalar and list item), with none of Rapport's own work: the floor for
// BM_LoadOneThreadPerMB, which also reads the CSV files and keeps what it reads. The files are
// read into memory before timing.
void BM_JsonWalkFloorPerMB(benchmark::State& state) {
  namespace od = simdjson::ondemand;
  std::vector<simdjson::padded_string> files;
  std::int64_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(*examples().options.data_dir)) {
    if (entry.path().extension() != ".jsonl") continue;
    simdjson::padded_string text;
    if (simdjson::padded_string::load(entry.path().string()).get(text)) {
      state.SkipWithError("a JSONL file of the data folder did not read");
      return;
    }
    bytes += static_cast<std::int64_t>(text.size());
    files.push_back(std::move(text));
  }
  constexpr std::size_t kSlice = std::size_t{4} << 20;
  od::parser parser;
  std::size_t tokens = 0;
  for (auto _ : state) {
    for (const auto& file : files) {
      for (std::size_t at = 0; at < file.size();) {
        std::size_t end = std::min(file.size(), at + kSlice);
        while (end < file.size() && file.data()[end - 1] != '\n') ++end;
        od::document_stream stream;
        if (parser.iterate_many(file.data() + at, end - at, std::size_t{1} << 20).get(stream)) {
          state.SkipWithError("simdjson refused a slice");
          return;
        }
        for (auto record : stream) {
          od::object object;
          if (record.get_object().get(object)) continue;
          for (auto field : object) {
            od::value value;
            if (field.value().get(value)) break;
            od::json_type type{};
            if (value.type().get(type)) break;
            if (type == od::json_type::array) {
              for (auto item : value.get_array()) tokens += item.raw_json_token().value_unsafe().size();
            } else {
              tokens += value.raw_json_token().size();
            }
          }
        }
        at = end;
      }
    }
    benchmark::DoNotOptimize(tokens);
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_JsonWalkFloorPerMB)->UseRealTime()->Unit(benchmark::kMillisecond);

// Each shipped rule on its own over the loaded example export (registered in main, one per rule).
void evaluate_one_rule(benchmark::State& state, std::size_t pack, std::string rule) {
  LoadedExamples& loaded = examples();
  engine::EvalOptions eval;
  eval.as_of = loaded.as_of;
  eval.only_rules = {rule};
  const auto& configured = loaded.pipeline.packs[pack];
  std::size_t findings = 0;
  for (auto _ : state) {
    auto result = engine::evaluate(configured.pack, configured.params, loaded.pipeline.dataset, eval);
    findings = result.findings.size();
    benchmark::DoNotOptimize(findings);
  }
  state.counters["findings"] = static_cast<double>(findings);
}

// Correlated filters over a set every subject shares, the shape of service_quality_heterogeneity:
// per unit, the people with enough rated cases and their average CSAT, where `rated_cases` is a
// let and each person's cases are `rated_cases where assignee_id = p.id`. With the shared-set
// shortcuts the time grows with people + cases; the scan (shortcuts off) grows with
// people x cases.
constexpr const char* kCorrelatedRules = R"(pack correlated
  version "0.1.0"
rule quality_spread
  title    "Quality spread per unit"
  severity medium
  for each unit in distinct(team of users where active)
  let staff        = users where active
  let members      = staff where team = unit
  let rated_cases  = cases where csat is not missing
  let rated_people = members as p where count(rated_cases where assignee_id = p.id) >= 3
  let averages     = avg(csat of rated_cases where assignee_id = q.id) of rated_people as q
  when count(rated_people) >= 2 and spread(averages) > 1
  message "{unit}: {spread(averages)}"
end
)";

/// A loaded dataset of `people` users in teams of 10 and 20 cases per person (every 7th unrated;
/// averages differ within every team, so every unit is a finding), with the pack above; built
/// once per size and kept for the whole benchmark run.
struct CorrelatedFixture {
  std::filesystem::path dir;
  cli::Pipeline pipeline;
};

CorrelatedFixture& correlated_fixture(int people) {
  static std::map<int, std::unique_ptr<CorrelatedFixture>> fixtures;
  auto& fixture = fixtures[people];
  if (fixture) return *fixture;
  fixture = std::make_unique<CorrelatedFixture>();
  fixture->dir = std::filesystem::temp_directory_path() /
                 ("rapport_bench_correlated_" + std::to_string(::getpid()) + "_" + std::to_string(people));
  std::filesystem::create_directories(fixture->dir / "data");
  std::ofstream(fixture->dir / "correlated.rules") << kCorrelatedRules;
  {
    std::ofstream users(fixture->dir / "data" / "users.jsonl");
    for (int u = 0; u < people; ++u) {
      users << R"({"id":"u)" << u << R"(","name":"User )" << u << R"(","team":"t)" << u / 10 << R"(","active":true})" << "\n";
    }
    std::ofstream cases(fixture->dir / "data" / "cases.jsonl");
    for (int c = 0; c < people * 20; ++c) {
      int assignee = (c * 7919) % people;
      cases << R"({"id":"c)" << c << R"(","assignee_id":"u)" << assignee << R"(","csat":)";
      if (c % 7 == 0) cases << "null}\n";
      else cases << 1 + (assignee + c % 2) % 5 << "}\n";  // each person's average is their own
    }
  }
  cli::PipelineOptions options;
  options.pack_paths = {(fixture->dir / "correlated.rules").string()};
  options.data_dir = (fixture->dir / "data").string();
  options.rapport_version = RAPPORT_VERSION;
  cli::prepare(options, fixture->pipeline);
  cli::load_data(options, fixture->pipeline);
  std::filesystem::remove_all(fixture->dir);
  return *fixture;
}

void evaluate_correlated(benchmark::State& state, bool shortcuts) {
  const int people = static_cast<int>(state.range(0));
  CorrelatedFixture& fixture = correlated_fixture(people);
  if (fixture.pipeline.exit_code != cli::kExitClean) {
    state.SkipWithError("the correlated pack or its data did not load");
    return;
  }
  engine::EvalOptions eval;
  eval.as_of = *model::parse_date("2026-11-01");
  eval.shared_set_shortcuts = shortcuts;
  std::size_t findings = 0;
  for (auto _ : state) {
    auto result = cli::evaluate_all(fixture.pipeline, eval);
    findings = result.findings.size();
    benchmark::DoNotOptimize(findings);
  }
  state.counters["cases"] = people * 20.0;
  state.counters["findings"] = static_cast<double>(findings);
  state.SetComplexityN(people);
}

void BM_CorrelatedFilterIndexed(benchmark::State& state) { evaluate_correlated(state, true); }
BENCHMARK(BM_CorrelatedFilterIndexed)->RangeMultiplier(4)->Range(256, 16384)->Complexity()->Unit(benchmark::kMillisecond);

void BM_CorrelatedFilterScan(benchmark::State& state) { evaluate_correlated(state, false); }
BENCHMARK(BM_CorrelatedFilterScan)->RangeMultiplier(4)->Range(256, 4096)->Complexity()->Unit(benchmark::kMillisecond);

// Putting a check's findings in report order (engine::sort_findings over the rules' batches), as
// evaluate_all does at the end: 17 rules' findings in batches of 4,096, subjects in id order within
// a rule (as rules find them), one finding in 50 escalated to another severity. At a million
// findings this ran on one thread after the rules, before the report.
void BM_SortFindings(benchmark::State& state) {
  const auto count = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kRules = 17, kBatch = 4096;
  std::size_t sorted = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::vector<engine::Finding>> batches;
    for (std::size_t r = 0; r < kRules; ++r) {
      const std::size_t per_rule = count / kRules;
      for (std::size_t i = 0; i < per_rule; ++i) {
        if (i % kBatch == 0) batches.emplace_back().reserve(kBatch);
        engine::Finding f;
        f.pack = "pack";
        f.rule = "rule_" + std::to_string(r);
        f.severity = static_cast<dsl::Severity>(i % 50 == 0 ? 4 : 1 + r % 3);
        char id[32];
        std::snprintf(id, sizeof id, "acc-%08zu", i);
        f.subject_id = id;
        batches.back().push_back(std::move(f));
      }
    }
    state.ResumeTiming();
    std::vector<engine::Finding> findings = engine::sort_findings(batches);
    sorted = findings.size();
    state.PauseTiming();
    std::vector<engine::Finding>().swap(findings);  // freed outside the timing
    state.ResumeTiming();
  }
  state.counters["findings"] = static_cast<double>(sorted);
}
BENCHMARK(BM_SortFindings)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);

}  // namespace

/// BM_Rule/<rule id>: one benchmark per rule of the shipped packs.
void register_rule_benchmarks() {
  const auto& packs = examples().pipeline.packs;
  for (std::size_t p = 0; p < packs.size(); ++p) {
    for (const auto& rule : packs[p].pack.rules) {
      benchmark::RegisterBenchmark(("BM_Rule/" + rule.id).c_str(), evaluate_one_rule, p, rule.id)
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace rapport

int main(int argc, char** argv) {
  rapport::register_rule_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
