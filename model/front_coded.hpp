#pragma once
// Front-coded strings: a list of strings kept in the order they were added, each as what it
// shares with the one before it and the rest of its bytes.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::model {

/// How many leading bytes `a` and `b` share, eight at a time; the last word ends at the shorter
/// one's end, overlapping bytes already compared (ids of one table share most of theirs,
/// "act-00000123-1" and "act-00000123-2", and are rarely a multiple of eight long).
inline std::size_t shared_prefix(std::string_view a, std::string_view b) {
  const std::size_t most = std::min(a.size(), b.size());
  auto word = [](const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  if constexpr (std::endian::native == std::endian::little) {
    if (most >= 8) {
      std::size_t at = 0;
      for (;; at += 8) {
        if (at + 8 > most) at = most - 8;  // the last word, ending at `most`
        const std::uint64_t diff = word(a.data() + at) ^ word(b.data() + at);
        if (diff) return at + static_cast<std::size_t>(std::countr_zero(diff)) / 8;
        if (at + 8 == most) return most;
      }
    }
  }
  std::size_t shared = 0;
  while (shared < most && a[shared] == b[shared]) ++shared;
  return shared;
}

/// Strings kept in order, front-coded in blocks of kBlock: a block's first string whole, every
/// other as the length of the prefix it shares with the string before it and its remaining bytes
/// (both lengths as LEB128 varints). Ids exported in order share most of their bytes with the
/// previous one ("act-00000001-1", "act-00000001-2"): ten million of them take about 40 MB here,
/// against about 300 MB interned in a StringPool (text, view and index slot each). Ids that share
/// nothing (GUIDs) cost their bytes and two length bytes.
///
/// Append-only; reading a string decodes at most kBlock - 1 strings before it in its block: for
/// the few strings read many times over (a table's ids that only name its rows in findings), not
/// for lookups by value.
class FrontCodedStrings {
 public:
  static constexpr std::size_t kBlock = 16;

  void push_back(std::string_view text);
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  /// The string added last ("" when none).
  [[nodiscard]] std::string_view back() const { return last_; }
  /// Appends the string at `index` (< size()) to `out`.
  void append_to(std::string& out, std::size_t index) const;
  [[nodiscard]] std::string at(std::size_t index) const {
    std::string out;
    append_to(out, index);
    return out;
  }
  /// Frees the room reserved beyond what is used.
  void shrink_to_fit();
  [[nodiscard]] std::size_t encoded_bytes() const { return bytes_.size(); }
  /// Bytes allocated (capacities), for `--timings`.
  [[nodiscard]] std::size_t memory_bytes() const;

 private:
  std::vector<unsigned char> bytes_;
  std::vector<std::uint64_t> block_starts_;  // where each block's first string begins in bytes_
  std::string last_;                          // the string added last (the next one's prefix)
  std::size_t size_ = 0;
};

}  // namespace rapport::model
