#include "engine/evaluator.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <iterator>
#include <mutex>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <span>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <boost/sort/spreadsort/float_sort.hpp>

#include "engine/format.hpp"
#include "engine/join_index.hpp"
#include "engine/vector.hpp"
#include "model/time.hpp"

namespace rapport::engine {

namespace {

using dsl::CompareMode;
using dsl::CompareOp;
using dsl::Function;
using dsl::Node;
using dsl::Op;
using dsl::Unit;
using model::kMissingStr;
using model::kNoRow;
using model::StrId;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
/// rank() and percentile_rank() merge sorted lanes with the list from this many lanes and values
/// on (below it, a binary search per lane stays in the cache).
constexpr std::size_t kMergeRanksLanes = 1 << 15;

/// Sorts numbers without NaN ascending with Boost's spreadsort (a radix sort on the doubles' bits
/// that sorts small buckets by comparison): percentile_rank() over a million revenues sorts them
/// several times faster than std::sort. -0 comes before +0; they compare equal, so ranks don't
/// tell.
void sort_numbers(std::vector<double>& values) { boost::sort::spreadsort::float_sort(values.begin(), values.end()); }

/// Sorts (number, lane) pairs by number (numbers without NaN); the order among equal numbers is
/// unspecified.
void sort_by_number(std::vector<std::pair<double, std::uint32_t>>& pairs) {
  using Pair = std::pair<double, std::uint32_t>;
  boost::sort::spreadsort::float_sort(
      pairs.begin(), pairs.end(),
      [](const Pair& p, unsigned offset) {
        return boost::sort::spreadsort::float_mem_cast<double, std::int64_t>(p.first) >> offset;
      },
      [](const Pair& a, const Pair& b) { return a.first < b.first; });
}

/// A scope of evaluation: `lanes` lanes, each mapped to a lane of the parent frame.
struct Frame {
  const Frame* parent = nullptr;
  int level = 0;
  std::size_t lanes = 1;
  std::vector<std::uint32_t> parent_lane;
  Vec var;
  std::vector<Vec>* lets = nullptr;
  mutable std::unordered_map<const Node*, Vec> cache;
  mutable std::unordered_map<int, std::vector<std::uint32_t>> maps;
};

/// Makes `frame` the subject frame (level 1 under `global`) of the `lanes` subjects in `var`.
void set_subject_frame(Frame& frame, const Frame& global, Vec var, std::size_t lanes, std::vector<Vec>& lets) {
  frame.parent = &global;
  frame.level = 1;
  frame.lets = &lets;
  frame.var = std::move(var);
  frame.var.lanes = lanes;
  frame.lanes = lanes;
  frame.parent_lane.assign(lanes, 0);
}

Vec constant_of(Kind kind, std::size_t lanes_hint = 1) {
  Vec v;
  v.kind = kind;
  v.constant = true;
  v.lanes = lanes_hint;
  return v;
}

Vec make_scalar(Kind kind, std::size_t lanes) {
  Vec v;
  v.kind = kind;
  v.lanes = lanes;
  switch (storage_of(kind)) {
    case Storage::Number: v.num.assign(lanes, kNaN); break;
    case Storage::String: v.str.assign(lanes, kMissingStr); break;
    case Storage::Row: v.row.assign(lanes, kNoRow); break;
  }
  return v;
}

/// Gathers lanes of `v` by `index` (index[i] = the lane of v that lane i takes).
Vec gather(const Vec& v, const std::vector<std::uint32_t>& index) {
  if (v.constant) {
    Vec copy = v;
    copy.lanes = index.size();
    return copy;
  }
  Vec out;
  out.kind = v.kind;
  out.element = v.element;
  out.lanes = index.size();
  if (!v.is_collection()) {
    switch (storage_of(v.kind)) {
      case Storage::Number:
        out.num.resize(index.size());
        for (std::size_t i = 0; i < index.size(); ++i) out.num[i] = v.num[index[i]];
        break;
      case Storage::String:
        out.str.resize(index.size());
        for (std::size_t i = 0; i < index.size(); ++i) out.str[i] = v.str[index[i]];
        break;
      case Storage::Row:
        out.row.resize(index.size());
        for (std::size_t i = 0; i < index.size(); ++i) out.row[i] = v.row[index[i]];
        break;
    }
    return out;
  }
  out.off.resize(index.size() + 1);
  out.off[0] = 0;
  std::size_t total = 0;
  for (std::size_t i = 0; i < index.size(); ++i) {
    total += v.off[index[i] + 1] - v.off[index[i]];
    out.off[i + 1] = static_cast<std::uint32_t>(total);
  }
  Storage storage = storage_of(v.storage_kind());
  auto copy_elements = [&](const auto& from, auto& to) {
    to.reserve(total);
    for (std::uint32_t src : index) to.insert(to.end(), from.begin() + v.off[src], from.begin() + v.off[src + 1]);
  };
  if (storage == Storage::Number) copy_elements(v.num, out.num);
  else if (storage == Storage::String) copy_elements(v.str, out.str);
  else copy_elements(v.row, out.row);
  if (!v.present.empty()) {
    out.present.resize(index.size());
    for (std::size_t i = 0; i < index.size(); ++i) out.present[i] = v.present[index[i]];
  }
  return out;
}

/// Turns a constant vector into one with a value per lane.
Vec expand(const Vec& v, std::size_t lanes) {
  if (!v.constant) return v;
  std::vector<std::uint32_t> zeros(lanes, 0);
  Vec plain = v;
  plain.constant = false;
  plain.lanes = 1;
  return gather(plain, zeros);
}

bool truthy(double value) { return value == 1.0; }

double kleene_and(double x, double y) {
  if (x == 0 || y == 0) return 0.0;
  if (std::isnan(x) || std::isnan(y)) return kNaN;
  return 1.0;
}

double kleene_or(double x, double y) {
  if (x == 1 || y == 1) return 1.0;
  if (std::isnan(x) || std::isnan(y)) return kNaN;
  return 0.0;
}

/// A bool vector sized for `lanes` lanes, or one value when every input is constant.
Vec bool_vector(bool constant, std::size_t lanes) {
  Vec out;
  out.kind = Kind::Bool;
  out.constant = constant;
  out.lanes = lanes;
  out.num.resize(constant ? 1 : lanes);
  return out;
}

template <typename F>
Vec binary_numbers(const Vec& a, const Vec& b, std::size_t lanes, Kind kind, F f) {
  Vec out;
  out.kind = kind;
  out.constant = a.constant && b.constant;
  out.lanes = lanes;
  std::size_t n = out.constant ? 1 : lanes;
  out.num.resize(n);
  for (std::size_t i = 0; i < n; ++i) out.num[i] = f(a.num[a.at(i)], b.num[b.at(i)]);
  return out;
}

/// The rows of a table that refer to each row of another (by a Ref field): rows[off[t], off[t + 1]).
struct RowIndex {
  std::vector<std::uint32_t> off;  // by target row (+1)
  std::vector<std::int32_t> rows;
};

/// Row and key indexes built once for all the evaluators of one evaluate() call: each thread keeps
/// an evaluator per pack, and two packs that join on `activities.account_id` would otherwise each
/// build it (45 MB and a pass over ten million rows at a million accounts). The data doesn't
/// change during the call.
class SharedIndexes {
 public:
  using Key = std::pair<std::string, std::string>;  // entity, field
  template <typename Build>
  const RowIndex& row_index(const Key& key, Build build) { return get(rows_, key, build); }
  template <typename Build>
  const KeyIndex& key_index(const Key& key, Build build) { return get(keys_, key, build); }

 private:
  template <typename T>
  struct Entry {
    std::once_flag built;
    T value;
  };
  template <typename T, typename Build>
  const T& get(std::map<Key, Entry<T>>& entries, const Key& key, Build build) {
    Entry<T>* entry;
    {
      std::lock_guard lock(mutex_);
      entry = &entries[key];  // map nodes don't move
    }
    std::call_once(entry->built, [&] { entry->value = build(); });  // others wait for the first
    return entry->value;
  }
  std::mutex mutex_;
  std::map<Key, Entry<RowIndex>> rows_;
  std::map<Key, Entry<KeyIndex>> keys_;
};

/// A rule's messages (or remedies) for the subjects it fired on: which text applies to each, and
/// the values of the texts' expressions over those subjects. A finding's FindingText renders its
/// lane from them, at once or when read (EvalOptions::defer_texts).
struct RuleTexts final : FindingText::Source {
  struct Part {
    std::string text;                  // a literal part
    const dsl::Type* type = nullptr;   // an expression part: its type (the compiled rule's) ...
    std::size_t value = 0;             // ... and its values, values[value]
  };
  std::vector<std::vector<Part>> texts;
  std::vector<Vec> values;
  std::vector<std::int16_t> chosen;  // per lane, the text that applies (-1: none)
  const model::Dataset* data = nullptr;

  void append(std::string& out, std::uint32_t lane) const override {
    const int t = chosen[lane];
    if (t < 0) return;
    for (const Part& part : texts[static_cast<std::size_t>(t)]) {
      if (part.type) append_lane(out, values[part.value], *part.type, lane, *data);
      else out += part.text;
    }
  }
};

/// The `let` values of a rule's findings (one lane per finding), rendered as their evidence
/// (EvidenceList's form) when read.
struct RuleEvidence final : LaneRenderer {
  std::vector<Vec> lets;
  std::vector<const dsl::Type*> types;  // the compiled rule's
  const model::Dataset* data = nullptr;

  void append(std::string& out, std::uint32_t lane) const override {
    for (std::size_t l = 0; l < lets.size(); ++l) {
      append_evidence_json(out, lets[l], *types[l], lane, *data);
      out.push_back('\0');
    }
  }
};

/// The names of a batch's subjects (one lane per finding): read from the dataset's string pool
/// when written (deferred texts), or copied into one string when found. Only findings whose subject
/// has a name refer to it; the others keep an empty text.
struct RuleNames final : LaneRenderer {
  const model::Dataset* data = nullptr;  // deferred: names[lane] in its pool
  std::vector<StrId> names;
  std::string copied;                    // else: lane's name is copied[ends[lane - 1], ends[lane])
  std::vector<std::uint32_t> ends;

  void append(std::string& out, std::uint32_t lane) const override {
    if (data) {
      out += data->strings.view(names[lane]);
    } else {
      const std::uint32_t begin = lane ? ends[lane - 1] : 0;
      out.append(copied, begin, ends[lane] - begin);
    }
  }
  [[nodiscard]] bool empty(std::uint32_t /*lane*/) const override { return false; }
};

class Evaluator {
 public:
  /// `shortcuts`: see EvalOptions::shared_set_shortcuts.
  Evaluator(const dsl::CompiledPack& pack, const dsl::ParamValues& params, model::Dataset& data, double now,
            bool shortcuts = true)
      : pack_(pack), params_(params), data_(data), now_(now), shortcuts_(shortcuts) {}

  EvalResult run(const EvalOptions& options);
  /// Settings of evaluate(): EvalOptions::defer_texts, run-level values kept for all batches of
  /// subjects, and indexes shared with the call's other evaluators (the data doesn't change
  /// during the call).
  void configure_for_run(const EvalOptions& options, SharedIndexes* shared = nullptr) {
    shared_ = shared;
    defer_texts_ = options.defer_texts;
    subject_batch_ = std::max<std::size_t>(options.subject_batch, 1);
    filter_batch_ = std::max<std::size_t>(options.filter_batch, 1);
    keep_run_values_ = true;
  }
  /// Evaluates one enabled rule, appending its summary to `summaries` and its findings (unsorted)
  /// to `batches`, a vector per batch of subjects that found any: each sized exactly, with no
  /// vector growing (and moving its findings) as batches add to it.
  void run_rule(const dsl::CompiledRule& rule, std::vector<RuleSummary>& summaries,
                std::vector<std::vector<Finding>>& batches);

  /// The rule's subjects, evaluated once in `global`: a Set of rows or a List of values.
  Vec subjects(const dsl::CompiledRule& rule, const Frame& global);
  /// Computes the lets (into *subject.lets) and `when` for every lane of `subject`, counts them
  /// in `summary`, and appends the findings of the lanes where `when` is true (texts and
  /// escalations are computed for those lanes only). Returns `when`.
  Vec judge(const dsl::CompiledRule& rule, const Frame& global, const Frame& subject, RuleSummary& summary,
            std::vector<Finding>& findings);
  Vec eval(const Node& node, const Frame& frame);

 private:
  Vec eval_here(const Node& node, const Frame& frame);
  const Frame& ancestor(const Frame& frame, int level) const;
  const std::vector<std::uint32_t>& lane_map(const Frame& frame, int level) const;

  Vec constant_value(const dsl::Value& value);
  void append_value(Vec& out, const dsl::Value& value);
  Vec param_keyed(const Node& node, const Frame& frame);
  Vec field(const Node& node, const Frame& frame);
  Vec navigate(const Node& node, const Frame& frame);
  Vec entity_set(const std::string& entity);
  Vec filter(const Node& node, const Frame& frame);
  Vec conjunction(const std::vector<const Node*>& terms, const Frame& frame);
  Vec of(const Node& node, const Frame& frame);
  Vec arithmetic(const Node& node, const Frame& frame);
  Vec logic(const Node& node, const Frame& frame);
  Vec compare(const Node& node, const Frame& frame);
  Vec membership(const Node& node, const Frame& frame);
  Vec except(const Node& node, const Frame& frame);
  /// The column of a TextList field evaluated in this frame, which an operator may read in place
  /// (ColumnLists), or nullptr.
  const model::Column* list_column_here(const Node& node, const Frame& frame) const;
  /// The loaded column a Field or Navigate node reads, or nullptr.
  const model::Column* field_column(const Node& node) const {
    const model::Table* table = data_.table(node.entity);
    return table ? table->column(node.field) : nullptr;
  }
  Vec missing_test(const Node& node, const Frame& frame);
  Vec within(const Node& node, const Frame& frame);
  Vec make_list(const Node& node, const Frame& frame);
  Vec call(const Node& node, const Frame& frame);
  Vec aggregate(const Node& node, const Vec& input, std::size_t lanes);

  const std::vector<std::int32_t>& all_rows(const std::string& entity);
  const RowIndex& row_index(const std::string& entity, const std::string& field);
  RowIndex build_row_index(const std::string& entity, const std::string& field) const;
  KeyIndex build_key_index(const std::string& entity, const std::string& field);
  const KeyIndex& key_index(const std::string& entity, const std::string& field);
  model::TextValues text_column(const std::string& entity, const std::string& field) const;
  const JoinConjunct* join_conjunct(const Node& filter);
  const Node* run_constant_origin(const Node& set) const;
  bool reads_lanes_below(const Node& node, int level) const;
  bool same_for_every_lane(const Node& filter);
  const KeyIndex& set_index(const Node& filter, const JoinConjunct& join, const Vec& base,
                            std::optional<KeyIndex>& local);
  const std::unordered_map<StrId, int>& enum_ranks(const std::string& entity, const std::string& field);

  const dsl::CompiledPack& pack_;
  const dsl::ParamValues& params_;
  model::Dataset& data_;
  double now_;
  bool shortcuts_ = true;
  bool defer_texts_ = false;
  SharedIndexes* shared_ = nullptr;  // evaluate()'s, else none (indexes kept here)
  std::size_t subject_batch_ = EvalOptions{}.subject_batch;
  std::size_t filter_batch_ = EvalOptions{}.filter_batch;
  const dsl::CompiledRule* rule_ = nullptr;  // the rule being judged: its lets' definitions
  std::map<std::string, std::vector<std::int32_t>> all_rows_;
  std::map<std::pair<std::string, std::string>, RowIndex> row_indexes_;
  std::map<std::pair<std::string, std::string>, KeyIndex> key_indexes_;
  std::unordered_map<const Node*, std::optional<JoinConjunct>> join_conjuncts_;  // by Filter node
  std::unordered_map<const Node*, bool> same_for_every_lane_;                    // by Filter node
  // Indexes of sets that are the same for the whole run, by the node that defines the set and the
  // key field.
  std::map<std::pair<const Node*, std::string>, KeyIndex> set_indexes_;
  std::map<std::pair<std::string, std::string>, std::unordered_map<StrId, int>> enum_ranks_;

 public:
  // ---- For SubjectEvaluator: some subjects at a time, over data that changes between calls ----
  /// Rows whose link or key changed while a what-if change is applied: the full, ordered list of
  /// rows for each changed target or key, consulted before the index (which stays as built).
  using RowPatch = std::unordered_map<std::int32_t, std::vector<std::int32_t>>;
  using KeyPatch = std::unordered_map<StrId, std::vector<std::int32_t>>;
  /// The rows among `candidates` (ascending rows of the rule's subject entity) that are its subjects.
  std::vector<std::int32_t> subjects_among(const dsl::CompiledRule& rule, const Frame& global,
                                           std::span<const std::int32_t> candidates);
  std::span<const std::int32_t> linked_rows(const std::string& entity, const std::string& field, std::int32_t target);
  std::span<const std::int32_t> keyed_rows(const std::string& entity, const std::string& field, StrId key);
  /// Moves `row` in the indexes of `entity`.`field` from `before` to `after` (key and target row).
  void patch_row(const std::string& entity, const std::string& field, std::int32_t row, StrId key_before,
                 StrId key_after, std::int32_t target_before, std::int32_t target_after);
  /// `row` of `entity` was appended (all fields missing) or is about to be deleted.
  void patch_added(const std::string& entity, std::int32_t row);
  void patch_deleted(const std::string& entity, std::int32_t row);
  /// Drops the patches and whatever was derived from the changed data.
  void forget_patches();
  /// Builds the indexes the filters under `node` look rows up in (before data is patched).
  void prepare_indexes(const Node& node);
  bool keep_run_values_ = false;  // run-level values outlive one run (sorted ranking lists)

 private:
  template <typename Patch>
  static const Patch* patch_of(const std::map<std::pair<std::string, std::string>, Patch>& patches,
                               const std::string& entity, const std::string& field) {
    if (patches.empty()) return nullptr;
    auto it = patches.find(std::make_pair(entity, field));
    return it == patches.end() ? nullptr : &it->second;
  }
  static std::span<const std::int32_t> linked_rows(const RowIndex& index, const RowPatch* patch, std::int32_t target);
  static std::span<const std::int32_t> keyed_rows(const KeyIndex& index, const KeyPatch* patch, StrId key);
  std::map<std::pair<std::string, std::string>, RowPatch> row_patches_;
  std::map<std::pair<std::string, std::string>, KeyPatch> key_patches_;
  void begin_patches();
  std::set<std::string> patched_entities_;  // rows added or deleted
  std::set<std::pair<std::string, std::string>> patched_fields_;
  std::set<std::pair<std::string, std::string>> indexes_before_patches_;  // "row:"/"key:" + entity, field
  std::unordered_map<const Node*, std::vector<double>> sorted_lists_;
};

// ---------------------------------------------------------------------------------------------

const Frame& Evaluator::ancestor(const Frame& frame, int level) const {
  const Frame* f = &frame;
  while (f->level > level) f = f->parent;
  return *f;
}

const std::vector<std::uint32_t>& Evaluator::lane_map(const Frame& frame, int level) const {
  if (frame.level - 1 == level) return frame.parent_lane;
  auto it = frame.maps.find(level);
  if (it != frame.maps.end()) return it->second;
  std::vector<std::uint32_t> map = frame.parent_lane;
  const Frame* f = frame.parent;
  while (f->level > level) {
    for (auto& lane : map) lane = f->parent_lane[lane];
    f = f->parent;
  }
  return frame.maps.emplace(level, std::move(map)).first->second;
}

Vec Evaluator::eval(const Node& node, const Frame& frame) {
  if (node.op == Op::Const) return constant_value(node.constant);
  if (node.level < frame.level) {
    const Frame& home = ancestor(frame, node.level);
    auto it = home.cache.find(&node);
    if (it == home.cache.end()) {
      Vec value = eval_here(node, home);
      if (home.level == 0) value.constant = true;  // one value for the whole run
      it = home.cache.emplace(&node, std::move(value)).first;
    }
    if (it->second.constant) return it->second;
    return gather(it->second, lane_map(frame, node.level));
  }
  Vec v = eval_here(node, frame);
  if (frame.level == 0) v.constant = true;
  return v;
}

Vec Evaluator::eval_here(const Node& node, const Frame& frame) {
  switch (node.op) {
    case Op::Const: return constant_value(node.constant);
    case Op::Param: return constant_value(params_.values[node.slot]);
    case Op::ParamKeyed: return param_keyed(node, frame);
    case Op::Now: {
      Vec v = constant_of(Kind::Timestamp);
      v.num = {now_};
      return v;
    }
    case Op::Today: {
      Vec v = constant_of(Kind::Date);
      v.num = {std::floor(now_ / model::kSecondsPerDay) * model::kSecondsPerDay};
      return v;
    }
    case Op::Var: {
      const Frame& home = ancestor(frame, node.level);
      if (&home == &frame) return home.var;
      return gather(home.var, lane_map(frame, node.level));
    }
    case Op::LetRef: {
      const Frame& home = ancestor(frame, 1);
      const Vec& value = (*home.lets)[node.slot];
      if (&home == &frame || value.constant) return value;
      return gather(value, lane_map(frame, 1));
    }
    case Op::Field: return field(node, frame);
    case Op::Navigate: return navigate(node, frame);
    case Op::EntitySet: return entity_set(node.entity);
    case Op::Filter: return filter(node, frame);
    case Op::Of: return of(node, frame);
    case Op::Negate:
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div:
      return arithmetic(node, frame);
    case Op::Not:
    case Op::And:
    case Op::Or:
      return logic(node, frame);
    case Op::Compare: return compare(node, frame);
    case Op::In:
    case Op::NotIn:
    case Op::Has:
    case Op::HasAny:
    case Op::HasAll:
      return membership(node, frame);
    case Op::Except: return except(node, frame);
    case Op::IsMissing:
    case Op::IsNotMissing:
      return missing_test(node, frame);
    case Op::WithinLast:
    case Op::WithinNext:
      return within(node, frame);
    case Op::MakeList: return make_list(node, frame);
    case Op::Call: return call(node, frame);
  }
  return make_scalar(Kind::Number, frame.lanes);
}

// ---------------------------------------------------------------------------------------------
// Constants and parameters

void Evaluator::append_value(Vec& out, const dsl::Value& value) {
  switch (storage_of(value.kind)) {
    case Storage::Number: out.num.push_back(value.missing ? kNaN : value.number); break;
    case Storage::String: out.str.push_back(value.missing ? kMissingStr : data_.strings.intern_shared(value.text)); break;
    case Storage::Row: out.row.push_back(kNoRow); break;
  }
}

Vec Evaluator::constant_value(const dsl::Value& value) {
  Vec v = constant_of(value.kind);
  if (value.kind == Kind::List) {
    v.element = value.items.empty() ? Kind::Text : value.items.front().kind;
    v.off = {0, static_cast<std::uint32_t>(value.items.size())};
    for (const auto& item : value.items) append_value(v, item);
    if (value.missing) v.present = {0};
    return v;
  }
  append_value(v, value);
  return v;
}

Vec Evaluator::param_keyed(const Node& node, const Frame& frame) {
  Vec key = eval(node.args[0], frame);
  const dsl::Value& fallback = params_.values[node.slot];
  std::unordered_map<StrId, const dsl::Value*> table;
  for (const auto& [name, value] : params_.keyed[node.slot]) table[data_.strings.intern_shared(name)] = &value;
  Vec out;
  out.kind = fallback.kind;
  out.constant = key.constant;
  out.lanes = frame.lanes;
  std::size_t lanes = key.constant ? 1 : frame.lanes;
  if (fallback.kind == Kind::List) {
    out.element = fallback.items.empty() ? Kind::Text : fallback.items.front().kind;
    out.off.push_back(0);
  }
  for (std::size_t i = 0; i < lanes; ++i) {
    StrId k = key.str[i];
    const dsl::Value* value = &fallback;
    if (auto it = table.find(k); it != table.end()) value = it->second;
    if (k == kMissingStr) {
      dsl::Value missing = fallback;
      missing.missing = true;
      if (fallback.kind == Kind::List) {
        out.off.push_back(out.off.back());
        out.present.resize(i, 1);
        out.present.push_back(0);
      } else {
        append_value(out, missing);
      }
      continue;
    }
    if (fallback.kind == Kind::List) {
      for (const auto& item : value->items) append_value(out, item);
      out.off.push_back(static_cast<std::uint32_t>(storage_of(out.element) == Storage::String ? out.str.size() : out.num.size()));
      if (!out.present.empty()) out.present.push_back(1);
    } else {
      append_value(out, *value);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rows, fields and sets

const std::vector<std::int32_t>& Evaluator::all_rows(const std::string& entity) {
  auto it = all_rows_.find(entity);
  if (it != all_rows_.end()) return it->second;
  std::vector<std::int32_t> rows;
  if (const model::Table* table = data_.table(entity)) {
    rows.resize(table->size());
    std::iota(rows.begin(), rows.end(), 0);
    if (!table->deleted.empty()) std::erase_if(rows, [table](std::int32_t r) { return table->is_deleted(r); });
  }
  return all_rows_.emplace(entity, std::move(rows)).first->second;
}

Vec Evaluator::entity_set(const std::string& entity) {
  Vec v = constant_of(Kind::Set);
  const std::vector<std::int32_t>& rows = all_rows(entity);
  v.row.assign(rows.begin(), rows.end());
  v.off = {0, static_cast<std::uint32_t>(v.row.size())};
  return v;
}

Vec Evaluator::field(const Node& node, const Frame& frame) {
  Vec rows = eval(node.args[0], frame);
  const model::Table* table = data_.table(node.entity);
  std::size_t lanes = rows.constant ? 1 : frame.lanes;
  Vec out;
  out.kind = node.type.kind;
  out.lanes = frame.lanes;
  out.constant = rows.constant;
  if (node.field == "id") {
    table->require_interned_ids("a rule");
    out.str.resize(lanes);
    for (std::size_t i = 0; i < lanes; ++i) {
      std::int32_t r = rows.row[i];
      out.str[i] = r == kNoRow ? kMissingStr : table->ids[r];
    }
    return out;
  }
  const model::Column* column = field_column(node);
  if (!column) return expand(make_scalar(out.kind, 1), 1);  // not loaded: the engine reports this earlier
  using model::FieldType;
  switch (column->def.type) {
    case FieldType::Number:
    case FieldType::Bool:
    case FieldType::Timestamp:
    case FieldType::Date: {
      out.num.resize(lanes);
      const model::NumberValues values(*column);
      values.visit([&](const auto& numbers) {
        for (std::size_t i = 0; i < lanes; ++i) {
          std::int32_t r = rows.row[i];
          out.num[i] = r == kNoRow ? kNaN : numbers[static_cast<std::size_t>(r)];
        }
      });
      break;
    }
    case FieldType::Text:
    case FieldType::Enum:
    case FieldType::Ref: {
      out.str.resize(lanes);
      const model::TextValues values(data_, *column);
      values.visit([&](const auto& strings) {
        for (std::size_t i = 0; i < lanes; ++i) {
          std::int32_t r = rows.row[i];
          out.str[i] = r == kNoRow ? kMissingStr : strings[static_cast<std::size_t>(r)];
        }
      });
      break;
    }
    case FieldType::TextList:
      out.kind = Kind::List;
      out.element = Kind::Text;
      out.off.resize(lanes + 1);
      out.off[0] = 0;
      out.present.resize(lanes);
      // Offsets and presence first, then the items copied into place: one allocation for all
      // lanes' items (millions of activity topics) instead of growing as they are appended.
      for (std::size_t i = 0; i < lanes; ++i) {
        std::int32_t r = rows.row[i];
        const bool present = r != kNoRow && column->list_present[r] != 0;
        out.present[i] = present ? 1 : 0;
        const std::size_t size = present ? column->list_size(static_cast<std::size_t>(r)) : 0;
        out.off[i + 1] = out.off[i] + static_cast<std::uint32_t>(size);
      }
      out.str.resize(out.off[lanes]);
      if (!column->list_overrides.empty()) {  // what-if copies (live.cpp): row by row
        for (std::size_t i = 0; i < lanes; ++i) {
          if (out.present[i]) column->copy_list(static_cast<std::size_t>(rows.row[i]), out.str.data() + out.off[i]);
        }
        break;
      }
      column->visit_list_items([&](const auto& items) {
        for (std::size_t i = 0; i < lanes; ++i) {
          if (!out.present[i]) continue;
          const auto r = static_cast<std::size_t>(rows.row[i]);
          StrId* to = out.str.data() + out.off[i];
          for (std::uint32_t k = column->list_offsets[r], e = column->list_offsets[r + 1]; k < e; ++k) *to++ = items[k];
        }
      });
      break;
  }
  return out;
}

Vec Evaluator::navigate(const Node& node, const Frame& frame) {
  Vec rows = eval(node.args[0], frame);
  const model::Column* column = field_column(node);
  std::size_t lanes = rows.constant ? 1 : frame.lanes;
  Vec out;
  out.kind = Kind::Row;
  out.lanes = frame.lanes;
  out.constant = rows.constant;
  out.row.resize(lanes, kNoRow);
  if (!column || column->rows.empty()) return out;
  for (std::size_t i = 0; i < lanes; ++i) {
    std::int32_t r = rows.row[i];
    out.row[i] = r == kNoRow ? kNoRow : column->rows[r];
  }
  return out;
}

const RowIndex& Evaluator::row_index(const std::string& entity, const std::string& field) {
  auto key = std::make_pair(entity, field);
  auto it = row_indexes_.find(key);
  if (it != row_indexes_.end()) return it->second;
  if (shared_) return shared_->row_index(key, [&] { return build_row_index(entity, field); });
  return row_indexes_.emplace(key, build_row_index(entity, field)).first->second;
}

RowIndex Evaluator::build_row_index(const std::string& entity, const std::string& field) const {
  RowIndex index;
  const model::Table* table = data_.table(entity);
  const model::Column* column = table ? table->column(field) : nullptr;
  const model::Table* target = column ? data_.table(column->def.ref_entity) : nullptr;
  std::size_t targets = target ? target->size() : 0;
  index.off.assign(targets + 2, 0);
  if (column && !column->rows.empty()) {
    for (std::size_t r = 0; r < column->rows.size(); ++r) {
      std::int32_t t = column->rows[r];
      if (t != kNoRow && !table->is_deleted(r)) ++index.off[static_cast<std::size_t>(t) + 2];
    }
    for (std::size_t i = 2; i < index.off.size(); ++i) index.off[i] += index.off[i - 1];
    index.rows.resize(index.off.back());
    for (std::size_t r = 0; r < column->rows.size(); ++r) {
      std::int32_t t = column->rows[r];
      if (t != kNoRow && !table->is_deleted(r)) index.rows[index.off[static_cast<std::size_t>(t) + 1]++] = static_cast<std::int32_t>(r);
    }
  }
  index.off.pop_back();
  return index;
}

model::TextValues Evaluator::text_column(const std::string& entity, const std::string& field) const {
  const model::Table* table = data_.table(entity);
  if (!table) return {};
  if (field == "id") {
    table->require_interned_ids("a rule");
    return model::TextValues(table->ids);
  }
  const model::Column* column = table->column(field);
  return column ? model::TextValues(data_, *column) : model::TextValues();
}

const KeyIndex& Evaluator::key_index(const std::string& entity, const std::string& field) {
  auto key = std::make_pair(entity, field);
  auto it = key_indexes_.find(key);
  if (it != key_indexes_.end()) return it->second;
  if (shared_) return shared_->key_index(key, [&] { return build_key_index(entity, field); });
  return key_indexes_.emplace(key, build_key_index(entity, field)).first->second;
}

KeyIndex Evaluator::build_key_index(const std::string& entity, const std::string& field) {
  const model::Table* table = data_.table(entity);
  if (table && !table->deleted.empty()) return KeyIndex(all_rows(entity), text_column(entity, field));  // deleted rows are in no index
  return KeyIndex(text_column(entity, field));
}

const JoinConjunct* Evaluator::join_conjunct(const Node& filter) {
  auto it = join_conjuncts_.find(&filter);
  if (it == join_conjuncts_.end()) it = join_conjuncts_.emplace(&filter, find_join_conjunct(filter)).first;
  return it->second ? &*it->second : nullptr;
}

/// The node whose value `set` is when that value is the same for the whole run (it reads no
/// frame, or it names a let that reads none), else null.
const Node* Evaluator::run_constant_origin(const Node& set) const {
  if (set.level == 0) return &set;
  if (set.op == Op::LetRef && rule_ && rule_->lets[static_cast<std::size_t>(set.slot)].value.level == 0) {
    return &rule_->lets[static_cast<std::size_t>(set.slot)].value;
  }
  return nullptr;
}

/// Whether `node` reads a value that can differ between the lanes of a frame below `level`: a
/// variable of such a frame, or a let that is not the same for the whole run.
bool Evaluator::reads_lanes_below(const Node& node, int level) const {
  if (node.level == 0) return false;
  if (node.op == Op::Var) return node.level < level;
  if (node.op == Op::LetRef) return !run_constant_origin(node);
  if (node.join_outer && reads_lanes_below(*node.join_outer, level)) return true;
  return std::any_of(node.args.begin(), node.args.end(),
                     [&](const Node& arg) { return reads_lanes_below(arg, level); });
}

/// Whether the condition of `filter` reads nothing that differs between the lanes it is
/// evaluated for: over a set shared by every lane, the result is then one set for all of them.
bool Evaluator::same_for_every_lane(const Node& filter) {
  auto it = same_for_every_lane_.find(&filter);
  if (it == same_for_every_lane_.end()) {
    bool same = filter.args.size() < 2 || !reads_lanes_below(filter.args[1], filter.frame_level);
    it = same_for_every_lane_.emplace(&filter, same).first;
  }
  return it->second;
}

/// The index of the constant set `base` by the join's key field: kept for the run when the set
/// is the same for the whole run, else built into `local` for this evaluation alone.
const KeyIndex& Evaluator::set_index(const Node& filter, const JoinConjunct& join, const Vec& base,
                                     std::optional<KeyIndex>& local) {
  std::span<const std::int32_t> rows(base.row.data() + base.begin(0), base.end(0) - base.begin(0));
  const model::TextValues keys = text_column(join.inner->entity, join.inner->field);
  auto build = [&] { return keys.empty() ? KeyIndex() : KeyIndex(rows, keys); };  // not loaded: all missing
  const Node* origin = run_constant_origin(filter.args[0]);
  if (!origin) return local.emplace(build());
  auto key = std::make_pair(origin, join.inner->field);
  auto it = set_indexes_.find(key);
  if (it == set_indexes_.end()) it = set_indexes_.emplace(key, build()).first;
  return it->second;
}

const std::unordered_map<StrId, int>& Evaluator::enum_ranks(const std::string& entity, const std::string& field) {
  auto key = std::make_pair(entity, field);
  auto it = enum_ranks_.find(key);
  if (it != enum_ranks_.end()) return it->second;
  std::unordered_map<StrId, int> ranks;
  if (const model::EntityDef* def = data_.schema.entity(entity)) {
    if (const model::FieldDef* f = def->field(field)) {
      for (std::size_t i = 0; i < f->enum_values.size(); ++i) ranks[data_.strings.intern_shared(f->enum_values[i])] = static_cast<int>(i);
    }
  }
  return enum_ranks_.emplace(key, std::move(ranks)).first->second;
}

Vec Evaluator::filter(const Node& node, const Frame& frame) {
  std::size_t lanes = frame.lanes;
  // Candidate rows per lane: from a join index, or the base set. `condition` holds the conjuncts
  // left to test on the candidates (all of them when scanning the base set).
  Vec base;
  const RowIndex* by_row = nullptr;
  const KeyIndex* by_key = nullptr;
  std::optional<KeyIndex> local_index;
  Vec outer;
  std::vector<const Node*> condition;
  bool shared = false;
  const RowPatch* row_patch = nullptr;  // what-if changes (SubjectEvaluator), else null
  const KeyPatch* key_patch = nullptr;
  if (!node.join_field.empty()) {
    row_patch = patch_of(row_patches_, node.entity, node.join_field);
    key_patch = patch_of(key_patches_, node.entity, node.join_field);
    if (node.join_by_row) {
      by_row = &row_index(node.entity, node.join_field);
      outer = eval(node.join_outer->args[0], frame);  // the outer row itself, not its id text
    } else {
      by_key = &key_index(node.entity, node.join_field);
      outer = eval(*node.join_outer, frame);
    }
    if (node.args.size() > 1) condition.push_back(&node.args[1]);
  } else {
    base = eval(node.args[0], frame);
    // A set shared by every lane, filtered by a condition that reads nothing of the lanes: one
    // result for all of them (computed for lane 0).
    shared = shortcuts_ && base.constant && same_for_every_lane(node);
    if (shared) lanes = std::min<std::size_t>(lanes, 1);
    // A set shared by every lane, filtered by `field = <outer value>`: look each lane's value up
    // in an index of the set. Worth it for many lanes, or when the index outlives this call.
    const JoinConjunct* join = shortcuts_ && base.constant && node.args.size() > 1 ? join_conjunct(node) : nullptr;
    if (join && (lanes > 1 || run_constant_origin(node.args[0]))) {
      key_patch = nullptr;  // an index of a set, not of the table
      by_key = &set_index(node, *join, base, local_index);
      outer = eval(*join->outer, frame);
      condition = join->rest;
    } else if (node.args.size() > 1) {
      condition.push_back(&node.args[1]);
    }
  }
  std::vector<std::span<const std::int32_t>> candidates(lanes);
  for (std::size_t lane = 0; lane < lanes; ++lane) {
    if (by_row) {
      std::int32_t r = outer.row[outer.at(lane)];
      candidates[lane] = linked_rows(*by_row, row_patch, r);
    } else if (by_key) {
      candidates[lane] = keyed_rows(*by_key, key_patch, outer.str[outer.at(lane)]);
    } else {
      std::size_t b = base.begin(lane);
      candidates[lane] = {base.row.data() + b, base.end(lane) - b};
    }
  }

  Vec out;
  out.kind = Kind::Set;
  out.lanes = lanes;
  out.off.assign(1, 0);
  if (condition.empty()) {
    for (std::size_t l = 0; l < lanes; ++l) {
      out.row.insert(out.row.end(), candidates[l].begin(), candidates[l].end());
      out.off.push_back(static_cast<std::uint32_t>(out.row.size()));
    }
  }
  // The condition is tested a batch of candidates at a time, one lane per candidate: whole lanes
  // while they fit, and a lane with more candidates than a batch in slices. Every operation is
  // lane-wise, so the batches don't change what is kept.
  struct Slice {
    std::size_t lane, begin, end;  // candidates[lane][begin, end)
  };
  std::vector<Slice> slices;
  std::size_t lane = 0;
  std::size_t from = 0;  // candidates of `lane` already tested
  while (!condition.empty() && lane < lanes) {
    slices.clear();
    std::size_t total = 0;
    while (lane < lanes && total < filter_batch_) {
      const std::size_t left = candidates[lane].size() - from;
      const std::size_t take = std::min(left, filter_batch_ - total);
      slices.push_back({lane, from, from + take});
      total += take;
      if (take == left) {
        ++lane;
        from = 0;
      } else {
        from += take;
      }
    }
    Frame child;
    child.parent = &frame;
    child.level = node.frame_level;
    child.lanes = total;
    child.parent_lane.reserve(total);
    child.var.kind = Kind::Row;
    child.var.lanes = total;
    child.var.row.reserve(total);
    for (const Slice& s : slices) {
      child.var.row.insert(child.var.row.end(), candidates[s.lane].begin() + static_cast<std::ptrdiff_t>(s.begin),
                           candidates[s.lane].begin() + static_cast<std::ptrdiff_t>(s.end));
      child.parent_lane.insert(child.parent_lane.end(), s.end - s.begin, static_cast<std::uint32_t>(s.lane));
    }
    Vec keep = total ? conjunction(condition, child) : Vec{};
    std::size_t at = 0;
    for (const Slice& s : slices) {
      for (std::size_t k = s.begin; k < s.end; ++k, ++at) {
        if (truthy(keep.num[keep.at(at)])) out.row.push_back(child.var.row[at]);
      }
      if (s.end == candidates[s.lane].size()) out.off.push_back(static_cast<std::uint32_t>(out.row.size()));
    }
  }
  out.constant = shared && lanes == 1;
  out.lanes = frame.lanes;
  return out;
}

/// The Kleene conjunction of `terms`, each evaluated in `frame`.
Vec Evaluator::conjunction(const std::vector<const Node*>& terms, const Frame& frame) {
  Vec result = eval(*terms[0], frame);
  for (std::size_t k = 1; k < terms.size(); ++k) {
    result = binary_numbers(result, eval(*terms[k], frame), frame.lanes, Kind::Bool,
                            [](double x, double y) { return kleene_and(x, y); });
  }
  return result;
}

Vec Evaluator::of(const Node& node, const Frame& frame) {
  Vec set = expand(eval(node.args[0], frame), frame.lanes);
  Frame child;
  child.parent = &frame;
  child.level = node.frame_level;
  child.lanes = set.row.size();
  child.parent_lane.resize(child.lanes);
  for (std::size_t l = 0; l < frame.lanes; ++l) {
    for (std::size_t k = set.off[l]; k < set.off[l + 1]; ++k) child.parent_lane[k] = static_cast<std::uint32_t>(l);
  }
  child.var.kind = Kind::Row;
  child.var.lanes = child.lanes;
  child.var.row = set.row;
  Vec values = child.lanes ? expand(eval(node.args[1], child), child.lanes) : make_scalar(node.type.element->kind, 0);
  Vec out;
  out.kind = Kind::List;
  out.element = values.kind;
  out.lanes = frame.lanes;
  out.off = std::move(set.off);
  out.num = std::move(values.num);
  out.str = std::move(values.str);
  out.row = std::move(values.row);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Operators

Vec Evaluator::arithmetic(const Node& node, const Frame& frame) {
  Kind kind = node.type.kind;
  if (node.op == Op::Negate) {
    Vec a = eval(node.args[0], frame);
    for (auto& x : a.num) x = -x;
    return a;
  }
  Vec a = eval(node.args[0], frame);
  Vec b = eval(node.args[1], frame);
  switch (node.op) {
    case Op::Add: return binary_numbers(a, b, frame.lanes, kind, [](double x, double y) { return x + y; });
    case Op::Sub: return binary_numbers(a, b, frame.lanes, kind, [](double x, double y) { return x - y; });
    case Op::Mul: return binary_numbers(a, b, frame.lanes, kind, [](double x, double y) { return x * y; });
    default:
      return binary_numbers(a, b, frame.lanes, kind, [](double x, double y) { return y == 0 ? kNaN : x / y; });
  }
}

Vec Evaluator::logic(const Node& node, const Frame& frame) {
  if (node.op == Op::Not) {
    Vec a = eval(node.args[0], frame);
    for (auto& x : a.num) x = std::isnan(x) ? x : 1.0 - x;
    return a;
  }
  // Kleene logic; every side is evaluated on every lane (column-at-a-time). The checker builds
  // n-ary conjunctions (a filter's terms left after taking out its join key), so fold them all.
  Vec result = eval(node.args[0], frame);
  for (std::size_t k = 1; k < node.args.size(); ++k) {
    Vec b = eval(node.args[k], frame);
    if (node.op == Op::And) {
      result = binary_numbers(result, b, frame.lanes, Kind::Bool, [](double x, double y) { return kleene_and(x, y); });
    } else {
      result = binary_numbers(result, b, frame.lanes, Kind::Bool, [](double x, double y) { return kleene_or(x, y); });
    }
  }
  return result;
}

double apply_compare(CompareOp op, double x, double y) {
  if (std::isnan(x) || std::isnan(y)) return kNaN;
  switch (op) {
    case CompareOp::Eq: return x == y ? 1.0 : 0.0;
    case CompareOp::Ne: return x != y ? 1.0 : 0.0;
    case CompareOp::Lt: return x < y ? 1.0 : 0.0;
    case CompareOp::Le: return x <= y ? 1.0 : 0.0;
    case CompareOp::Gt: return x > y ? 1.0 : 0.0;
    case CompareOp::Ge: return x >= y ? 1.0 : 0.0;
  }
  return kNaN;
}

Vec Evaluator::compare(const Node& node, const Frame& frame) {
  Vec a = eval(node.args[0], frame);
  Vec b = eval(node.args[1], frame);
  Vec out = bool_vector(a.constant && b.constant, frame.lanes);
  const std::size_t n = out.num.size();
  if (a.kind == Kind::Row) {
    for (std::size_t i = 0; i < n; ++i) {
      std::int32_t x = a.row[a.at(i)], y = b.row[b.at(i)];
      out.num[i] = x == kNoRow || y == kNoRow ? kNaN : apply_compare(node.compare, x, y);
    }
    return out;
  }
  switch (node.compare_mode) {
    case CompareMode::Numeric:
      for (std::size_t i = 0; i < n; ++i) out.num[i] = apply_compare(node.compare, a.num[a.at(i)], b.num[b.at(i)]);
      break;
    case CompareMode::Textual:
      for (std::size_t i = 0; i < n; ++i) {
        StrId x = a.str[a.at(i)], y = b.str[b.at(i)];
        out.num[i] = x == kMissingStr || y == kMissingStr ? kNaN : apply_compare(node.compare, x == y ? 0 : 1, 0);
      }
      break;
    case CompareMode::EnumRank: {
      const auto& ranks = enum_ranks(node.entity, node.field);
      auto rank = [&](StrId id) {
        auto it = ranks.find(id);
        return it == ranks.end() ? kNaN : static_cast<double>(it->second);
      };
      for (std::size_t i = 0; i < n; ++i) out.num[i] = apply_compare(node.compare, rank(a.str[a.at(i)]), rank(b.str[b.at(i)]));
      break;
    }
  }
  return out;
}

/// True when element k of list `v` equals the scalar at lane `i` of `s`.
bool element_equals(const Vec& list, std::size_t k, const Vec& scalar, std::size_t i) {
  switch (storage_of(list.element)) {
    case Storage::Number: return list.num[k] == scalar.num[scalar.at(i)];
    case Storage::String: return list.str[k] == scalar.str[scalar.at(i)];
    case Storage::Row: return list.row[k] == scalar.row[scalar.at(i)];
  }
  return false;
}

bool scalar_missing(const Vec& v, std::size_t i) {
  switch (storage_of(v.kind)) {
    case Storage::Number: return std::isnan(v.num[v.at(i)]);
    case Storage::String: return v.str[v.at(i)] == kMissingStr;
    case Storage::Row: return v.row[v.at(i)] == kNoRow;
  }
  return true;
}

/// Element `k` of a list as a one-lane constant, for comparing lists with lists.
bool lists_share(const Vec& a, std::size_t ka, const Vec& b, std::size_t kb) {
  switch (storage_of(a.element)) {
    case Storage::Number: return a.num[ka] == b.num[kb];
    case Storage::String: return a.str[ka] == b.str[kb];
    case Storage::Row: return a.row[ka] == b.row[kb];
  }
  return false;
}

Vec Evaluator::membership(const Node& node, const Frame& frame) {
  Vec a = eval(node.args[0], frame);
  Vec b = eval(node.args[1], frame);
  Vec out = bool_vector(a.constant && b.constant, frame.lanes);
  const std::size_t n = out.num.size();
  if (node.op == Op::In || node.op == Op::NotIn || node.op == Op::Has) {
    const Vec& list = node.op == Op::Has ? a : b;
    const Vec& scalar = node.op == Op::Has ? b : a;
    for (std::size_t i = 0; i < n; ++i) {
      if (scalar_missing(scalar, i) || list.list_missing(i)) {
        out.num[i] = kNaN;
        continue;
      }
      bool found = false;
      for (std::size_t k = list.begin(i), e = list.end(i); k < e && !found; ++k) found = element_equals(list, k, scalar, i);
      out.num[i] = (node.op == Op::NotIn ? !found : found) ? 1.0 : 0.0;
    }
    return out;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (a.list_missing(i) || b.list_missing(i)) {
      out.num[i] = kNaN;
      continue;
    }
    bool any = false;
    bool all = true;
    for (std::size_t kb = b.begin(i), eb = b.end(i); kb < eb; ++kb) {
      bool found = false;
      for (std::size_t ka = a.begin(i), ea = a.end(i); ka < ea && !found; ++ka) found = lists_share(a, ka, b, kb);
      any = any || found;
      all = all && found;
    }
    out.num[i] = (node.op == Op::HasAny ? any : all) ? 1.0 : 0.0;
  }
  return out;
}

namespace {

/// A list-valued Vec's lists, as except() reads them.
template <typename Items>
struct VecLists {
  const Vec& v;
  const Items& items;
  [[nodiscard]] bool missing(std::size_t i) const { return v.list_missing(i); }
  [[nodiscard]] std::size_t begin(std::size_t i) const { return v.begin(i); }
  [[nodiscard]] std::size_t end(std::size_t i) const { return v.end(i); }
  [[nodiscard]] auto operator[](std::size_t k) const { return items[k]; }
};

/// A TextList column's lists read in place, lane i's being row rows[i]'s: an operator that only
/// reads a field's lists (`activity.topics except ...`, millions of lanes) needn't copy them first.
template <typename Items>
struct ColumnLists {
  const model::Column& column;
  const Vec& rows;
  Items items;  // Column::visit_list_items()'s
  [[nodiscard]] std::int32_t row(std::size_t i) const { return rows.row[rows.at(i)]; }
  [[nodiscard]] bool missing(std::size_t i) const { return row(i) == kNoRow || column.list_present[row(i)] == 0; }
  [[nodiscard]] std::size_t begin(std::size_t i) const { return column.list_offsets[row(i)]; }
  [[nodiscard]] std::size_t end(std::size_t i) const { return column.list_offsets[row(i) + 1]; }
  [[nodiscard]] StrId operator[](std::size_t k) const { return items[k]; }
};

}  // namespace

const model::Column* Evaluator::list_column_here(const Node& node, const Frame& frame) const {
  if (node.op != Op::Field || node.level != frame.level || node.field == "id") return nullptr;
  const model::Column* column = field_column(node);
  if (!column || column->def.type != model::FieldType::TextList || !column->list_overrides.empty()) return nullptr;
  return column;
}

namespace {

/// True when `a` and `b` are the same simple operand: the same variable, let, parameter, or the
/// same field or link of the same operand. Anything else is "not known to be the same".
bool same_operand(const Node& a, const Node& b) {
  if (a.op != b.op || a.level != b.level) return false;
  switch (a.op) {
    case Op::Var: return true;
    case Op::LetRef:
    case Op::Param: return a.slot == b.slot;
    case Op::Field:
    case Op::Navigate:
      return a.entity == b.entity && a.field == b.field && a.args.size() == 1 && b.args.size() == 1 &&
             same_operand(a.args[0], b.args[0]);
    default: return false;
  }
}

}  // namespace

Vec Evaluator::except(const Node& node, const Frame& frame) {
  // `L except (L except M)` is how the language spells an intersection: the items of L that are
  // in M, missing when L or M is. Kept in one pass over L, without the inner list (at 1M
  // accounts the inner one holds nearly every topic of 6.8 M activities).
  const bool intersect = node.args[1].op == Op::Except && same_operand(node.args[0], node.args[1].args[0]);
  const Node& removed = intersect ? node.args[1].args[1] : node.args[1];
  // A TextList field on the left is read from its column (see ColumnLists); anything else, and
  // fields evaluated in an outer frame (kept in its cache), is evaluated first.
  const model::Column* column = list_column_here(node.args[0], frame);
  Vec a = column ? Vec{} : eval(node.args[0], frame);
  Vec rows = column ? eval(node.args[0].args[0], frame) : Vec{};
  Vec b = eval(removed, frame);
  const bool a_constant = column ? rows.constant : a.constant;
  Vec out;
  out.kind = Kind::List;
  out.element = column ? Kind::Text : a.element;
  out.constant = a_constant && b.constant;
  out.lanes = frame.lanes;
  std::size_t n = out.constant ? 1 : frame.lanes;
  out.off.resize(n + 1);
  out.off[0] = 0;
  bool any_missing = false;
  std::vector<std::uint8_t> present(n, 1);
  // One loop per storage type (millions of lanes: activity topics), comparing elements directly.
  auto keep_unremoved = [&](const auto& a_lists, const auto& b_items, auto& out_items) {
    // At most all of a's items: written through a cursor, the vector cut to size at the end (a
    // push_back per item costs a capacity check and, here, a call).
    std::size_t most = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!a_lists.missing(i)) most += a_lists.end(i) - a_lists.begin(i);
    }
    out_items.resize(most);
    auto* kept = out_items.data();
    std::size_t count = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (a_lists.missing(i) || b.list_missing(i)) {
        present[i] = 0;
        any_missing = true;
      } else {
        const std::size_t b_begin = b.begin(i), b_end = b.end(i);
        for (std::size_t ka = a_lists.begin(i), ea = a_lists.end(i); ka < ea; ++ka) {
          const auto item = a_lists[ka];
          std::size_t kb = b_begin;
          while (kb < b_end && !(b_items[kb] == item)) ++kb;
          // An intersection keeps what the inner `except` would have removed, and a missing
          // number (equal to nothing, so never removed by either) as the two passes would.
          if (intersect ? (kb != b_end || !(item == item)) : kb == b_end) kept[count++] = item;
        }
      }
      out.off[i + 1] = static_cast<std::uint32_t>(count);
    }
    out_items.resize(count);
  };
  if (column) {
    column->visit_list_items([&](const auto& items) {
      keep_unremoved(ColumnLists<std::decay_t<decltype(items)>>{*column, rows, items}, b.str, out.str);
    });
  } else {
    switch (storage_of(a.element)) {
      case Storage::Number: keep_unremoved(VecLists<Lanes<double>>{a, a.num}, b.num, out.num); break;
      case Storage::String: keep_unremoved(VecLists<Lanes<StrId>>{a, a.str}, b.str, out.str); break;
      case Storage::Row: keep_unremoved(VecLists<Lanes<std::int32_t>>{a, a.row}, b.row, out.row); break;
    }
  }
  if (any_missing) out.present = std::move(present);
  return out;
}

Vec Evaluator::missing_test(const Node& node, const Frame& frame) {
  Vec a = eval(node.args[0], frame);
  Vec out = bool_vector(a.constant, frame.lanes);
  const std::size_t n = out.num.size();
  bool want_missing = node.op == Op::IsMissing;
  for (std::size_t i = 0; i < n; ++i) {
    bool missing = a.is_collection() ? a.list_missing(i) : scalar_missing(a, i);
    out.num[i] = missing == want_missing ? 1.0 : 0.0;
  }
  return out;
}

Vec Evaluator::within(const Node& node, const Frame& frame) {
  Vec a = eval(node.args[0], frame);
  Vec d = eval(node.args[1], frame);
  double now = now_;
  bool last = node.op == Op::WithinLast;
  return binary_numbers(a, d, frame.lanes, Kind::Bool, [now, last](double t, double span) {
    if (std::isnan(t) || std::isnan(span)) return kNaN;
    return (last ? (now - span <= t && t <= now) : (now <= t && t <= now + span)) ? 1.0 : 0.0;
  });
}

Vec Evaluator::make_list(const Node& node, const Frame& frame) {
  std::vector<Vec> items;
  bool all_constant = true;
  for (const auto& arg : node.args) {
    items.push_back(eval(arg, frame));
    all_constant = all_constant && items.back().constant;
  }
  Vec out;
  out.kind = Kind::List;
  out.element = node.type.element->kind;
  out.constant = all_constant;
  out.lanes = frame.lanes;
  std::size_t n = all_constant ? 1 : frame.lanes;
  out.off.assign(1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (const auto& item : items) {
      if (scalar_missing(item, i)) continue;
      switch (storage_of(out.element)) {
        case Storage::Number: out.num.push_back(item.num[item.at(i)]); break;
        case Storage::String: out.str.push_back(item.str[item.at(i)]); break;
        case Storage::Row: out.row.push_back(item.row[item.at(i)]); break;
      }
    }
    out.off.push_back(static_cast<std::uint32_t>(std::max({out.num.size(), out.str.size(), out.row.size()})));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Functions

Vec Evaluator::aggregate(const Node& node, const Vec& in, std::size_t lanes) {
  Function f = node.function;
  Vec out;
  out.kind = node.type.kind;
  out.constant = in.constant;
  out.lanes = lanes;
  std::size_t n = in.constant ? 1 : lanes;
  if (f == Function::Distinct) {
    out.kind = Kind::List;
    out.element = in.element;
    out.off.assign(1, 0);
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t start = std::max({out.num.size(), out.str.size()});
      for (std::size_t k = in.begin(i), e = in.end(i); k < e; ++k) {
        if (storage_of(in.element) == Storage::String) {
          StrId s = in.str[k];
          if (s == kMissingStr || std::find(out.str.begin() + static_cast<long>(start), out.str.end(), s) != out.str.end()) continue;
          out.str.push_back(s);
        } else {
          double x = in.num[k];
          if (std::isnan(x) || std::find(out.num.begin() + static_cast<long>(start), out.num.end(), x) != out.num.end()) continue;
          out.num.push_back(x);
        }
      }
      out.off.push_back(static_cast<std::uint32_t>(std::max(out.num.size(), out.str.size())));
    }
    return out;
  }
  out.num.assign(n, kNaN);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t b = in.begin(i), e = in.end(i);
    if (f == Function::Count || f == Function::Exists) {
      std::size_t count = 0;
      if (in.kind == Kind::Set) {
        count = e - b;
      } else if (storage_of(in.element) == Storage::String) {
        for (std::size_t k = b; k < e; ++k) count += in.str[k] != kMissingStr;
      } else {
        for (std::size_t k = b; k < e; ++k) count += !std::isnan(in.num[k]);
      }
      if (f == Function::Exists) out.num[i] = count > 0 ? 1.0 : 0.0;
      else out.num[i] = in.list_missing(i) ? kNaN : static_cast<double>(count);
      continue;
    }
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    std::size_t count = 0;
    for (std::size_t k = b; k < e; ++k) {
      double x = in.num[k];
      if (std::isnan(x)) continue;
      sum += x;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
      ++count;
    }
    switch (f) {
      case Function::Sum: out.num[i] = sum; break;
      case Function::Avg: out.num[i] = count ? sum / static_cast<double>(count) : kNaN; break;
      case Function::Min: out.num[i] = count ? lo : kNaN; break;
      case Function::Max: out.num[i] = count ? hi : kNaN; break;
      case Function::Spread: out.num[i] = count ? hi - lo : kNaN; break;
      case Function::Stddev: {
        if (!count) break;
        double mean = sum / static_cast<double>(count);
        double squares = 0;
        for (std::size_t k = b; k < e; ++k) {
          if (!std::isnan(in.num[k])) squares += (in.num[k] - mean) * (in.num[k] - mean);
        }
        out.num[i] = std::sqrt(squares / static_cast<double>(count));
        break;
      }
      default: break;
    }
  }
  return out;
}

Vec Evaluator::call(const Node& node, const Frame& frame) {
  std::vector<Vec> args;
  for (const auto& arg : node.args) args.push_back(eval(arg, frame));
  const std::size_t lanes = frame.lanes;
  Function f = node.function;
  auto map1 = [&](Kind kind, auto fn) {
    Vec out;
    out.kind = kind;
    out.constant = args[0].constant;
    out.lanes = lanes;
    std::size_t n = out.constant ? 1 : lanes;
    out.num.resize(n);
    for (std::size_t i = 0; i < n; ++i) out.num[i] = fn(args[0].num[args[0].at(i)]);
    return out;
  };
  switch (f) {
    case Function::Min:
    case Function::Max:
      if (args.size() > 1) {
        Vec out = args[0];
        for (std::size_t k = 1; k < args.size(); ++k) {
          out = binary_numbers(out, args[k], lanes, node.type.kind, [f](double x, double y) {
            if (std::isnan(x)) return y;
            if (std::isnan(y)) return x;
            return f == Function::Min ? std::min(x, y) : std::max(x, y);
          });
        }
        return out;
      }
      return aggregate(node, args[0], lanes);
    case Function::Count:
    case Function::Sum:
    case Function::Avg:
    case Function::Distinct:
    case Function::Stddev:
    case Function::Spread:
    case Function::Exists:
      return aggregate(node, args[0], lanes);
    case Function::PercentileRank:
    case Function::Rank: {
      const Vec& value = args[0];
      const Vec& list = args[1];
      Vec out;
      out.kind = Kind::Number;
      out.constant = value.constant && list.constant;
      out.lanes = lanes;
      std::size_t n = out.constant ? 1 : lanes;
      out.num.assign(n, kNaN);
      std::vector<double> own;
      bool shared = list.constant;
      auto sorted_values = [&](std::size_t i) {
        own.clear();
        for (std::size_t k = list.begin(i), e = list.end(i); k < e; ++k) {
          if (!std::isnan(list.num[k])) own.push_back(list.num[k]);
        }
        sort_numbers(own);
      };
      // A list over the whole run, in an evaluator kept between calls: sorted once.
      const std::vector<double>* kept = nullptr;
      if (shared && keep_run_values_ && node.args[1].level == 0) {
        auto it = sorted_lists_.find(&node.args[1]);
        if (it == sorted_lists_.end()) {
          sorted_values(0);
          it = sorted_lists_.emplace(&node.args[1], std::move(own)).first;
        }
        kept = &it->second;
      } else if (shared) {
        sorted_values(0);
      }
      const std::vector<double>& sorted = kept ? *kept : own;
      // From how many values are at or below x (std::upper_bound's place of x).
      auto set_rank = [&](std::size_t i, std::size_t at_or_below) {
        out.num[i] = f == Function::PercentileRank
                         ? static_cast<double>(at_or_below) / static_cast<double>(sorted.size())
                         : static_cast<double>(sorted.size() - at_or_below) + 1;
      };
      if (shared && !value.constant && n >= kMergeRanksLanes && sorted.size() >= kMergeRanksLanes) {
        // Many lanes against one long list (every account's revenue among all accounts'): a
        // binary search per lane misses the cache at nearly every step. The lanes' values,
        // sorted, are merged with the list in one pass instead.
        std::vector<std::pair<double, std::uint32_t>> lanes_by_value;
        lanes_by_value.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
          if (!std::isnan(value.num[i])) lanes_by_value.emplace_back(value.num[i], static_cast<std::uint32_t>(i));
        }
        sort_by_number(lanes_by_value);
        std::size_t at_or_below = 0;
        for (const auto& [x, i] : lanes_by_value) {
          while (at_or_below < sorted.size() && sorted[at_or_below] <= x) ++at_or_below;
          set_rank(i, at_or_below);
        }
        return out;
      }
      for (std::size_t i = 0; i < n; ++i) {
        if (!shared) sorted_values(i);
        double x = value.num[value.at(i)];
        if (std::isnan(x) || sorted.empty()) continue;
        set_rank(i, static_cast<std::size_t>(std::upper_bound(sorted.begin(), sorted.end(), x) - sorted.begin()));
      }
      return out;
    }
    case Function::Abs: return map1(node.type.kind, [](double x) { return std::fabs(x); });
    case Function::Round: {
      if (args.size() == 1) return map1(Kind::Number, [](double x) { return std::round(x); });
      return binary_numbers(args[0], args[1], lanes, Kind::Number, [](double x, double digits) {
        double scale = std::pow(10.0, std::clamp(digits, 0.0, 12.0));
        return std::round(x * scale) / scale;
      });
    }
    case Function::IfMissing: {
      Vec a = expand(args[0], lanes);
      const Vec& b = args[1];
      if (a.is_collection()) {
        // A missing list takes the default list.
        bool any_missing = false;
        for (std::size_t i = 0; i < lanes; ++i) any_missing = any_missing || a.list_missing(i);
        if (!any_missing) return a;
        Vec out;
        out.kind = a.kind;
        out.element = a.element;
        out.lanes = lanes;
        out.off.assign(1, 0);
        for (std::size_t i = 0; i < lanes; ++i) {
          const Vec& from = a.list_missing(i) ? b : a;
          for (std::size_t k = from.begin(i), e = from.end(i); k < e; ++k) {
            if (storage_of(out.element) == Storage::String) out.str.push_back(from.str[k]);
            else out.num.push_back(from.num[k]);
          }
          out.off.push_back(static_cast<std::uint32_t>(std::max(out.num.size(), out.str.size())));
        }
        return out;
      }
      for (std::size_t i = 0; i < lanes; ++i) {
        switch (storage_of(a.kind)) {
          case Storage::Number:
            if (std::isnan(a.num[i])) a.num[i] = b.num[b.at(i)];
            break;
          case Storage::String:
            if (a.str[i] == kMissingStr) a.str[i] = b.str[b.at(i)];
            break;
          case Storage::Row:
            if (a.row[i] == kNoRow) a.row[i] = b.row[b.at(i)];
            break;
        }
      }
      return a;
    }
    case Function::Hours:
    case Function::Days:
    case Function::Weeks: {
      double unit = f == Function::Hours ? 3600.0 : f == Function::Days ? 86400.0 : 7 * 86400.0;
      if (args[0].kind == Kind::Duration) return map1(Kind::Number, [unit](double x) { return x / unit; });
      return map1(Kind::Duration, [unit](double x) { return x * unit; });
    }
    case Function::Percent: {
      Vec out = args[0];
      out.kind = Kind::Number;
      return out;
    }
    case Function::Lower:
    case Function::Upper: {
      Vec out = args[0];
      out.kind = Kind::Text;
      for (auto& s : out.str) {
        if (s == kMissingStr) continue;
        std::string text(data_.strings.view(s));
        for (char& c : text) {
          if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(f == Function::Lower ? std::tolower(c) : std::toupper(c));
        }
        s = data_.strings.intern_shared(text);
      }
      return out;
    }
    case Function::Length: {
      Vec out;
      out.kind = Kind::Number;
      out.constant = args[0].constant;
      out.lanes = lanes;
      for (StrId s : args[0].str) {
        out.num.push_back(s == kMissingStr ? kNaN : static_cast<double>(diag::count_code_points(data_.strings.view(s))));
      }
      return out;
    }
    case Function::Date:
      return map1(Kind::Date, [](double x) { return std::floor(x / model::kSecondsPerDay) * model::kSecondsPerDay; });
  }
  return make_scalar(node.type.kind, lanes);
}

// ---------------------------------------------------------------------------------------------
// Rules

bool selected(const dsl::CompiledRule& rule, const EvalOptions& options) {
  return options.only_rules.empty() ||
         std::find(options.only_rules.begin(), options.only_rules.end(), rule.id) != options.only_rules.end();
}

RuleSummary disabled_summary(const dsl::CompiledPack& pack, const dsl::CompiledRule& rule) {
  RuleSummary summary;
  summary.pack = pack.name;
  summary.rule = rule.id;
  summary.title = rule.title;
  summary.severity = rule.severity;
  summary.enabled = false;
  return summary;
}

EvalResult Evaluator::run(const EvalOptions& options) {
  EvalResult result;
  std::vector<std::vector<Finding>> batches;
  for (const auto& rule : pack_.rules) {
    if (!selected(rule, options)) continue;
    if (!rule.enabled) {
      result.rules.push_back(disabled_summary(pack_, rule));
      continue;
    }
    run_rule(rule, result.rules, batches);
  }
  result.findings = sort_findings(batches);
  return result;
}

Vec Evaluator::subjects(const dsl::CompiledRule& rule, const Frame& global) {
  rule_ = &rule;
  return eval(rule.subject, global);
}

void Evaluator::run_rule(const dsl::CompiledRule& rule, std::vector<RuleSummary>& summaries,
                         std::vector<std::vector<Finding>>& batches) {
  auto started = std::chrono::steady_clock::now();
  RuleSummary summary;
  summary.pack = pack_.name;
  summary.rule = rule.id;
  summary.title = rule.title;
  summary.severity = rule.severity;

  Frame global;
  global.level = 0;
  global.lanes = 1;

  // The subjects are judged in batches, a subject frame (one lane per subject) at a time. A lane
  // reads only its own subject and the run-level values, which `global` keeps for all batches, so
  // the findings are those of one frame of every subject; but a batch's vectors stay in the
  // processor's caches, and memory holds one batch's values instead of millions of lanes'.
  Vec subjects = this->subjects(rule, global);
  const std::size_t b = subjects.begin(0), e = subjects.end(0);
  summary.subjects = e - b;
  for (std::size_t from = b; from < e; from += subject_batch_) {
    const std::size_t to = std::min(e, from + subject_batch_);
    Vec var;
    if (rule.subject_kind == dsl::SubjectKind::Rows) {
      var.kind = Kind::Row;
      var.row.assign(subjects.row.begin() + from, subjects.row.begin() + to);
    } else {
      var.kind = subjects.element;
      if (storage_of(subjects.element) == Storage::String) {
        var.str.assign(subjects.str.begin() + from, subjects.str.begin() + to);
      } else {
        var.num.assign(subjects.num.begin() + from, subjects.num.begin() + to);
      }
    }
    Frame subject;
    std::vector<Vec> lets;
    set_subject_frame(subject, global, std::move(var), to - from, lets);
    std::vector<Finding> findings;
    judge(rule, global, subject, summary, findings);
    if (!findings.empty()) batches.push_back(std::move(findings));
  }
  summary.milliseconds =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  summaries.push_back(summary);
}

Vec Evaluator::judge(const dsl::CompiledRule& rule, const Frame& global, const Frame& subject, RuleSummary& summary,
                     std::vector<Finding>& findings) {
  rule_ = &rule;
  std::vector<Vec>& lets = *subject.lets;
  lets.clear();
  for (const auto& let : rule.lets) lets.push_back(eval(let.value, subject));
  Vec when = eval(rule.when, subject);

  std::vector<std::uint32_t> firing;
  for (std::size_t i = 0; i < subject.lanes; ++i) {
    double w = when.num[when.at(i)];
    if (std::isnan(w)) ++summary.unknown;
    else if (w == 1.0) firing.push_back(static_cast<std::uint32_t>(i));
  }
  summary.findings += firing.size();
  if (firing.empty()) return when;
  // A frame of the firing subjects only: texts and escalations are computed for them alone.
  Frame selected;
  selected.parent = &global;
  selected.level = 1;
  selected.lanes = firing.size();
  selected.parent_lane.assign(firing.size(), 0);
  selected.var = gather(subject.var, firing);
  std::vector<Vec> selected_lets;
  for (const auto& let : lets) selected_lets.push_back(gather(let, firing));
  selected.lets = &selected_lets;

  std::vector<dsl::Severity> severity(firing.size(), rule.severity);
  for (const auto& escalation : rule.escalations) {
    Vec cond = eval(escalation.condition, selected);
    for (std::size_t i = 0; i < firing.size(); ++i) {
      if (truthy(cond.num[cond.at(i)])) severity[i] = std::max(severity[i], escalation.severity);
    }
  }
  // Messages and remedies: per firing subject the first text whose condition holds, and the
  // values of the texts' expressions. Rendered now, or when read (defer_texts_).
  auto texts_of = [&](const std::vector<dsl::Text>& texts) {
    boost::intrusive_ptr<RuleTexts> out(new RuleTexts);
    out->data = &data_;
    out->chosen.assign(firing.size(), -1);
    for (std::size_t t = 0; t < texts.size(); ++t) {
      const dsl::Text& text = texts[t];
      std::vector<double> applies(firing.size(), 1.0);
      if (text.condition) {
        Vec cond = eval(*text.condition, selected);
        for (std::size_t i = 0; i < firing.size(); ++i) applies[i] = cond.num[cond.at(i)];
      }
      std::vector<RuleTexts::Part>& parts = out->texts.emplace_back();
      for (const auto& part : text.parts) {
        if (!part.is_expr) {
          parts.push_back({part.text, nullptr, 0});
          continue;
        }
        parts.push_back({{}, &part.expr.type, out->values.size()});
        out->values.push_back(eval(part.expr, selected));
      }
      for (std::size_t i = 0; i < firing.size(); ++i) {
        if (out->chosen[i] < 0 && truthy(applies[i])) out->chosen[i] = static_cast<std::int16_t>(t);
      }
    }
    return out;
  };
  const boost::intrusive_ptr<const RuleTexts> messages = texts_of(rule.messages);
  const boost::intrusive_ptr<const RuleTexts> remedies = texts_of(rule.remedies);
  auto text = [&](const boost::intrusive_ptr<const RuleTexts>& texts, std::size_t i) {
    if (defer_texts_) return FindingText(texts, static_cast<std::uint32_t>(i));
    std::string rendered;
    texts->append(rendered, static_cast<std::uint32_t>(i));
    return FindingText(std::move(rendered));
  };

  const model::Table* table = rule.subject_kind == dsl::SubjectKind::Rows ? data_.table(rule.subject_entity) : nullptr;
  const model::Column* name_column = table ? table->column("name") : nullptr;
  const model::TextValues names = name_column ? model::TextValues(data_, *name_column) : model::TextValues();
  if (std::size_t needed = findings.size() + firing.size(); findings.capacity() < needed) {
    findings.reserve(std::max(needed, 2 * findings.capacity()));  // one move of the earlier findings, at most
  }
  // The rule's metadata, shared by all its findings.
  const SharedString pack(pack_.name), version(pack_.version), rule_id(rule.id), title(rule.title),
      entity(rule.subject_entity);
  const SharedStrings tags(rule.tags);
  std::vector<std::string> let_names;
  for (const auto& let : rule.lets) let_names.push_back(let.name);
  const SharedStrings evidence_names(std::move(let_names));
  // The lets' values over the firing subjects: each finding's evidence, rendered now or when read.
  boost::intrusive_ptr<RuleEvidence> evidence(new RuleEvidence);
  evidence->data = &data_;
  for (const auto& let : rule.lets) evidence->types.push_back(&let.value.type);
  evidence->lets = std::move(selected_lets);  // read by nothing else from here on
  std::string values;  // a finding's rendered evidence values, see EvidenceList
  // The subjects' names: views into the string pool when texts are deferred, else copies.
  boost::intrusive_ptr<RuleNames> subject_names(new RuleNames);
  if (table && !names.empty()) {
    if (defer_texts_) {
      subject_names->data = &data_;
      subject_names->names.resize(firing.size(), kMissingStr);
    } else {
      subject_names->ends.reserve(firing.size());
    }
  }
  for (std::size_t i = 0; i < firing.size(); ++i) {
    Finding finding;
    finding.pack = pack;
    finding.pack_version = version;
    finding.rule = rule_id;
    finding.title = title;
    finding.base_severity = rule.severity;
    finding.severity = severity[i];
    finding.subject_entity = entity;
    if (table) {
      std::int32_t r = selected.var.row[i];
      finding.subject_id = model::id_of(data_, *table, static_cast<std::size_t>(r));
      if (const StrId name = names.empty() ? kMissingStr : names[static_cast<std::size_t>(r)];
          name != kMissingStr && !data_.strings.view(name).empty()) {
        if (defer_texts_) subject_names->names[i] = name;
        else subject_names->copied += data_.strings.view(name);
        finding.subject_name = FindingText(subject_names, static_cast<std::uint32_t>(i));
      }
      if (!defer_texts_ && !names.empty()) {
        subject_names->ends.push_back(static_cast<std::uint32_t>(subject_names->copied.size()));
      }
    } else {
      finding.value_subject = true;
      finding.subject_id = format_lane(selected.var, rule.subject_type, i, data_);
    }
    finding.message = text(messages, i);
    finding.remedy = text(remedies, i);
    finding.tags = tags;
    if (defer_texts_) {
      finding.evidence = EvidenceList(evidence_names, evidence, static_cast<std::uint32_t>(i));
    } else {
      values.clear();
      evidence->append(values, static_cast<std::uint32_t>(i));
      finding.evidence = EvidenceList(evidence_names, values);
    }
    findings.push_back(std::move(finding));
  }
  return when;
}

// ---------------------------------------------------------------------------------------------
// Some subjects at a time, over data changed in place (SubjectEvaluator)

std::vector<std::int32_t> Evaluator::subjects_among(const dsl::CompiledRule& rule, const Frame& global,
                                                    std::span<const std::int32_t> candidates) {
  rule_ = &rule;
  const Node& subject = rule.subject;
  if (subject.op == Op::EntitySet) return {candidates.begin(), candidates.end()};
  std::vector<std::int32_t> kept;
  if (subject.op != Op::Filter || subject.frame_level != 1 || subject.args[0].op != Op::EntitySet) {
    // Another shape of subject set: all of it, intersected with the candidates.
    Vec all = eval(subject, global);
    std::vector<std::int32_t> rows(all.row.begin() + static_cast<long>(all.begin(0)),
                                   all.row.begin() + static_cast<long>(all.end(0)));
    std::sort(rows.begin(), rows.end());
    std::set_intersection(rows.begin(), rows.end(), candidates.begin(), candidates.end(), std::back_inserter(kept));
    return kept;
  }
  // `for each x in entity where ...`: the subject filter's test, on the candidates alone.
  kept.assign(candidates.begin(), candidates.end());
  if (!subject.join_field.empty()) {
    Vec outer = eval(*subject.join_outer, global);
    StrId wanted = outer.str.empty() ? kMissingStr : outer.str[0];
    const model::TextValues keys = text_column(subject.entity, subject.join_field);
    std::erase_if(kept, [&](std::int32_t r) {
      return wanted == kMissingStr || keys.empty() || keys[static_cast<std::size_t>(r)] != wanted;
    });
  }
  if (subject.args.size() < 2 || kept.empty()) return kept;
  Frame rows;
  rows.parent = &global;
  rows.level = 1;
  rows.lanes = kept.size();
  rows.parent_lane.assign(kept.size(), 0);
  rows.var.kind = Kind::Row;
  rows.var.lanes = kept.size();
  rows.var.row.assign(kept.begin(), kept.end());
  Vec keep = eval(subject.args[1], rows);
  std::vector<std::int32_t> out;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (truthy(keep.num[keep.at(i)])) out.push_back(kept[i]);
  }
  return out;
}

std::span<const std::int32_t> Evaluator::linked_rows(const RowIndex& index, const RowPatch* patch, std::int32_t target) {
  if (target == kNoRow) return {};
  if (patch) {
    if (auto it = patch->find(target); it != patch->end()) return it->second;
  }
  if (static_cast<std::size_t>(target) + 1 >= index.off.size()) return {};
  return {index.rows.data() + index.off[target], index.off[target + 1] - index.off[target]};
}

std::span<const std::int32_t> Evaluator::keyed_rows(const KeyIndex& index, const KeyPatch* patch, StrId key) {
  if (key == kMissingStr) return {};
  if (patch) {
    if (auto it = patch->find(key); it != patch->end()) return it->second;
  }
  return index.rows_of(key);
}

std::span<const std::int32_t> Evaluator::linked_rows(const std::string& entity, const std::string& field,
                                                     std::int32_t target) {
  const RowIndex& index = row_index(entity, field);
  return linked_rows(index, patch_of(row_patches_, entity, field), target);
}

std::span<const std::int32_t> Evaluator::keyed_rows(const std::string& entity, const std::string& field, StrId key) {
  const KeyIndex& index = key_index(entity, field);
  return keyed_rows(index, patch_of(key_patches_, entity, field), key);
}

namespace {

/// Takes `row` out of `rows` and/or puts it in, keeping the ascending order an index build gives.
void move_in_list(std::vector<std::int32_t>& rows, std::int32_t row, bool insert) {
  auto at = std::lower_bound(rows.begin(), rows.end(), row);
  bool present = at != rows.end() && *at == row;
  if (insert && !present) rows.insert(at, row);
  if (!insert && present) rows.erase(at);
}

}  // namespace

void Evaluator::patch_row(const std::string& entity, const std::string& field, std::int32_t row, StrId key_before,
                          StrId key_after, std::int32_t target_before, std::int32_t target_after) {
  begin_patches();
  patched_fields_.emplace(entity, field);
  // Only indexes built before the change are patched; one built while the change is applied
  // describes the changed data already, and forget_patches() drops it.
  if (key_before != key_after) {
    if (auto it = key_indexes_.find({entity, field}); it != key_indexes_.end()) {
      KeyPatch& patch = key_patches_[{entity, field}];
      auto list = [&](StrId key) -> std::vector<std::int32_t>& {
        auto found = patch.find(key);
        if (found != patch.end()) return found->second;
        auto rows = it->second.rows_of(key);
        return patch.emplace(key, std::vector<std::int32_t>(rows.begin(), rows.end())).first->second;
      };
      if (key_before != kMissingStr) move_in_list(list(key_before), row, false);
      if (key_after != kMissingStr) move_in_list(list(key_after), row, true);
    }
  }
  if (target_before != target_after) {
    if (auto it = row_indexes_.find({entity, field}); it != row_indexes_.end()) {
      RowPatch& patch = row_patches_[{entity, field}];
      auto list = [&](std::int32_t target) -> std::vector<std::int32_t>& {
        auto found = patch.find(target);
        if (found != patch.end()) return found->second;
        auto rows = linked_rows(it->second, nullptr, target);
        return patch.emplace(target, std::vector<std::int32_t>(rows.begin(), rows.end())).first->second;
      };
      if (target_before != kNoRow) move_in_list(list(target_before), row, false);
      if (target_after != kNoRow) move_in_list(list(target_after), row, true);
    }
  }
}

void Evaluator::begin_patches() {
  if (!indexes_before_patches_.empty()) return;
  indexes_before_patches_.emplace("", "");  // marks the start of a period of changes
  for (const auto& entry : row_indexes_) indexes_before_patches_.emplace("row:" + entry.first.first, entry.first.second);
  for (const auto& entry : key_indexes_) indexes_before_patches_.emplace("key:" + entry.first.first, entry.first.second);
}

void Evaluator::patch_added(const std::string& entity, std::int32_t row) {
  begin_patches();
  patched_entities_.insert(entity);
  all_rows_.erase(entity);
  patch_row(entity, "id", row, kMissingStr, data_.table(entity)->ids[static_cast<std::size_t>(row)], kNoRow, kNoRow);
}

void Evaluator::patch_deleted(const std::string& entity, std::int32_t row) {
  begin_patches();
  patched_entities_.insert(entity);
  all_rows_.erase(entity);
  const model::Table* table = data_.table(entity);
  const auto r = static_cast<std::size_t>(row);
  for (const auto& [name, column] : table->columns) {
    if (name == "id" || (column.def.type != model::FieldType::Text && column.def.type != model::FieldType::Enum &&
                         column.def.type != model::FieldType::Ref)) {
      continue;
    }
    std::int32_t target = column.def.type == model::FieldType::Ref ? column.rows[r] : kNoRow;
    patch_row(entity, name, row, model::TextValues(data_, column)[r], kMissingStr, target, kNoRow);
  }
  patch_row(entity, "id", row, table->ids[r], kMissingStr, kNoRow, kNoRow);
}

void Evaluator::forget_patches() {
  row_patches_.clear();
  key_patches_.clear();
  if (indexes_before_patches_.empty()) return;
  // Indexes built while the changes were applied describe data that is gone.
  auto changed = [&](const std::string& kind, const std::pair<std::string, std::string>& key) {
    if (indexes_before_patches_.count({kind + key.first, key.second})) return false;
    return patched_entities_.count(key.first) > 0 || patched_fields_.count(key) > 0;
  };
  std::erase_if(row_indexes_, [&](const auto& entry) { return changed("row:", entry.first); });
  std::erase_if(key_indexes_, [&](const auto& entry) { return changed("key:", entry.first); });
  for (const std::string& entity : patched_entities_) all_rows_.erase(entity);
  patched_entities_.clear();
  patched_fields_.clear();
  indexes_before_patches_.clear();
}

void Evaluator::prepare_indexes(const Node& node) {
  if (node.op == Op::Filter && !node.join_field.empty()) {
    if (node.join_by_row) row_index(node.entity, node.join_field);
    else key_index(node.entity, node.join_field);
  }
  for (const auto& arg : node.args) prepare_indexes(arg);
  if (node.join_outer) prepare_indexes(*node.join_outer);
}

}  // namespace

EvalResult evaluate(const dsl::CompiledPack& pack, const dsl::ParamValues& params, model::Dataset& data,
                    const EvalOptions& options) {
  Evaluator evaluator(pack, params, data, options.as_of, options.shared_set_shortcuts);
  evaluator.configure_for_run(options);
  return evaluator.run(options);
}

EvalResult evaluate(const std::vector<PackToEvaluate>& packs, model::Dataset& data, const EvalOptions& options) {
  // One task per enabled rule, in pack and rule order; a disabled rule only has its summary.
  struct Task {
    std::size_t pack = 0;
    const dsl::CompiledRule* rule = nullptr;
    std::vector<RuleSummary> summaries;
    std::vector<std::vector<Finding>> batches;  // Evaluator::run_rule()
  };
  std::vector<Task> tasks;
  for (std::size_t p = 0; p < packs.size(); ++p) {
    for (const auto& rule : packs[p].pack->rules) {
      if (selected(rule, options)) tasks.push_back(Task{p, &rule, {}, {}});
    }
  }
  unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, tasks.size()));

  // Workers take the likely longest tasks first (the subject table's rows times the rule's lets
  // and condition), so that a long rule started last doesn't keep one core busy alone at the
  // end. Each keeps an evaluator per pack (its run-level caches), so evaluators are never shared;
  // the dataset's string pool takes their strings with intern_shared(). Results land in their
  // task's slot: the merge below doesn't depend on which thread ran what, nor in what order.
  std::vector<double> estimate;
  estimate.reserve(tasks.size());
  for (const Task& task : tasks) {
    const model::Table* table = data.table(task.rule->subject_entity);
    estimate.push_back(static_cast<double>(table ? table->size() : 0) * static_cast<double>(1 + task.rule->lets.size()));
  }
  std::vector<std::size_t> order(tasks.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return estimate[a] > estimate[b]; });
  SharedIndexes shared;  // outlives the workers' evaluators
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&] {
    std::vector<std::unique_ptr<Evaluator>> evaluators(packs.size());
    for (std::size_t t = next++; t < tasks.size(); t = next++) {
      Task& task = tasks[order[t]];
      const PackToEvaluate& pack = packs[task.pack];
      try {
        if (!task.rule->enabled) {
          task.summaries.push_back(disabled_summary(*pack.pack, *task.rule));
          continue;
        }
        auto& evaluator = evaluators[task.pack];
        if (!evaluator) {
          evaluator = std::make_unique<Evaluator>(*pack.pack, *pack.params, data, options.as_of,
                                                  options.shared_set_shortcuts);
          evaluator->configure_for_run(options, &shared);
        }
        evaluator->run_rule(*task.rule, task.summaries, task.batches);
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = tasks.size();
      }
    }
  };
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) pool.emplace_back(worker);
    for (auto& thread : pool) thread.join();
  }
  if (failure) std::rethrow_exception(failure);

  EvalResult merged;
  std::vector<std::vector<Finding>> parts;
  for (Task& task : tasks) {
    for (auto& batch : task.batches) parts.push_back(std::move(batch));
    merged.rules.insert(merged.rules.end(), task.summaries.begin(), task.summaries.end());
  }
  merged.findings = sort_findings(parts);  // each finding moved once, from its batch's vector
  return merged;
}

// ---------------------------------------------------------------------------------------------
// One subject at a time

struct SubjectProbe::State {
  State(const dsl::CompiledPack& pack, const dsl::ParamValues& params, model::Dataset& data,
        const dsl::CompiledRule& rule, double as_of)
      : evaluator(pack, params, data, as_of), rule(rule) {
    global.level = 0;
    global.lanes = 1;
  }
  Evaluator evaluator;
  const dsl::CompiledRule& rule;
  Frame global;
  std::optional<Vec> subjects;
  Frame subject;  // one lane, after focus()
  bool focused = false;
  std::vector<Vec> lets;
  double when = kNaN;
  std::optional<Finding> finding;
};

SubjectProbe::SubjectProbe(const dsl::CompiledPack& pack, const dsl::ParamValues& params, model::Dataset& data,
                           const dsl::CompiledRule& rule, double as_of)
    : state_(std::make_unique<State>(pack, params, data, rule, as_of)) {}

SubjectProbe::~SubjectProbe() = default;

const Vec& SubjectProbe::subjects() {
  if (!state_->subjects) state_->subjects = state_->evaluator.subjects(state_->rule, state_->global);
  return *state_->subjects;
}

void SubjectProbe::focus(const Vec& subject) {
  State& s = *state_;
  s.subject = Frame{};
  set_subject_frame(s.subject, s.global, subject, 1, s.lets);
  s.subject.var.constant = false;
  s.focused = true;
  RuleSummary summary;
  std::vector<Finding> findings;
  Vec when = s.evaluator.judge(s.rule, s.global, s.subject, summary, findings);
  s.when = when.num[when.at(0)];
  s.finding.reset();
  if (!findings.empty()) s.finding = std::move(findings.front());
}

Vec SubjectProbe::eval(const dsl::Node& node) {
  State& s = *state_;
  return s.evaluator.eval(node, s.focused ? s.subject : s.global);
}

Vec SubjectProbe::eval_rows(const dsl::Node& node, int level, const std::vector<std::int32_t>& rows) {
  State& s = *state_;
  Frame frame;
  frame.parent = level >= 2 && s.focused ? &s.subject : &s.global;
  frame.level = frame.parent->level + 1;
  frame.lanes = rows.size();
  frame.parent_lane.assign(rows.size(), 0);
  frame.var.kind = Kind::Row;
  frame.var.lanes = rows.size();
  frame.var.row.assign(rows.begin(), rows.end());
  if (rows.empty()) return make_scalar(node.type.kind, 0);
  return expand(s.evaluator.eval(node, frame), rows.size());
}

const Vec& SubjectProbe::let(std::size_t slot) const { return state_->lets.at(slot); }

double SubjectProbe::when() const { return state_->when; }

const std::optional<Finding>& SubjectProbe::finding() const { return state_->finding; }

// ---------------------------------------------------------------------------------------------
// Some subjects at a time, kept between calls

struct SubjectEvaluator::State {
  State(const dsl::CompiledPack& pack, const dsl::ParamValues& params, model::Dataset& data, double as_of)
      : evaluator(pack, params, data, as_of) {
    evaluator.keep_run_values_ = true;
  }
  Evaluator evaluator;
  // Per rule, the run frame: its cache holds the rule's run-level values between calls.
  std::unordered_map<const dsl::CompiledRule*, Frame> globals;

  Frame& global(const dsl::CompiledRule& rule) {
    auto [it, added] = globals.try_emplace(&rule);
    if (added) {
      it->second.level = 0;
      it->second.lanes = 1;
    }
    return it->second;
  }
};

SubjectEvaluator::SubjectEvaluator(const dsl::CompiledPack& pack, const dsl::ParamValues& params,
                                   model::Dataset& data, double as_of)
    : state_(std::make_unique<State>(pack, params, data, as_of)) {}

SubjectEvaluator::~SubjectEvaluator() = default;

void SubjectEvaluator::prepare(const dsl::CompiledRule& rule) {
  Evaluator& e = state_->evaluator;
  e.prepare_indexes(rule.subject);
  for (const auto& let : rule.lets) e.prepare_indexes(let.value);
  e.prepare_indexes(rule.when);
  for (const auto& escalation : rule.escalations) e.prepare_indexes(escalation.condition);
  for (const auto* texts : {&rule.messages, &rule.remedies}) {
    for (const auto& text : *texts) {
      if (text.condition) e.prepare_indexes(*text.condition);
      for (const auto& part : text.parts) {
        if (part.is_expr) e.prepare_indexes(part.expr);
      }
    }
  }
}

void SubjectEvaluator::evaluate_rows(const dsl::CompiledRule& rule, std::span<const std::int32_t> rows,
                                     std::vector<Finding>& findings, RuleSummary& summary) {
  Frame& global = state_->global(rule);
  std::vector<std::int32_t> subjects = state_->evaluator.subjects_among(rule, global, rows);
  summary.subjects += subjects.size();
  if (subjects.empty()) return;
  Vec var;
  var.kind = Kind::Row;
  const std::size_t lanes = subjects.size();
  var.row.assign(subjects.begin(), subjects.end());
  Frame subject;
  std::vector<Vec> lets;
  set_subject_frame(subject, global, std::move(var), lanes, lets);
  state_->evaluator.judge(rule, global, subject, summary, findings);
}

std::span<const std::int32_t> SubjectEvaluator::rows_linking_to(const std::string& entity, const std::string& field,
                                                                std::int32_t target) {
  return state_->evaluator.linked_rows(entity, field, target);
}

std::span<const std::int32_t> SubjectEvaluator::rows_with_key(const std::string& entity, const std::string& field,
                                                              model::StrId key) {
  return state_->evaluator.keyed_rows(entity, field, key);
}

void SubjectEvaluator::row_changed(const std::string& entity, const std::string& field, std::int32_t row,
                                   model::StrId key_before, model::StrId key_after, std::int32_t target_before,
                                   std::int32_t target_after) {
  state_->evaluator.patch_row(entity, field, row, key_before, key_after, target_before, target_after);
}

void SubjectEvaluator::row_added(const std::string& entity, std::int32_t row) { state_->evaluator.patch_added(entity, row); }

void SubjectEvaluator::row_deleted(const std::string& entity, std::int32_t row) {
  state_->evaluator.patch_deleted(entity, row);
}

void SubjectEvaluator::changes_reverted() { state_->evaluator.forget_patches(); }

}  // namespace rapport::engine
