// The plan solver at scale: a synthetic book shaped like gen_crm.py's (tiers 2/10/25/63 %,
// 5 % unowned, strategic accounts kept, a telesales overflow), with the catalog's three limits
// (count <= 150, strategic <= 5, tier-weighted load <= 150) and two preferences (region, team).
// Args: accounts, managers.
//
// With RAPPORT_PLAN_DATA=DIR (a gen_crm.py export), also the portfolio pack's plan over it, loaded
// once: BM_RunPlan (evaluate the clauses, order by `move first`, solve, describe the moves) and
// BM_RenderPlan/<format> (the report, written nowhere).

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <random>

#include "cli/pipeline.hpp"
#include "engine/plan_solver.hpp"
#include "engine/planner.hpp"
#include "model/time.hpp"

namespace {

using namespace rapport::engine::planning;

Problem synthetic_book(std::size_t accounts, std::size_t managers) {
  std::mt19937_64 rng(42);
  Problem p;
  p.strict = {false, false, false};
  p.preferences = 2;
  const std::size_t overflow = std::max<std::size_t>(1, managers * 15 / 100);
  for (std::size_t t = 0; t < managers + overflow; ++t) {
    Target target;
    target.overflow = t >= managers;
    target.capacity = target.overflow ? std::vector<double>(3, kUnlimited) : std::vector<double>{150, 5, 150};
    target.keys = {t % 5, t / 10};
    p.targets.push_back(target);
  }
  std::uniform_real_distribution<double> unit(0, 1);
  // Managers' books vary: a skewed choice of owner makes some far over their limits.
  std::gamma_distribution<double> size(2.0, 1.0);
  std::vector<double> share(managers);
  double total = 0;
  for (auto& s : share) total += (s = size(rng));
  std::discrete_distribution<std::size_t> owner(share.begin(), share.end());
  for (std::size_t i = 0; i < accounts; ++i) {
    double r = unit(rng);
    int tier = r < 0.02 ? 0 : r < 0.12 ? 1 : r < 0.37 ? 2 : 3;  // strategic, key, growth, standard
    static const double kWeight[] = {8, 4, 2, 1};
    const int current = unit(rng) < 0.05 ? -1 : static_cast<int>(owner(rng));
    const std::uint64_t region = rng() % 5;
    p.add_item(current, tier == 0 && current >= 0, {1, tier == 0 ? 1.0 : 0.0, kWeight[tier]},
               {region, current >= 0 ? static_cast<std::uint64_t>(current) / 10 : kNoKey});
  }
  return p;
}

void BM_PlanSolve(benchmark::State& state) {
  Problem p = synthetic_book(static_cast<std::size_t>(state.range(0)), static_cast<std::size_t>(state.range(1)));
  std::size_t moves = 0;
  for (auto _ : state) {
    Solution s = solve(p);
    moves = s.moves;
    benchmark::DoNotOptimize(s);
  }
  state.counters["moves"] = static_cast<double>(moves);
  state.counters["accounts/s"] = benchmark::Counter(static_cast<double>(state.range(0)) * static_cast<double>(state.iterations()),
                                                   benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PlanSolve)->Args({10'000, 100})->Args({100'000, 1'000})->Args({1'000'000, 10'000})->Unit(benchmark::kMillisecond);

/// The portfolio pack and the export named by RAPPORT_PLAN_DATA, loaded on first use; null without it.
struct PlanData {
  rapport::cli::PipelineOptions options;
  rapport::cli::Pipeline pipeline;
  const rapport::packs::ConfiguredPack* pack = nullptr;
  double as_of = 0;
};

PlanData* plan_data() {
  static std::unique_ptr<PlanData> data = []() -> std::unique_ptr<PlanData> {
    const char* dir = std::getenv("RAPPORT_PLAN_DATA");
    if (!dir) return nullptr;
    auto d = std::make_unique<PlanData>();
    d->options.pack_paths = {RAPPORT_SOURCE_DIR "/rulesets/portfolio"};
    d->options.data_dir = dir;
    d->options.rapport_version = RAPPORT_VERSION;
    d->options.rules = false;
    d->options.plans = {"rebalance_portfolios"};
    rapport::cli::prepare(d->options, d->pipeline);
    if (d->pipeline.exit_code == 0) rapport::cli::load_data(d->options, d->pipeline);
    if (d->pipeline.exit_code != 0 || d->pipeline.packs.empty() || d->pipeline.packs[0].pack.plans.empty()) return nullptr;
    d->pack = &d->pipeline.packs[0];
    d->as_of = *rapport::model::parse_date("2026-11-01");
    return d;
  }();
  return data.get();
}

rapport::engine::PlanResult run_portfolio_plan(PlanData& d) {
  return rapport::engine::run_plan(d.pack->pack, d.pack->pack.plans[0], d.pack->params, d.pipeline.dataset, d.as_of);
}

void BM_RunPlan(benchmark::State& state) {
  PlanData* d = plan_data();
  if (!d) {
    state.SkipWithError("set RAPPORT_PLAN_DATA to a gen_crm.py export to run the plan over it");
    return;
  }
  std::size_t moves = 0;
  for (auto _ : state) {
    auto result = run_portfolio_plan(*d);
    moves = result.moves.size();
    benchmark::DoNotOptimize(result);
  }
  state.counters["moves"] = static_cast<double>(moves);
}
BENCHMARK(BM_RunPlan)->Unit(benchmark::kMillisecond);

/// Arg: 0 text, 1 JSON, 2 CSV.
void BM_RenderPlan(benchmark::State& state) {
  PlanData* d = plan_data();
  if (!d) {
    state.SkipWithError("set RAPPORT_PLAN_DATA to a gen_crm.py export to render its plan");
    return;
  }
  const auto result = run_portfolio_plan(*d);
  rapport::engine::RunInfo info;
  info.rapport_version = RAPPORT_VERSION;
  info.as_of = "2026-11-01T00:00:00Z";
  std::size_t bytes = 0;
  const rapport::engine::ReportWriter count = [&bytes](std::string_view piece) { bytes += piece.size(); };
  for (auto _ : state) {
    bytes = 0;
    if (state.range(0) == 0) rapport::engine::render_plan_text(result, info, false, count);
    else if (state.range(0) == 1) rapport::engine::render_plan_json(result, info, count);
    else rapport::engine::render_plan_csv(result, count);
  }
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
}
BENCHMARK(BM_RenderPlan)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace
