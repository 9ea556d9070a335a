// Micro-benchmarks of the stages: parsing and checking the shipped packs, loading the example
// export, and evaluating every shipped rule over it. End-to-end numbers at scale come from
// `rapport check --timings` over gen_crm.py data (see the README's performance notes).

#include <benchmark/benchmark.h>

#include "cli/pipeline.hpp"
#include "diag/diagnostic.hpp"
#include "dsl/check.hpp"
#include "dsl/parser.hpp"
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

}  // namespace
}  // namespace rapport

BENCHMARK_MAIN();
