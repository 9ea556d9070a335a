#include "engine/join_index.hpp"

#include <algorithm>

#include "engine/vector.hpp"

namespace rapport::engine {

using dsl::Node;
using dsl::Op;
using model::kMissingStr;
using model::StrId;

KeyIndex::KeyIndex(std::span<const std::int32_t> rows, const model::TextValues& keys) {
  build_from(rows.size(), [rows](std::size_t i) { return rows[i]; }, keys);
}

KeyIndex::KeyIndex(const model::TextValues& keys) {
  build_from(keys.size(), [](std::size_t i) { return static_cast<std::int32_t>(i); }, keys);
}

template <typename RowAt>
void KeyIndex::build_from(std::size_t count, RowAt row_at, const model::TextValues& keys) {
  keys.visit([&](const auto& key_at) { build(count, row_at, key_at); });
}

namespace {
constexpr std::uint32_t kLeftOut = 0xFFFFFFFFu;  // a row whose key is missing: in no group
}  // namespace

template <typename RowAt, typename Keys>
void KeyIndex::build(std::size_t count, RowAt row_at, const Keys& keys) {
  auto key_of = [&](std::size_t i) {
    std::int32_t row = row_at(i);
    return row < 0 ? kMissingStr : keys[static_cast<std::size_t>(row)];
  };
  StrId low = kMissingStr, high = 0;
  for (std::size_t i = 0; i < count; ++i) {
    StrId key = key_of(i);
    if (key == kMissingStr) continue;
    low = std::min(low, key);
    high = std::max(high, key);
  }
  if (low == kMissingStr) {  // no key present
    group_start_.assign(1, 0);
    return;
  }
  const std::size_t range = std::size_t{high} - low + 1;
  if (range <= 2 * count + 4096) {
    dense_ = true;
    min_key_ = low;
    scatter(count, row_at, range, [&](std::size_t i) {
      StrId key = key_of(i);
      return key == kMissingStr ? kLeftOut : key - low;
    });
    return;
  }
  // Sparse keys: number the groups in first-occurrence order.
  std::vector<std::uint32_t> group(count, kLeftOut);
  std::uint32_t groups = 0;
  for (std::size_t i = 0; i < count; ++i) {
    StrId key = key_of(i);
    if (key == kMissingStr) continue;
    auto [it, added] = group_of_key_.try_emplace(key, groups);
    if (added) ++groups;
    group[i] = it->second;
  }
  scatter(count, row_at, groups, [&group](std::size_t i) { return group[i]; });
}

template <typename RowAt, typename GroupAt>
void KeyIndex::scatter(std::size_t count, RowAt row_at, std::size_t groups, GroupAt group_at) {
  // Counting sort by group: sizes, their running sum, then a stable scatter into runs.
  group_start_.assign(groups + 1, 0);
  for (std::size_t i = 0; i < count; ++i) {
    if (std::uint32_t g = group_at(i); g != kLeftOut) ++group_start_[g + 1];
  }
  for (std::size_t g = 0; g < groups; ++g) group_start_[g + 1] += group_start_[g];
  rows_.resize(group_start_.back());
  std::vector<std::uint32_t> next(group_start_.begin(), group_start_.end() - 1);
  for (std::size_t i = 0; i < count; ++i) {
    if (std::uint32_t g = group_at(i); g != kLeftOut) rows_[next[g]++] = row_at(i);
  }
}

std::span<const std::int32_t> KeyIndex::rows_of(StrId key) const {
  if (key == kMissingStr) return {};
  std::uint32_t g;
  if (dense_) {
    if (key < min_key_ || key - min_key_ >= group_start_.size() - 1) return {};
    g = key - min_key_;
  } else {
    auto it = group_of_key_.find(key);
    if (it == group_of_key_.end()) return {};
    g = it->second;
  }
  return {rows_.data() + group_start_[g], group_start_[g + 1] - group_start_[g]};
}

namespace {

bool is_text(const Node& node) { return node.type.is_scalar() && storage_of(node.type.kind) == Storage::String; }

/// `node` is a field of the row bound at `level` (the filter's own row).
bool is_row_field(const Node& node, int level) {
  return node.op == Op::Field && node.args.size() == 1 && node.args[0].op == Op::Var && node.args[0].level == level;
}

}  // namespace

std::optional<JoinConjunct> find_join_conjunct(const Node& filter) {
  if (filter.op != Op::Filter || filter.args.size() < 2) return std::nullopt;
  const Node& condition = filter.args[1];
  std::vector<const Node*> terms;
  if (condition.op == Op::And) {
    for (const Node& term : condition.args) terms.push_back(&term);
  } else {
    terms.push_back(&condition);
  }
  const int level = filter.frame_level;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    const Node& term = *terms[i];
    if (term.op != Op::Compare || term.compare != dsl::CompareOp::Eq || term.compare_mode != dsl::CompareMode::Textual) {
      continue;
    }
    for (int side = 0; side < 2; ++side) {
      const Node& inner = term.args[side];
      const Node& outer = term.args[1 - side];
      if (!is_row_field(inner, level) || outer.level >= level || !is_text(inner) || !is_text(outer)) continue;
      JoinConjunct join;
      join.inner = &inner;
      join.outer = &outer;
      for (std::size_t k = 0; k < terms.size(); ++k) {
        if (k != i) join.rest.push_back(terms[k]);
      }
      return join;
    }
  }
  return std::nullopt;
}

}  // namespace rapport::engine
