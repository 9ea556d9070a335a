#pragma once
// Equality joins answered from an index: a `where` whose condition holds a conjunct
// `<text field of the row> = <expression that does not read the row>` (typically
// `assignee_id = person.id`, or `team = unit`) looks each lane's key up in an index of the set
// instead of testing every row of the set for every lane.

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "dsl/program.hpp"
#include "model/string_pool.hpp"
#include "model/table.hpp"

namespace rapport::engine {

/// Rows grouped by a text key (compressed: one run of rows per key), each run in the order the
/// rows were given. Rows whose key is missing are left out: a missing value equals nothing.
class KeyIndex {
 public:
  KeyIndex() = default;
  /// Indexes `rows` by their key, `keys[row]`.
  KeyIndex(std::span<const std::int32_t> rows, const model::TextValues& keys);
  /// Indexes rows 0 .. keys.size()-1 (a whole table) by `keys[row]`.
  explicit KeyIndex(const model::TextValues& keys);
  KeyIndex(std::span<const std::int32_t> rows, std::span<const model::StrId> keys)
      : KeyIndex(rows, model::TextValues(keys)) {}
  explicit KeyIndex(std::span<const model::StrId> keys) : KeyIndex(model::TextValues(keys)) {}

  /// The rows whose key is `key`, in their original order; none for a missing key.
  [[nodiscard]] std::span<const std::int32_t> rows_of(model::StrId key) const;

 private:
  template <typename RowAt, typename Keys>
  void build(std::size_t count, RowAt row_at, const Keys& keys);
  template <typename RowAt>
  void build_from(std::size_t count, RowAt row_at, const model::TextValues& keys);
  /// Fills the runs: `group_at(i)` is the group (< groups) of `row_at(i)`, or kLeftOut.
  template <typename RowAt, typename GroupAt>
  void scatter(std::size_t count, RowAt row_at, std::size_t groups, GroupAt group_at);

  // A group per key. Keys are string ids, dense in the pool, and a table's ids (what keys
  // usually are: `account_id`, `assignee_id`) were interned together: when the keys span a range
  // not much wider than the rows, the group of a key is its offset in the range (`dense_`), with
  // no hashing; otherwise a hash map numbers them.
  bool dense_ = false;
  model::StrId min_key_ = 0;
  std::unordered_map<model::StrId, std::uint32_t> group_of_key_;
  std::vector<std::uint32_t> group_start_;  // by group, plus one past the last
  std::vector<std::int32_t> rows_;
};

/// A filter's condition split around an equality join on the filter's own row.
struct JoinConjunct {
  const dsl::Node* inner = nullptr;         // Field of the filter's row (text storage)
  const dsl::Node* outer = nullptr;         // reads only enclosing frames (level < frame_level)
  std::vector<const dsl::Node*> rest;       // the other conjuncts, in their written order
};

/// Finds, in the condition of `filter` (a Filter node with a condition), the first conjunct that
/// is a textual `=` between a field of the filter's row variable and an expression that does not
/// read that row. Textual equality is true only when both sides are present and the same text,
/// so an index lookup of the outer value gives exactly the rows where the conjunct is true.
std::optional<JoinConjunct> find_join_conjunct(const dsl::Node& filter);

}  // namespace rapport::engine
