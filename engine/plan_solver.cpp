#include "engine/plan_solver.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

namespace rapport::engine::planning {

bool within(double load, double capacity, bool strict) {
  if (capacity == kUnlimited) return true;
  const double slack = 1e-9 * std::max(1.0, std::fabs(capacity));
  return strict ? load < capacity - slack : load <= capacity + slack;
}

namespace {

/// Per target: the capacity and strictness that apply after kept items are accounted for. A limit
/// that the kept items alone break can't be met by moving; it is raised to their load (and
/// reported), so that nothing with a weight on it may join and everything movable leaves.
struct Bounds {
  std::vector<double> capacity;
  std::vector<bool> strict;
};

bool fits(const std::vector<double>& load, const Bounds& bounds) {
  for (std::size_t l = 0; l < load.size(); ++l) {
    if (!within(load[l], bounds.capacity[l], bounds.strict[l])) return false;
  }
  return true;
}

/// The smallest set of a target's movable items whose removal brings its load within bounds,
/// earliest in `move first` order among the smallest. Items with equal weight vectors form a
/// class; the search decides how many of each class go.
class Removal {
 public:
  Removal(const Problem& problem, const std::vector<int>& movable, std::vector<double> load, const Bounds& bounds)
      : problem_(problem), movable_(movable), load_(std::move(load)), bounds_(bounds), dims_(load_.size()) {
    std::map<std::vector<double>, int> class_of;
    for (int item : movable_) {
      const auto& w = problem_.items[item].weight;
      auto [it, fresh] = class_of.emplace(w, static_cast<int>(weights_.size()));
      if (fresh) {
        weights_.push_back(w);
        count_.push_back(0);
      }
      item_class_.push_back(it->second);
      ++count_[it->second];
    }
    // Per limit, the classes heaviest first (for the bound).
    order_.resize(dims_);
    for (std::size_t l = 0; l < dims_; ++l) {
      for (std::size_t c = 0; c < weights_.size(); ++c) order_[l].push_back(static_cast<int>(c));
      std::stable_sort(order_[l].begin(), order_[l].end(),
                       [&](int a, int b) { return weights_[a][l] > weights_[b][l]; });
    }
  }

  /// Indexes into `movable` of the items to remove; sets `exact` false when the budget ran out.
  std::vector<std::size_t> run(bool& exact) {
    std::vector<std::size_t> chosen;
    if (fits(load_, bounds_)) return chosen;
    // The fewest items: feasibility is monotone in the number allowed, so bisect.
    std::size_t lo = 1, hi = movable_.size();
    if (!feasible_from(hi, load_, count_)) return greedy(exact);
    while (lo < hi) {
      std::size_t mid = lo + (hi - lo) / 2;
      if (feasible_from(mid, load_, count_)) hi = mid;
      else lo = mid + 1;
      if (out_of_budget_) return greedy(exact);
    }
    const std::size_t k = lo;
    // The earliest items in `move first` order: take each item when a solution with it remains.
    std::vector<double> load = load_;
    std::vector<std::size_t> avail = count_;
    for (std::size_t i = 0; i < movable_.size() && chosen.size() < k; ++i) {
      const int c = item_class_[i];
      --avail[c];
      std::vector<double> with = load;
      for (std::size_t l = 0; l < dims_; ++l) with[l] -= weights_[c][l];
      if (feasible_from(k - chosen.size() - 1, with, avail)) {
        chosen.push_back(i);
        load = std::move(with);
      }
      if (out_of_budget_) return greedy(exact);
    }
    return chosen;
  }

 private:
  bool feasible_from(std::size_t picks, const std::vector<double>& load, const std::vector<std::size_t>& avail) {
    std::vector<double> rem = load;
    return search(0, picks, rem, avail);
  }

  bool search(std::size_t c, std::size_t picks, std::vector<double>& rem, const std::vector<std::size_t>& avail) {
    if (fits(rem, bounds_)) return true;
    if (c == weights_.size() || picks == 0) return false;
    if (++steps_ > problem_.search_budget) {
      out_of_budget_ = true;
      return false;
    }
    // Bound: per broken limit, the heaviest `picks` items left can't fix it -> no solution here.
    for (std::size_t l = 0; l < dims_; ++l) {
      if (within(rem[l], bounds_.capacity[l], bounds_.strict[l])) continue;
      double cut = 0;
      std::size_t left = picks;
      for (int k : order_[l]) {
        if (static_cast<std::size_t>(k) < c || left == 0) continue;
        std::size_t take = std::min(left, avail[k]);
        cut += static_cast<double>(take) * weights_[k][l];
        left -= take;
      }
      if (!within(rem[l] - cut, bounds_.capacity[l], bounds_.strict[l])) return false;
    }
    const std::size_t most = std::min(picks, avail[c]);
    for (std::size_t r = most + 1; r-- > 0;) {
      for (std::size_t l = 0; l < dims_; ++l) rem[l] -= static_cast<double>(r) * weights_[c][l];
      bool found = search(c + 1, picks - r, rem, avail);
      for (std::size_t l = 0; l < dims_; ++l) rem[l] += static_cast<double>(r) * weights_[c][l];
      if (found) return true;
      if (out_of_budget_) return false;
    }
    return false;
  }

  /// Too many classes to search: remove, while any limit is broken, the item that fixes the
  /// most of what is left (earliest on ties). Not proven minimal.
  std::vector<std::size_t> greedy(bool& exact) {
    exact = false;
    std::vector<std::size_t> chosen;
    std::vector<double> load = load_;
    std::vector<bool> taken(movable_.size(), false);
    while (!fits(load, bounds_)) {
      double best = -1;
      std::size_t best_i = movable_.size();
      for (std::size_t i = 0; i < movable_.size(); ++i) {
        if (taken[i]) continue;
        double gain = 0;
        for (std::size_t l = 0; l < dims_; ++l) {
          if (within(load[l], bounds_.capacity[l], bounds_.strict[l])) continue;
          double excess = load[l] - bounds_.capacity[l];
          gain += std::min(weights_[item_class_[i]][l], excess) / std::max(excess, 1e-12);
        }
        if (gain > best) {
          best = gain;
          best_i = i;
        }
      }
      if (best_i == movable_.size()) break;
      taken[best_i] = true;
      chosen.push_back(best_i);
      for (std::size_t l = 0; l < dims_; ++l) load[l] -= weights_[item_class_[best_i]][l];
    }
    std::sort(chosen.begin(), chosen.end());
    return chosen;
  }

  const Problem& problem_;
  const std::vector<int>& movable_;
  std::vector<double> load_;
  const Bounds& bounds_;
  std::size_t dims_;
  std::vector<std::vector<double>> weights_;  // per class
  std::vector<std::size_t> count_;            // per class
  std::vector<int> item_class_;               // per movable item
  std::vector<std::vector<int>> order_;       // per limit: classes, heaviest first
  std::size_t steps_ = 0;
  bool out_of_budget_ = false;
};

/// Where the moved items go: the target with room that meets the most important preferences,
/// then the lowest load, then the earliest; the overflow when no target has room.
class Placer {
 public:
  Placer(const Problem& problem, std::vector<std::vector<double>>& load, const std::vector<Bounds>& bounds,
         std::vector<std::size_t>& count)
      : problem_(problem), load_(load), bounds_(bounds), count_(count) {
    const std::size_t prefs = problem_.preferences;
    std::map<std::vector<std::uint64_t>, int> group_of;
    group_index_.assign(problem_.targets.size(), -1);
    for (std::size_t t = 0; t < problem_.targets.size(); ++t) {
      const Target& target = problem_.targets[t];
      if (target.overflow) {
        overflow_.push_back(static_cast<int>(t));
        continue;
      }
      std::vector<std::uint64_t> key(target.keys.begin(), target.keys.begin() + static_cast<long>(prefs));
      auto [it, fresh] = group_of.emplace(key, static_cast<int>(groups_.size()));
      if (fresh) groups_.push_back(Group{key, {}});
      group_index_[t] = it->second;
    }
    for (std::size_t t = 0; t < problem_.targets.size(); ++t) {
      if (problem_.targets[t].overflow) continue;
      Entry e{utilisation(static_cast<int>(t)), static_cast<int>(t)};
      groups_[group_index_[t]].by_load.insert(e);
      all_.insert(e);
    }
    full_.assign(problem_.targets.size(), {});
  }

  /// The target for `item` (-1: nowhere), and which preferences it meets there.
  int place(int item, std::uint32_t& preferred) {
    const Item& it = problem_.items[item];
    const int cls = class_of(it.weight);
    // Groups by how well they match, best first: preference 0 is worth more than all later ones.
    const std::size_t prefs = problem_.preferences;
    std::vector<std::pair<std::uint32_t, int>> scored;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      std::uint32_t score = match(groups_[g].key, it.keys);
      if (score != 0) scored.emplace_back(score, static_cast<int>(g));
    }
    std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::size_t i = 0;
    while (i < scored.size()) {
      const std::uint32_t score = scored[i].first;
      int best = -1;
      Entry best_entry{0, 0};
      for (; i < scored.size() && scored[i].first == score; ++i) {
        int t = first_fit(groups_[scored[i].second].by_load, item, cls);
        if (t >= 0) {
          Entry e{utilisation(t), t};
          if (best < 0 || e < best_entry) {
            best = t;
            best_entry = e;
          }
        }
      }
      if (best >= 0) {
        preferred = to_bits(score, prefs);
        assign(best, item);
        return best;
      }
    }
    // No preferred target has room: any target, lowest load first.
    int t = first_fit(all_, item, cls);
    if (t >= 0) {
      preferred = to_bits(match(groups_[group_index_[t]].key, it.keys), prefs);
      assign(t, item);
      return t;
    }
    // The overflow: no limits; preferences, then the fewest items, then order.
    int best = -1;
    std::uint32_t best_score = 0;
    for (int o : overflow_) {
      std::uint32_t score = match(problem_.targets[o].keys, it.keys);
      if (best < 0 || score > best_score || (score == best_score && count_[o] < count_[best])) {
        best = o;
        best_score = score;
      }
    }
    if (best >= 0) {
      preferred = to_bits(best_score, prefs);
      ++count_[best];
      for (std::size_t l = 0; l < it.weight.size(); ++l) load_[best][l] += it.weight[l];
    }
    return best;
  }

 private:
  struct Entry {
    double load;
    int target;
    bool operator<(const Entry& o) const { return load != o.load ? load < o.load : target < o.target; }
  };
  struct Group {
    std::vector<std::uint64_t> key;
    std::set<Entry> by_load;
  };

  /// Bit (prefs - 1 - j) set when preference j matches: comparing scores compares the
  /// preferences in the order written.
  std::uint32_t match(const std::vector<std::uint64_t>& target_keys, const std::vector<std::uint64_t>& item_keys) const {
    std::uint32_t score = 0;
    const std::size_t prefs = problem_.preferences;
    for (std::size_t j = 0; j < prefs; ++j) {
      if (item_keys[j] != kNoKey && target_keys[j] == item_keys[j]) score |= 1u << (prefs - 1 - j);
    }
    return score;
  }
  static std::uint32_t to_bits(std::uint32_t score, std::size_t prefs) {
    std::uint32_t bits = 0;
    for (std::size_t j = 0; j < prefs; ++j) {
      if (score & (1u << (prefs - 1 - j))) bits |= 1u << j;
    }
    return bits;
  }

  double utilisation(int t) const {
    const auto& cap = bounds_[t].capacity;
    if (cap.empty()) return static_cast<double>(count_[t]);
    double u = 0;
    for (std::size_t l = 0; l < cap.size(); ++l) {
      if (cap[l] == kUnlimited) continue;
      double v = cap[l] > 0 ? load_[t][l] / cap[l] : (load_[t][l] > 0 ? kUnlimited : 0);
      u = std::max(u, v);
    }
    return u;
  }

  int class_of(const std::vector<double>& weight) {
    auto [it, fresh] = classes_.emplace(weight, static_cast<int>(classes_.size()));
    (void)fresh;
    return it->second;
  }

  bool fits_item(int t, int item) const {
    const auto& w = problem_.items[item].weight;
    for (std::size_t l = 0; l < w.size(); ++l) {
      if (!within(load_[t][l] + w[l], bounds_[t].capacity[l], bounds_[t].strict[l])) return false;
    }
    return true;
  }

  /// The least loaded target of `set` with room for `item`. A target found without room for a
  /// class never has room for it later (loads only grow), so it is skipped from then on.
  int first_fit(const std::set<Entry>& set, int item, int cls) {
    for (const Entry& e : set) {
      auto& full = full_[e.target];
      if (cls < kCachedClasses && full.size() > static_cast<std::size_t>(cls) && full[cls]) continue;
      if (fits_item(e.target, item)) return e.target;
      if (cls < kCachedClasses) {
        if (full.size() <= static_cast<std::size_t>(cls)) full.resize(cls + 1, false);
        full[cls] = true;
      }
    }
    return -1;
  }

  void assign(int t, int item) {
    Entry old{utilisation(t), t};
    groups_[group_index_[t]].by_load.erase(old);
    all_.erase(old);
    const auto& w = problem_.items[item].weight;
    for (std::size_t l = 0; l < w.size(); ++l) load_[t][l] += w[l];
    ++count_[t];
    Entry now{utilisation(t), t};
    groups_[group_index_[t]].by_load.insert(now);
    all_.insert(now);
  }

  static constexpr int kCachedClasses = 256;
  const Problem& problem_;
  std::vector<std::vector<double>>& load_;
  const std::vector<Bounds>& bounds_;
  std::vector<std::size_t>& count_;
  std::vector<Group> groups_;
  std::vector<int> group_index_;
  std::vector<int> overflow_;
  std::set<Entry> all_;
  std::map<std::vector<double>, int> classes_;
  std::vector<std::vector<bool>> full_;  // per target, per class: no room
};

}  // namespace

Solution solve(const Problem& problem) {
  const std::size_t dims = problem.strict.size();
  const std::size_t n_targets = problem.targets.size();
  Solution s;
  s.items.resize(problem.items.size());
  s.before.assign(n_targets, std::vector<double>(dims, 0));
  s.count_before.assign(n_targets, 0);
  s.fixed_over.assign(n_targets, 0);

  std::vector<std::vector<double>> fixed(n_targets, std::vector<double>(dims, 0));
  std::vector<std::vector<int>> movable(n_targets);
  for (std::size_t i = 0; i < problem.items.size(); ++i) {
    const Item& item = problem.items[i];
    Placement& p = s.items[i];
    p.target = item.current;
    p.reason = item.fixed ? Reason::Kept : Reason::Stays;
    if (item.current < 0) continue;
    ++s.count_before[item.current];
    for (std::size_t l = 0; l < dims; ++l) s.before[item.current][l] += item.weight[l];
    if (item.fixed) {
      for (std::size_t l = 0; l < dims; ++l) fixed[item.current][l] += item.weight[l];
    } else if (!problem.targets[item.current].overflow) {
      movable[item.current].push_back(static_cast<int>(i));
    }
  }

  // Bounds per target: limits the kept items alone break are raised to their load.
  std::vector<Bounds> bounds(n_targets);
  for (std::size_t t = 0; t < n_targets; ++t) {
    const Target& target = problem.targets[t];
    bounds[t].capacity.assign(dims, kUnlimited);
    bounds[t].strict.assign(dims, false);
    if (target.overflow) continue;
    for (std::size_t l = 0; l < dims; ++l) {
      bounds[t].capacity[l] = target.capacity[l];
      bounds[t].strict[l] = problem.strict[l];
      if (!within(fixed[t][l], target.capacity[l], problem.strict[l])) {
        s.fixed_over[t] |= 1u << l;
        bounds[t].capacity[l] = fixed[t][l];
        bounds[t].strict[l] = false;
      }
    }
  }

  // 1. Each target over a limit gives away its smallest fixing set.
  std::vector<std::vector<double>> load = s.before;
  std::vector<std::size_t> count = s.count_before;
  std::vector<int> pool;
  for (std::size_t t = 0; t < n_targets; ++t) {
    if (problem.targets[t].overflow || fits(load[t], bounds[t])) continue;
    std::uint32_t over = 0;
    for (std::size_t l = 0; l < dims; ++l) {
      if (!within(load[t][l], bounds[t].capacity[l], bounds[t].strict[l])) over |= 1u << l;
    }
    bool exact = true;
    Removal removal(problem, movable[t], load[t], bounds[t]);
    for (std::size_t k : removal.run(exact)) {
      const int item = movable[t][k];
      s.items[item].reason = Reason::OverLimit;
      s.items[item].over = over;
      for (std::size_t l = 0; l < dims; ++l) load[t][l] -= problem.items[item].weight[l];
      --count[t];
      pool.push_back(item);
    }
    s.minimal = s.minimal && exact;
  }
  // 2. Items without a valid target, unless kept where they are.
  for (std::size_t i = 0; i < problem.items.size(); ++i) {
    const Item& item = problem.items[i];
    if (item.current < 0 && !item.fixed) {
      s.items[i].reason = Reason::NoTarget;
      pool.push_back(static_cast<int>(i));
    }
  }
  // 3. Place them, the last to move first placed first (the sketch's "largest first").
  std::sort(pool.begin(), pool.end(), std::greater<>());
  Placer placer(problem, load, bounds, count);
  for (int item : pool) {
    Placement& p = s.items[item];
    std::uint32_t preferred = 0;
    int target = placer.place(item, preferred);
    if (target >= 0) {
      p.target = target;
      p.moved = target != problem.items[item].current;
      p.preferred = preferred;
      continue;
    }
    // Nowhere to go: it stays where it was, and the shortfall is reported.
    p.unplaced = true;
    p.target = problem.items[item].current;
    if (p.target >= 0) {
      for (std::size_t l = 0; l < dims; ++l) load[p.target][l] += problem.items[item].weight[l];
      ++count[p.target];
    }
  }
  for (const auto& p : s.items) s.moves += p.moved ? 1 : 0;
  s.after = std::move(load);
  s.count_after = std::move(count);
  return s;
}

}  // namespace rapport::engine::planning
