// The plan solver against an exact solver (brute force over every assignment) on many random
// small instances: every limit holds, and the number of moves is the fewest possible. Also the
// stable radix sort that puts a plan's items in `move first` order.

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>

#include "engine/plan_solver.hpp"
#include "engine/radix_sort.hpp"

namespace rapport::engine::planning {
namespace {

/// The bound each target must meet: its capacity, or its kept items' load when they alone break it.
std::vector<std::vector<std::pair<double, bool>>> bounds_of(const Problem& p) {
  const std::size_t dims = p.strict.size();
  std::vector<std::vector<double>> fixed(p.targets.size(), std::vector<double>(dims, 0));
  for (std::size_t i = 0; i < p.items.size(); ++i) {
    const Item& item = p.items[i];
    if (item.fixed && item.current >= 0) {
      for (std::size_t l = 0; l < dims; ++l) fixed[item.current][l] += p.weight(i)[l];
    }
  }
  std::vector<std::vector<std::pair<double, bool>>> bounds(p.targets.size());
  for (std::size_t t = 0; t < p.targets.size(); ++t) {
    for (std::size_t l = 0; l < dims; ++l) {
      double cap = p.targets[t].overflow ? kUnlimited : p.targets[t].capacity[l];
      bool strict = p.strict[l];
      if (!within(fixed[t][l], cap, strict)) {
        cap = fixed[t][l];
        strict = false;
      }
      bounds[t].emplace_back(cap, strict);
    }
  }
  return bounds;
}

bool assignment_holds(const Problem& p, const std::vector<int>& where) {
  const std::size_t dims = p.strict.size();
  auto bounds = bounds_of(p);
  std::vector<std::vector<double>> load(p.targets.size(), std::vector<double>(dims, 0));
  for (std::size_t i = 0; i < p.items.size(); ++i) {
    if (where[i] < 0) continue;
    for (std::size_t l = 0; l < dims; ++l) load[where[i]][l] += p.weight(i)[l];
  }
  for (std::size_t t = 0; t < p.targets.size(); ++t) {
    for (std::size_t l = 0; l < dims; ++l) {
      if (!within(load[t][l], bounds[t][l].first, bounds[t][l].second)) return false;
    }
  }
  return true;
}

/// The fewest moves over every assignment that meets every bound, placing every item that has
/// no target; -1 when there is none.
long exact_fewest_moves(const Problem& p) {
  const std::size_t n = p.items.size();
  std::vector<int> where(n);
  long best = -1;
  std::function<void(std::size_t, long)> visit = [&](std::size_t i, long moves) {
    if (best >= 0 && moves >= best) return;
    if (i == n) {
      if (assignment_holds(p, where)) best = moves;
      return;
    }
    const Item& item = p.items[i];
    if (item.fixed) {
      where[i] = item.current;
      visit(i + 1, moves);
      return;
    }
    if (item.current >= 0) {
      where[i] = item.current;  // staying costs nothing: try it first
      visit(i + 1, moves);
    }
    for (int t = 0; t < static_cast<int>(p.targets.size()); ++t) {
      if (t == item.current) continue;
      where[i] = t;
      visit(i + 1, moves + 1);
    }
  };
  visit(0, 0);
  return best;
}

Problem random_problem(std::mt19937& rng, bool with_overflow) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Problem p;
  const int dims = pick(1, 3);
  for (int l = 0; l < dims; ++l) p.strict.push_back(pick(0, 4) == 0);
  p.preferences = static_cast<std::size_t>(pick(0, 2));
  const int targets = pick(1, 3);
  for (int t = 0; t < targets; ++t) {
    Target target;
    for (int l = 0; l < dims; ++l) target.capacity.push_back(pick(0, 7));
    for (std::size_t j = 0; j < p.preferences; ++j) target.keys.push_back(static_cast<std::uint64_t>(pick(0, 1)));
    p.targets.push_back(target);
  }
  if (with_overflow) {
    Target overflow;
    overflow.overflow = true;
    overflow.capacity.assign(dims, kUnlimited);
    overflow.keys.assign(p.preferences, 0);
    p.targets.push_back(overflow);
  }
  const int items = pick(1, 7);
  for (int i = 0; i < items; ++i) {
    const int current = pick(-1, targets - 1);
    const bool fixed = current >= 0 && pick(0, 5) == 0;
    std::vector<double> weight;
    for (int l = 0; l < dims; ++l) weight.push_back(pick(0, 3));
    std::vector<std::uint64_t> keys;
    for (std::size_t j = 0; j < p.preferences; ++j) keys.push_back(pick(0, 2) == 2 ? kNoKey : static_cast<std::uint64_t>(pick(0, 1)));
    p.add_item(current, fixed, weight, keys);
  }
  return p;
}

std::vector<int> final_targets(const Solution& s) {
  std::vector<int> where;
  for (const auto& placement : s.items) where.push_back(placement.target);
  return where;
}

TEST(PlanSolver, FewestMovesEqualTheExactSolverWithAnOverflow) {
  std::mt19937 rng(20261122);
  for (int round = 0; round < 3000; ++round) {
    Problem p = random_problem(rng, true);
    Solution s = solve(p);
    long exact = exact_fewest_moves(p);
    ASSERT_GE(exact, 0) << "round " << round;  // the overflow always has room
    EXPECT_TRUE(s.minimal);
    EXPECT_EQ(static_cast<long>(s.moves), exact) << "round " << round;
    EXPECT_TRUE(assignment_holds(p, final_targets(s))) << "round " << round;
    for (const auto& placement : s.items) EXPECT_FALSE(placement.unplaced);
  }
}

TEST(PlanSolver, WithoutAnOverflowEveryPlacedPlanIsMinimalAndHolds) {
  std::mt19937 rng(7);
  int feasible = 0, placed_all = 0;
  for (int round = 0; round < 3000; ++round) {
    Problem p = random_problem(rng, false);
    Solution s = solve(p);
    long exact = exact_fewest_moves(p);
    bool any_unplaced = std::any_of(s.items.begin(), s.items.end(), [](const Placement& x) { return x.unplaced; });
    if (exact >= 0) ++feasible;
    if (!any_unplaced) {
      ++placed_all;
      ASSERT_GE(exact, 0) << "round " << round;
      EXPECT_EQ(static_cast<long>(s.moves), exact) << "round " << round;
      EXPECT_TRUE(assignment_holds(p, final_targets(s))) << "round " << round;
    } else {
      // What found no room stays where it was: nothing is moved without a destination.
      for (std::size_t i = 0; i < s.items.size(); ++i) {
        if (s.items[i].unplaced) {
          EXPECT_FALSE(s.items[i].moved);
          EXPECT_EQ(s.items[i].target, p.items[i].current);
        }
      }
    }
  }
  // Placement is greedy (packing under several limits is NP-hard): it may leave an item
  // unplaced where a clever packing exists, but rarely on these instances.
  EXPECT_GE(placed_all, feasible * 95 / 100) << placed_all << " of " << feasible << " feasible instances fully placed";
}

TEST(PlanSolver, TheSameProblemGivesTheSamePlan) {
  std::mt19937 rng(99);
  for (int round = 0; round < 200; ++round) {
    Problem p = random_problem(rng, round % 2 == 0);
    Solution a = solve(p);
    Solution b = solve(p);
    EXPECT_EQ(final_targets(a), final_targets(b));
  }
}

/// Placement as docs/plans.md states it, one item at a time over every target (under the bounds
/// the solver meets, bounds_of): items without a target, the last in `move first` order first,
/// each to the target with room that meets the most
/// important preferences, then has the lowest load (the highest share of any bound), then comes
/// first; else to the overflow that meets the preferences best, then has the fewest items.
std::vector<int> reference_placement(const Problem& p) {
  const std::size_t dims = p.limits();
  const auto bounds = bounds_of(p);
  std::vector<std::vector<double>> load(p.targets.size(), std::vector<double>(dims, 0));
  std::vector<std::size_t> count(p.targets.size(), 0);
  auto share = [&](std::size_t t) {
    double u = 0;
    for (std::size_t l = 0; l < dims; ++l) {
      const double cap = bounds[t][l].first;
      if (cap == kUnlimited) continue;
      u = std::max(u, cap > 0 ? load[t][l] / cap : (load[t][l] > 0 ? kUnlimited : 0));
    }
    return dims == 0 ? static_cast<double>(count[t]) : u;
  };
  auto score = [&](std::size_t t, std::size_t i) {
    std::uint32_t s = 0;
    for (std::size_t j = 0; j < p.preferences; ++j) {
      const std::uint64_t key = p.item_keys(i)[j];
      if (key != kNoKey && p.targets[t].keys[j] == key) s |= 1u << (p.preferences - 1 - j);
    }
    return s;
  };
  std::vector<int> where(p.items.size(), -1);
  for (std::size_t i = p.items.size(); i-- > 0;) {
    int best = -1;
    for (std::size_t t = 0; t < p.targets.size(); ++t) {
      if (p.targets[t].overflow) continue;
      bool fits = true;
      for (std::size_t l = 0; l < dims; ++l) fits = fits && within(load[t][l] + p.weight(i)[l], bounds[t][l].first, bounds[t][l].second);
      if (!fits) continue;
      if (best < 0 || score(t, i) > score(best, i) || (score(t, i) == score(best, i) && share(t) < share(best))) best = static_cast<int>(t);
    }
    for (std::size_t t = 0; best < 0 && t < p.targets.size(); ++t) {
      if (!p.targets[t].overflow) continue;
      int o = static_cast<int>(t);
      for (std::size_t u = t + 1; u < p.targets.size(); ++u) {
        if (!p.targets[u].overflow) continue;
        if (score(u, i) > score(o, i) || (score(u, i) == score(o, i) && count[u] < count[o])) o = static_cast<int>(u);
      }
      best = o;
    }
    if (best < 0) continue;
    where[i] = best;
    ++count[best];
    for (std::size_t l = 0; l < dims; ++l) load[best][l] += p.weight(i)[l];
  }
  return where;
}

TEST(PlanSolver, PlacementMatchesTheStatedRuleWithFewOrManyWeightClasses) {
  // Items without an owner are placed one by one: the index behind placement (per class of
  // weight vector, and one shared class past 64 of them) must choose as the stated rule does.
  std::mt19937 rng(31);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int round = 0; round < 300; ++round) {
    const bool many_classes = round % 2 == 1;
    Problem p;
    const int dims = pick(1, 3);
    for (int l = 0; l < dims; ++l) p.strict.push_back(pick(0, 3) == 0);
    p.preferences = static_cast<std::size_t>(pick(0, 2));
    const int targets = pick(1, 8);
    for (int t = 0; t < targets; ++t) {
      Target target;
      for (int l = 0; l < dims; ++l) target.capacity.push_back(pick(0, 5) == 0 ? kUnlimited : pick(0, 40));
      for (std::size_t j = 0; j < p.preferences; ++j) target.keys.push_back(static_cast<std::uint64_t>(pick(0, 2)));
      p.targets.push_back(target);
    }
    for (int o = pick(0, 2); o > 0; --o) {
      Target overflow;
      overflow.overflow = true;
      overflow.capacity.assign(dims, kUnlimited);
      for (std::size_t j = 0; j < p.preferences; ++j) overflow.keys.push_back(static_cast<std::uint64_t>(pick(0, 2)));
      p.targets.push_back(overflow);
    }
    const int items = pick(1, 150);
    for (int i = 0; i < items; ++i) {
      std::vector<double> weight;
      for (int l = 0; l < dims; ++l) weight.push_back(many_classes ? pick(0, 300) / 100.0 : pick(0, 2));
      std::vector<std::uint64_t> keys;
      for (std::size_t j = 0; j < p.preferences; ++j) keys.push_back(pick(0, 3) == 3 ? kNoKey : static_cast<std::uint64_t>(pick(0, 2)));
      p.add_item(-1, false, weight, keys);
    }
    Solution s = solve(p);
    std::vector<int> expected = reference_placement(p);
    for (std::size_t i = 0; i < p.items.size(); ++i) {
      ASSERT_EQ(s.items[i].target, expected[i]) << "round " << round << ", item " << i;
      EXPECT_EQ(s.items[i].unplaced, expected[i] < 0) << "round " << round << ", item " << i;
    }
  }
}

TEST(PlanSolver, ShedsTheFewestThenTheEarliestInMoveFirstOrder) {
  // One limit of 10; the target carries 1+1+1+4+4+1 = 12: a single item of weight >= 2 fixes it.
  Problem p;
  p.strict = {false};
  p.targets = {Target{{10}, {}, false}, Target{{100}, {}, false}};
  for (double w : {1.0, 1.0, 1.0, 4.0, 4.0, 1.0}) p.add_item(0, false, {w}, {});
  Solution s = solve(p);
  EXPECT_EQ(s.moves, 1u);
  EXPECT_TRUE(s.items[3].moved);  // the earliest of the heavy ones
  EXPECT_EQ(s.items[3].reason, Reason::OverLimit);
  EXPECT_EQ(s.items[3].target, 1);
}

TEST(PlanSolver, KeptItemsThatBreakALimitStayAndAreReported) {
  // Inner circle of 2: three kept strategic items stay; a movable strategic one must leave, a
  // movable non-strategic one may stay (it adds nothing to the broken limit).
  Problem p;
  p.strict = {false, false};  // count <= 10, strategic <= 2
  p.targets = {Target{{10, 2}, {}, false}, Target{{10, 2}, {}, false}};
  for (int k = 0; k < 3; ++k) p.add_item(0, true, {1, 1}, {});
  p.add_item(0, false, {1, 1}, {});
  p.add_item(0, false, {1, 0}, {});
  Solution s = solve(p);
  EXPECT_EQ(s.fixed_over[0], 2u);  // limit 1 (bit 1)
  EXPECT_TRUE(s.items[3].moved);
  EXPECT_FALSE(s.items[4].moved);
  EXPECT_EQ(s.moves, 1u);
}

TEST(PlanSolver, PreferencesChooseTheTargetInTheOrderWritten) {
  Problem p;
  p.strict = {false};
  p.preferences = 2;
  // Target 0 matches preference 1 only; target 1 matches preference 0 only; target 2 neither.
  p.targets = {Target{{5}, {1, 7}, false}, Target{{5}, {3, 9}, false}, Target{{5}, {0, 0}, false}};
  p.add_item(-1, false, {1}, {3, 7});
  Solution s = solve(p);
  EXPECT_EQ(s.items[0].target, 1);
  EXPECT_EQ(s.items[0].preferred, 1u);  // preference 0 met
}

TEST(PlanSolver, NoRoomAnywhereGoesToTheOverflowOrStays) {
  Problem p;
  p.strict = {false};
  p.targets = {Target{{1}, {}, false}};
  p.add_item(0, false, {1}, {});
  p.add_item(0, false, {1}, {});
  Solution stays = solve(p);
  EXPECT_EQ(stays.moves, 0u);
  EXPECT_TRUE(stays.items[0].unplaced || stays.items[1].unplaced);
  p.targets.push_back(Target{{kUnlimited}, {}, true});
  Solution overflow = solve(p);
  EXPECT_EQ(overflow.moves, 1u);
  EXPECT_EQ(overflow.items[0].target, 1);  // the first in move-first order leaves
}

TEST(StableRadixSort, SortsByTheKeyAndKeepsTheOrderOfEqualKeys) {
  struct Item {
    std::uint64_t key = 0;
    std::uint32_t place = 0;  // where it was before the sort
  };
  std::mt19937_64 random(7);
  // Keys that differ in every digit, in the low digits only, in the high ones only, that mostly
  // tie, that all tie, and IEEE order codes of revenues (as `move first` makes them).
  const std::vector<std::function<std::uint64_t()>> kinds = {
      [&] { return random(); },
      [&] { return random() & 0xfff; },
      [&] { return random() << 52; },
      [&] { return random() % 5; },
      [&] { return std::uint64_t{42}; },
      [&] {
        return (std::uint64_t{1} << 63) | (std::uint64_t{0x412e8480} << 32) | (random() % 3 << 20);
      },
  };
  for (std::size_t kind = 0; kind < kinds.size(); ++kind) {
    for (std::size_t n : {0, 1, 2, 3, 100, 5000}) {
      std::vector<Item> items(n);
      for (std::uint32_t i = 0; i < n; ++i) items[i] = Item{kinds[kind](), i};
      std::vector<Item> expected = items;
      std::stable_sort(expected.begin(), expected.end(),
                       [](const Item& a, const Item& b) { return a.key < b.key; });
      stable_radix_sort(items, [](const Item& item) { return item.key; });
      ASSERT_EQ(items.size(), n);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(items[i].key, expected[i].key) << "kind " << kind << ", " << n << " items, at " << i;
        ASSERT_EQ(items[i].place, expected[i].place) << "kind " << kind << ", " << n << " items, at " << i;
      }
    }
  }
}

}  // namespace
}  // namespace rapport::engine::planning
