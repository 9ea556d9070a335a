#pragma once
// A stable sort by an unsigned 64-bit key, for the million-item orders of a plan.

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace rapport::engine {

/// Sorts `items` by `key_of(item)` (a std::uint64_t), keeping the order of items whose keys are
/// equal: a least-significant-digit radix sort, 11 bits a pass, that skips each pass whose digit
/// every key shares (so keys that differ only in their low bits take one or two passes).
///
/// Boost's spreadsort is a radix sort too, but not a stable one: a bucket of equal keys is left
/// in whatever order its swaps made. A plan's `move first` order needs equal keys in record
/// order, and a million items sort several times faster this way than with std::sort, whose
/// comparisons of random keys mostly mispredict.
template <typename T, typename KeyOf>
void stable_radix_sort(std::vector<T>& items, KeyOf key_of) {
  constexpr unsigned kBits = 11;
  constexpr unsigned kPasses = (64 + kBits - 1) / kBits;
  constexpr std::size_t kBuckets = std::size_t{1} << kBits;
  constexpr std::uint64_t kMask = kBuckets - 1;
  const std::size_t n = items.size();
  if (n < 2) return;
  std::vector<std::array<std::size_t, kBuckets>> counts(kPasses);
  for (const T& item : items) {
    const std::uint64_t key = key_of(item);
    for (unsigned p = 0; p < kPasses; ++p) ++counts[p][(key >> (p * kBits)) & kMask];
  }
  std::vector<T> buffer;
  for (unsigned p = 0; p < kPasses; ++p) {
    auto& count = counts[p];
    const std::uint64_t first_digit = (key_of(items.front()) >> (p * kBits)) & kMask;
    if (count[first_digit] == n) continue;  // every key has this digit: the pass moves nothing
    std::size_t start = 0;
    for (std::size_t& c : count) start += std::exchange(c, start);  // counts -> first places
    if (buffer.empty()) buffer.resize(n);
    for (T& item : items) buffer[count[(key_of(item) >> (p * kBits)) & kMask]++] = std::move(item);
    items.swap(buffer);
  }
}

}  // namespace rapport::engine
