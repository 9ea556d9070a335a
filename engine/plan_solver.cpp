#include "engine/plan_solver.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "engine/parallel.hpp"

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

/// Dense ids for weight vectors, numbered in the order first seen: equal vectors (compared as
/// numbers, so -0 and 0 alike) share one. Items of one class are interchangeable for a limit.
class WeightClasses {
 public:
  explicit WeightClasses(std::size_t dims) : dims_(dims) {}
  /// The class of `weight`, added when it is new.
  int intern(std::span<const double> weight) {
    auto [head, fresh] = first_.try_emplace(hash(weight), -1);
    for (int c = head->second; c >= 0; c = next_[static_cast<std::size_t>(c)]) {
      if (std::equal(weight.begin(), weight.end(), flat_.begin() + static_cast<std::ptrdiff_t>(c * dims_))) return c;
    }
    flat_.insert(flat_.end(), weight.begin(), weight.end());
    next_.push_back(head->second);
    head->second = static_cast<int>(next_.size()) - 1;
    return head->second;
  }
  std::size_t size() const { return next_.size(); }

 private:
  static std::uint64_t hash(std::span<const double> weight) {
    std::uint64_t h = 0xcbf29ce484222325u;
    for (double w : weight) {
      w += 0.0;  // -0 -> 0
      std::uint64_t bits;
      std::memcpy(&bits, &w, sizeof bits);
      h = (h ^ bits) * 0x100000001b3u;
      h ^= h >> 29;
    }
    return h;
  }
  std::size_t dims_;
  std::unordered_map<std::uint64_t, int> first_;  // hash -> the newest class with it
  std::vector<int> next_;                         // per class: the previous class with its hash
  std::vector<double> flat_;                      // classes x dims
};

/// The smallest set of a target's movable items whose removal brings its load within bounds,
/// earliest in `move first` order among the smallest. Items with equal weight vectors form a
/// class; the search decides how many of each class go.
class Removal {
 public:
  /// `item_class`: every item's class (WeightClasses); `local`: one slot per class, all -1, left so.
  Removal(const Problem& problem, const std::vector<int>& movable, const std::vector<int>& item_class,
          std::vector<int>& local, std::vector<double> load, const Bounds& bounds)
      : problem_(problem), movable_(movable), load_(std::move(load)), bounds_(bounds), dims_(load_.size()) {
    for (int item : movable_) {
      int& c = local[static_cast<std::size_t>(item_class[static_cast<std::size_t>(item)])];
      if (c < 0) {
        c = static_cast<int>(weights_.size());
        const auto weight = problem_.weight(static_cast<std::size_t>(item));
        weights_.emplace_back(weight.begin(), weight.end());
        count_.push_back(0);
      }
      item_class_.push_back(c);
      ++count_[c];
    }
    for (int item : movable_) local[static_cast<std::size_t>(item_class[static_cast<std::size_t>(item)])] = -1;
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
    std::vector<double> load = load_, with(dims_);
    std::vector<std::size_t> avail = count_;
    // A class whose item could not be taken can't be taken until something else is: the load is
    // the same and fewer of it are left (feasibility only grows with what is available).
    std::vector<bool> blocked(weights_.size(), false);
    for (std::size_t i = 0; i < movable_.size() && chosen.size() < k; ++i) {
      const int c = item_class_[i];
      --avail[c];
      if (blocked[c]) continue;
      for (std::size_t l = 0; l < dims_; ++l) with[l] = load[l] - weights_[c][l];
      if (feasible_from(k - chosen.size() - 1, with, avail)) {
        chosen.push_back(i);
        load = with;
        std::fill(blocked.begin(), blocked.end(), false);
      } else {
        blocked[c] = true;
      }
      if (out_of_budget_) return greedy(exact);
    }
    return chosen;
  }

 private:
  bool feasible_from(std::size_t picks, const std::vector<double>& load, const std::vector<std::size_t>& avail) {
    rem_ = load;
    return search(0, picks, rem_, avail);
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
  std::vector<double> rem_;                   // feasible_from()'s scratch
  std::size_t steps_ = 0;
  bool out_of_budget_ = false;
};

/// Where the moved items go: the target with room that meets the most important preferences,
/// then the lowest load, then the earliest; the overflow when no target has room.
///
/// Index: per class of weight vector and per preference pattern (a subset of the preferences),
/// the targets whose keys on that subset equal a given value, as a heap ordered by load, holding
/// only the targets that still have room for that class. A target found without room for a class
/// never has room for it again (loads only grow), so it is closed for that class for good; each
/// lookup is then a hash lookup plus a walk that ends at the first target with room. Loads only
/// grow, so an entry's load is never above its target's load now: a placement changes no heap,
/// and an entry that reaches the top with an old load is moved down to its current place.
class Placer {
 public:
  Placer(const Problem& problem, const std::vector<int>& item_class, std::size_t classes,
         std::vector<std::vector<double>>& load, const std::vector<Bounds>& bounds, std::vector<std::size_t>& count)
      : problem_(problem), item_class_(item_class), load_(load), bounds_(bounds), count_(count),
        prefs_(problem.preferences), placer_class_(classes, -1) {
    const std::uint32_t patterns = 1u << prefs_;
    util_.assign(problem_.targets.size(), 0);
    target_keys_.resize(problem_.targets.size());
    for (std::size_t t = 0; t < problem_.targets.size(); ++t) {
      for (std::uint32_t p = 0; p < patterns; ++p) {
        if (!project(p, problem_.targets[t].keys)) continue;
        auto [it, fresh] = key_ids_.try_emplace(scratch_, static_cast<int>(key_ids_.size()));
        target_keys_[t].push_back(it->second);
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
    const auto item_keys = problem_.item_keys(static_cast<std::size_t>(item));
    const int cls = class_of(item_class_[static_cast<std::size_t>(item)]);
    Index& c = classes_[cls];
    for (std::uint32_t p = (1u << prefs_); p-- > 0;) {
      const int key = key_id(p, item_keys);
      if (key < 0) continue;
      Heap& candidates = c.heaps[key];
      int found = -1;
      skipped_.clear();
      while (!candidates.empty()) {
        const int t = candidates.front().target;
        if (c.closed[t]) {
          pop(candidates);
        } else if (candidates.front().load != util_[t]) {
          refresh(candidates, util_[t]);
        } else if (fits_item(t, item)) {
          found = t;
          break;
        } else if (cls != generic_) {
          c.closed[t] = true;  // no room for this class, now or later
          pop(candidates);
        } else {
          skipped_.push_back(candidates.front());
          pop(candidates);
        }
      }
      for (const Entry& e : skipped_) push(candidates, e);
      if (found >= 0) {
        preferred = to_bits(match(problem_.targets[found].keys, item_keys));
        assign(found, item);
        return found;
      }
    }
    // The overflow: no limits; preferences, then the fewest items, then order.
    for (std::uint32_t p = (1u << prefs_); p-- > 0;) {
      const int key = key_id(p, item_keys);
      if (key < 0) continue;
      Heap& candidates = overflow_index_.heaps[key];
      while (!candidates.empty() && candidates.front().load != static_cast<double>(count_[candidates.front().target])) {
        refresh(candidates, static_cast<double>(count_[candidates.front().target]));
      }
      if (candidates.empty()) continue;
      const int o = candidates.front().target;
      preferred = to_bits(match(problem_.targets[o].keys, item_keys));
      ++count_[o];
      const auto w = problem_.weight(static_cast<std::size_t>(item));
      for (std::size_t l = 0; l < w.size(); ++l) load_[o][l] += w[l];
      return o;
    }
    return -1;
  }

 private:
  struct Entry {
    double load;
    int target;
    /// The heap's top is the smallest: the lowest load, then the earliest target.
    bool operator<(const Entry& o) const { return load != o.load ? load > o.load : target > o.target; }
  };
  using Heap = std::vector<Entry>;
  static void push(Heap& heap, const Entry& e) {
    heap.push_back(e);
    std::push_heap(heap.begin(), heap.end());
  }
  static void pop(Heap& heap) {
    std::pop_heap(heap.begin(), heap.end());
    heap.pop_back();
  }
  /// The top entry's target now has `load` (never less than before): move it down to its place,
  /// one comparison of children a level (pop_heap and push_heap would walk the heap twice). The
  /// order is strict (no two entries of a heap share a target), so the tops are the same either way.
  static void refresh(Heap& heap, double load) {
    const Entry moving{load, heap.front().target};
    const std::size_t size = heap.size();
    std::size_t at = 0;
    for (std::size_t child = 1; child < size; child = 2 * at + 1) {
      if (child + 1 < size && heap[child] < heap[child + 1]) ++child;  // the child nearer the top
      if (!(moving < heap[child])) break;
      heap[at] = heap[child];
      at = child;
    }
    heap[at] = moving;
  }
  using Key = std::pair<std::uint32_t, std::vector<std::uint64_t>>;  // pattern, keys on it
  struct KeyHash {
    std::size_t operator()(const Key& key) const {
      std::uint64_t h = key.first * 0x9e3779b97f4a7c15u;
      for (std::uint64_t k : key.second) h = (h ^ k) * 0x100000001b3u ^ (h >> 31);
      return static_cast<std::size_t>(h);
    }
  };
  struct Index {
    std::vector<Heap> heaps;   // per key id
    std::vector<bool> closed;  // per target: no room for this class
  };

  /// Bit (prefs - 1 - j) of a pattern or score stands for preference j, so comparing scores
  /// compares the preferences in the order written. Leaves the key in `scratch_`; false when a
  /// value the pattern needs is missing (a missing value matches nothing).
  bool project(std::uint32_t pattern, std::span<const std::uint64_t> keys) {
    scratch_.first = pattern;
    scratch_.second.clear();
    for (std::size_t j = 0; j < prefs_; ++j) {
      if (!(pattern & (1u << (prefs_ - 1 - j)))) continue;
      if (keys[j] == kNoKey) return false;
      scratch_.second.push_back(keys[j]);
    }
    return true;
  }
  /// The id of `keys` on `pattern`, or -1 when no target has it.
  int key_id(std::uint32_t pattern, std::span<const std::uint64_t> keys) {
    if (!project(pattern, keys)) return -1;
    auto found = key_ids_.find(scratch_);
    return found == key_ids_.end() ? -1 : found->second;
  }
  std::uint32_t match(const std::vector<std::uint64_t>& target_keys, std::span<const std::uint64_t> item_keys) const {
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
  void fill(Index& index, const std::vector<int>& targets, Order order) {
    index.heaps.resize(key_ids_.size());
    index.closed.assign(problem_.targets.size(), false);
    for (int t : targets) {
      for (int key : target_keys_[t]) index.heaps[key].push_back(Entry{order(t), t});
    }
    for (Heap& heap : index.heaps) std::make_heap(heap.begin(), heap.end());
  }

  int make_class() {
    classes_.emplace_back();
    fill(classes_.back(), managers_, [&](int t) { return util_[t]; });
    return static_cast<int>(classes_.size()) - 1;
  }

  /// The placer's index for an item class; past kMaxClasses, one shared index that never closes
  /// a target (correct, but each lookup may walk targets without room).
  int class_of(int item_class) {
    int& found = placer_class_[static_cast<std::size_t>(item_class)];
    if (found >= 0) return found;
    if (distinct_ >= kMaxClasses) {
      if (generic_ < 0) generic_ = make_class();
      return found = generic_;
    }
    ++distinct_;
    return found = make_class();
  }

  bool fits_item(int t, int item) const {
    const auto w = problem_.weight(static_cast<std::size_t>(item));
    for (std::size_t l = 0; l < w.size(); ++l) {
      if (!within(load_[t][l] + w[l], bounds_[t].capacity[l], bounds_[t].strict[l])) return false;
    }
    return true;
  }

  void assign(int t, int item) {
    const auto w = problem_.weight(static_cast<std::size_t>(item));
    for (std::size_t l = 0; l < w.size(); ++l) load_[t][l] += w[l];
    ++count_[t];
    util_[t] = utilisation(t);
  }

  static constexpr std::size_t kMaxClasses = 64;
  const Problem& problem_;
  const std::vector<int>& item_class_;
  std::vector<std::vector<double>>& load_;
  const std::vector<Bounds>& bounds_;
  std::vector<std::size_t>& count_;
  const std::size_t prefs_;
  std::vector<int> managers_, overflow_;
  std::unordered_map<Key, int, KeyHash> key_ids_;  // every key some target has, numbered
  std::vector<std::vector<int>> target_keys_;      // per target: its key for every pattern it can match
  Key scratch_;
  std::vector<double> util_;
  std::vector<Index> classes_;
  std::vector<int> placer_class_;  // per item class: its index in classes_, or -1
  std::size_t distinct_ = 0;       // item classes with an index of their own
  int generic_ = -1;
  Index overflow_index_;  // ordered by the number of items
  std::vector<Entry> skipped_;
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
    const auto weight = problem.weight(i);
    for (std::size_t l = 0; l < dims; ++l) s.before[item.current][l] += weight[l];
    if (item.fixed) {
      for (std::size_t l = 0; l < dims; ++l) fixed[item.current][l] += weight[l];
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

  // Items of equal weight vectors are interchangeable: number their classes once.
  WeightClasses classes(dims);
  std::vector<int> item_class(problem.items.size());
  for (std::size_t i = 0; i < problem.items.size(); ++i) item_class[i] = classes.intern(problem.weight(i));

  // 1. Each target over a limit gives away its smallest fixing set. The targets' searches are
  // independent, so they are shared between the cores; their results are applied in target order.
  std::vector<std::vector<double>> load = s.before;
  std::vector<std::size_t> count = s.count_before;
  std::vector<std::size_t> over_targets;
  for (std::size_t t = 0; t < n_targets; ++t) {
    if (!problem.targets[t].overflow && !fits(load[t], bounds[t])) over_targets.push_back(t);
  }
  struct Removed {
    std::vector<std::size_t> chosen;  // indexes into the target's movable items
    bool exact = true;
  };
  std::vector<Removed> removed(over_targets.size());
  constexpr std::size_t kTargetsPerPart = 16;
  for_each_part(over_targets.size(), kTargetsPerPart, [&](std::size_t begin, std::size_t end) {
    std::vector<int> local_class(classes.size(), -1);  // Removal's scratch, one per thread
    for (std::size_t k = begin; k < end; ++k) {
      const std::size_t t = over_targets[k];
      Removal removal(problem, movable[t], item_class, local_class, load[t], bounds[t]);
      removed[k].chosen = removal.run(removed[k].exact);
    }
  });
  std::vector<int> pool;
  for (std::size_t k = 0; k < over_targets.size(); ++k) {
    const std::size_t t = over_targets[k];
    std::uint32_t over = 0;
    for (std::size_t l = 0; l < dims; ++l) {
      if (!within(load[t][l], bounds[t].capacity[l], bounds[t].strict[l])) over |= 1u << l;
    }
    for (std::size_t chosen : removed[k].chosen) {
      const int item = movable[t][chosen];
      s.items[item].reason = Reason::OverLimit;
      s.items[item].over = over;
      for (std::size_t l = 0; l < dims; ++l) load[t][l] -= problem.weight(static_cast<std::size_t>(item))[l];
      --count[t];
      pool.push_back(item);
    }
    s.minimal = s.minimal && removed[k].exact;
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
  Placer placer(problem, item_class, classes.size(), load, bounds, count);
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
      for (std::size_t l = 0; l < dims; ++l) load[p.target][l] += problem.weight(static_cast<std::size_t>(item))[l];
      ++count[p.target];
    }
  }
  for (const auto& p : s.items) s.moves += p.moved ? 1 : 0;
  s.after = std::move(load);
  s.count_after = std::move(count);
  return s;
}

}  // namespace rapport::engine::planning
