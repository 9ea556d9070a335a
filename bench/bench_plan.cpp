// The plan solver at scale: a synthetic book shaped like gen_crm.py's (tiers 2/10/25/63 %,
// 5 % unowned, strategic accounts kept, a telesales overflow), with the catalog's three limits
// (count <= 150, strategic <= 5, tier-weighted load <= 150) and two preferences (region, team).
// Args: accounts, managers.

#include <benchmark/benchmark.h>

#include <random>

#include "engine/plan_solver.hpp"

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
    Item item;
    double r = unit(rng);
    int tier = r < 0.02 ? 0 : r < 0.12 ? 1 : r < 0.37 ? 2 : 3;  // strategic, key, growth, standard
    static const double kWeight[] = {8, 4, 2, 1};
    item.weight = {1, tier == 0 ? 1.0 : 0.0, kWeight[tier]};
    item.current = unit(rng) < 0.05 ? -1 : static_cast<int>(owner(rng));
    item.fixed = tier == 0 && item.current >= 0;
    const std::uint64_t region = rng() % 5;
    item.keys = {region, item.current >= 0 ? static_cast<std::uint64_t>(item.current) / 10 : kNoKey};
    p.items.push_back(std::move(item));
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

}  // namespace
