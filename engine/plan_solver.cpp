#include "engine/plan_solver.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
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
///
/// Index: per class of weight vector and per preference pattern (a subset of the preferences),
/// the targets whose keys on that subset equal a given value, ordered by load, holding only the
/// targets that still have room for that class. A target found without room for a class never
/// has room for it again (loads only grow), so it leaves that class's sets for good; each lookup
/// is then a map find plus a walk that ends at the first target with room.
class Placer {
 public:
  Placer(const Problem& problem, std::vector<std::vector<double>>& load, const std::vector<Bounds>& bounds,
         std::vector<std::size_t>& count)
      : problem_(problem), load_(load), bounds_(bounds), count_(count), prefs_(problem.preferences) {
    const std::uint32_t patterns = 1u << prefs_;
    util_.assign(problem_.targets.size(), 0);
    target_keys_.resize(problem_.targets.size());
    for (std::size_t t = 0; t < problem_.targets.size(); ++t) {
      for (std::uint32_t p = 0; p < patterns; ++p) {
        std::optional<Key> key = project(p, problem_.targets[t].keys);
        if (key) target_keys_[t].push_back(std::move(*key));
      }
      if (problem_.targets[t].overflow) {
        overflow_.push_back(static_cast<int>(t));
        continue;
      }
      managers_.push_back(static_cast<int>(t));
      util_[t] = utilisation(static_cast<int>(t));
    }
    fill(overflow_index_, overflow_, [&](int t) { return static_cast<double>(count_[t]); });
  }

  /// The target for `item` (-1: nowhere), and which preferences it meets there.
  int place(int item, std::uint32_t& preferred) {
    const Item& it = problem_.items[item];
    const int cls = class_of(it.weight);
    Class& c = classes_[cls];
    for (std::uint32_t p = (1u << prefs_); p-- > 0;) {
      std::optional<Key> key = project(p, it.keys);
      if (!key) continue;
      auto found = c.sets.find(*key);
      if (found == c.sets.end()) continue;
      std::set<Entry>& candidates = found->second;
      for (auto e = candidates.begin(); e != candidates.end();) {
        const int t = e->target;
        auto next = std::next(e);
        if (fits_item(t, item)) {
          preferred = to_bits(match(problem_.targets[t].keys, it.keys));
          assign(t, item);
          return t;
        }
        if (cls != generic_) close(c, t);  // no room for this class, now or later
        e = next;
      }
    }
    // The overflow: no limits; preferences, then the fewest items, then order.
    for (std::uint32_t p = (1u << prefs_); p-- > 0;) {
      std::optional<Key> key = project(p, it.keys);
      if (!key) continue;
      auto found = overflow_index_.sets.find(*key);
      if (found == overflow_index_.sets.end() || found->second.empty()) continue;
      const int o = found->second.begin()->target;
      preferred = to_bits(match(problem_.targets[o].keys, it.keys));
      const Entry old{static_cast<double>(count_[o]), o};
      ++count_[o];
      for (std::size_t l = 0; l < it.weight.size(); ++l) load_[o][l] += it.weight[l];
      move_entry(overflow_index_, o, old, Entry{static_cast<double>(count_[o]), o});
      return o;
    }
    return -1;
  }

 private:
  struct Entry {
    double load;
    int target;
    bool operator<(const Entry& o) const { return load != o.load ? load < o.load : target < o.target; }
  };
  using Key = std::pair<std::uint32_t, std::vector<std::uint64_t>>;  // pattern, keys on it
  struct Class {
    std::map<Key, std::set<Entry>> sets;
    std::vector<std::vector<std::set<Entry>*>> of_target;  // per target: the sets it is in (empty: closed)
  };

  /// Bit (prefs - 1 - j) of a pattern or score stands for preference j, so comparing scores
  /// compares the preferences in the order written.
  std::optional<Key> project(std::uint32_t pattern, const std::vector<std::uint64_t>& keys) const {
    Key key{pattern, {}};
    for (std::size_t j = 0; j < prefs_; ++j) {
      if (!(pattern & (1u << (prefs_ - 1 - j)))) continue;
      if (keys[j] == kNoKey) return std::nullopt;  // a missing value matches nothing
      key.second.push_back(keys[j]);
    }
    return key;
  }
  std::uint32_t match(const std::vector<std::uint64_t>& target_keys, const std::vector<std::uint64_t>& item_keys) const {
    std::uint32_t score = 0;
    for (std::size_t j = 0; j < prefs_; ++j) {
      if (item_keys[j] != kNoKey && target_keys[j] == item_keys[j]) score |= 1u << (prefs_ - 1 - j);
    }
    return score;
  }
  std::uint32_t to_bits(std::uint32_t score) const {
    std::uint32_t bits = 0;
    for (std::size_t j = 0; j < prefs_; ++j) {
      if (score & (1u << (prefs_ - 1 - j))) bits |= 1u << j;
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

  /// Puts `targets` into `index`, each under its key for every pattern, ordered by `order`.
  template <typename Order>
  void fill(Class& index, const std::vector<int>& targets, Order order) {
    index.of_target.resize(problem_.targets.size());
    for (int t : targets) {
      for (const Key& key : target_keys_[t]) {
        std::set<Entry>& set = index.sets[key];
        set.insert(Entry{order(t), t});
        index.of_target[t].push_back(&set);
      }
    }
  }
  static void move_entry(Class& index, int t, const Entry& old, const Entry& now) {
    for (std::set<Entry>* set : index.of_target[t]) {
      set->erase(old);
      set->insert(now);
    }
  }

  int make_class() {
    classes_.emplace_back();
    fill(classes_.back(), managers_, [&](int t) { return util_[t]; });
    return static_cast<int>(classes_.size()) - 1;
  }

  /// The index of a weight vector's class; past kMaxClasses, one shared class that never closes
  /// a target (correct, but each lookup may walk targets without room).
  int class_of(const std::vector<double>& weight) {
    auto found = class_ids_.find(weight);
    if (found != class_ids_.end()) return found->second;
    if (class_ids_.size() >= kMaxClasses) {
      if (generic_ < 0) generic_ = make_class();
      return generic_;
    }
    int id = make_class();
    class_ids_.emplace(weight, id);
    return id;
  }

  void close(Class& c, int t) {
    for (std::set<Entry>* set : c.of_target[t]) set->erase(Entry{util_[t], t});
    c.of_target[t].clear();
  }

  bool fits_item(int t, int item) const {
    const auto& w = problem_.items[item].weight;
    for (std::size_t l = 0; l < w.size(); ++l) {
      if (!within(load_[t][l] + w[l], bounds_[t].capacity[l], bounds_[t].strict[l])) return false;
    }
    return true;
  }

  void assign(int t, int item) {
    const Entry old{util_[t], t};
    const auto& w = problem_.items[item].weight;
    for (std::size_t l = 0; l < w.size(); ++l) load_[t][l] += w[l];
    ++count_[t];
    util_[t] = utilisation(t);
    const Entry now{util_[t], t};
    for (Class& c : classes_) move_entry(c, t, old, now);
  }

  static constexpr std::size_t kMaxClasses = 64;
  const Problem& problem_;
  std::vector<std::vector<double>>& load_;
  const std::vector<Bounds>& bounds_;
  std::vector<std::size_t>& count_;
  const std::size_t prefs_;
  std::vector<int> managers_, overflow_;
  std::vector<std::vector<Key>> target_keys_;  // per target: its key for every pattern it can match
  std::vector<double> util_;
  std::vector<Class> classes_;
  std::map<std::vector<double>, int> class_ids_;
  int generic_ = -1;
  Class overflow_index_;  // ordered by the number of items
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
