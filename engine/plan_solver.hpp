#pragma once
// The reassignment problem behind a plan, free of the data model: items (accounts) assigned to
// targets (managers) under additive limits, and the solver that proposes the fewest moves.
//
// Why the fewest moves is exact (docs/plans.md has the long form). Weights are never negative,
// so an item that arrives at a target can only raise its loads: a target within its limits never
// needs to give anything away, and a target over them must give away a set of its own movable
// items that brings every load back within. Each item without a valid target must move once.
// Given somewhere to put what is given away (a target with room, or the overflow, which has no
// limits), the fewest moves is therefore the number of items without a target plus, per target,
// the smallest set whose removal fixes that target — and these per-target problems are
// independent. The solver finds each smallest set exactly (a bounded search over classes of
// equal weight vectors), so the total is minimal; `Solution::minimal` says so unless a search
// ran out of its budget. Where to place the moved items does not change the count; it is chosen
// by the preferences, compared in the order written, then the lowest load, then target order.

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace rapport::engine::planning {

/// A preference key nothing equals (a missing value).
inline constexpr std::uint64_t kNoKey = ~std::uint64_t{0};
inline constexpr double kUnlimited = std::numeric_limits<double>::infinity();

struct Target {
  std::vector<double> capacity;     // per limit; kUnlimited when the limit doesn't apply
  std::vector<std::uint64_t> keys;  // per preference
  bool overflow = false;            // an overflow target: no limits, used when no target has room
};

struct Item {
  int current = -1;                 // its target, or -1 when it has none (no owner, or not a target)
  bool fixed = false;               // `keep`: it stays where it is
};

/// Items come in `move first` order (a lower index moves first); targets in tie-break order.
/// An item's weights (one per limit, >= 0) and keys (one per preference) are stored flat, item
/// after item: a million items are then two arrays instead of two million small vectors.
struct Problem {
  std::vector<bool> strict;  // per limit: `<` rather than `<=`
  std::vector<Target> targets;
  std::vector<Item> items;
  std::vector<double> weights;        // items x limits
  std::vector<std::uint64_t> keys;    // items x preferences
  std::size_t preferences = 0;
  /// Search steps allowed per target before the solver settles for a greedy choice.
  std::size_t search_budget = 2'000'000;

  [[nodiscard]] std::size_t limits() const { return strict.size(); }
  [[nodiscard]] std::span<const double> weight(std::size_t item) const {
    return {weights.data() + item * limits(), limits()};
  }
  [[nodiscard]] std::span<const std::uint64_t> item_keys(std::size_t item) const {
    return {keys.data() + item * preferences, preferences};
  }
  /// Appends an item; `weight` has one value per limit, `item_keys` one per preference.
  void add_item(int current, bool fixed, const std::vector<double>& weight, const std::vector<std::uint64_t>& item_keys) {
    items.push_back(Item{current, fixed});
    weights.insert(weights.end(), weight.begin(), weight.end());
    keys.insert(keys.end(), item_keys.begin(), item_keys.end());
  }
};

enum class Reason : std::uint8_t {
  Stays,     // within limits, or nowhere better: not moved
  Kept,      // fixed by `keep`
  NoTarget,  // had no valid target: placed
  OverLimit, // its target was over a limit
};

struct Placement {
  int target = -1;               // where it is after the plan (-1: nowhere)
  bool moved = false;
  bool unplaced = false;         // it had to move but no target had room and there is no overflow
  Reason reason = Reason::Stays;
  std::uint32_t over = 0;        // OverLimit: bit l set when its old target broke limit l
  std::uint32_t preferred = 0;   // bit j set when preference j holds at the new target
};

struct Solution {
  std::vector<Placement> items;
  std::vector<std::vector<double>> before;  // per target, per limit
  std::vector<std::vector<double>> after;
  std::vector<std::size_t> count_before, count_after;  // items per target
  std::vector<std::uint32_t> fixed_over;    // per target: limits its kept items alone break
  std::size_t moves = 0;
  bool minimal = true;
};

/// `load` within `capacity` (a relative tolerance absorbs rounding in sums of decimals).
bool within(double load, double capacity, bool strict);

Solution solve(const Problem& problem);

}  // namespace rapport::engine::planning
