#pragma once
// Interned strings: text, enum values and ids compare as integers.

#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/prefetch.hpp"

namespace rapport::model {

/// memcmp(a, b, size) == 0 without a call for the short strings compared most (ids, keys, enum
/// values): up to 16 bytes as two overlapping words.
inline bool same_bytes(const char* a, const char* b, std::size_t size) {
  auto word = [](const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  auto half = [](const char* p) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    return w;
  };
  if (size >= 8) {
    if (size > 16) return std::memcmp(a, b, size) == 0;
    return word(a) == word(b) && word(a + size - 8) == word(b + size - 8);
  }
  if (size >= 4) return half(a) == half(b) && half(a + size - 4) == half(b + size - 4);
  for (std::size_t i = 0; i < size; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

using StrId = std::uint32_t;
constexpr StrId kMissingStr = 0xFFFFFFFFu;

/// Owns each distinct string once; ids are dense (first-interned order) and stable for the pool's
/// life, and so are the views returned by view().
///
/// Views are kept in fixed-size pages that never move, so view() may run on any thread while
/// intern_shared() adds strings on another (rules evaluated in parallel intern their literals and
/// computed texts). intern() and find() are for one thread at a time.
///
/// The index is an open-addressing table (linear probing) of (32-bit hash, id) slots: an intern is
/// one probe sequence, and a caller that already hashed the text with StringPool::hash() (the
/// loader's chunk-local pools do) can pass the hash so the text is not hashed again. After
/// narrow_index() the slots keep the id alone, and a probe compares the strings.
class StringPool {
 public:
  StringPool();
  StringPool(const StringPool&) = delete;
  StringPool& operator=(const StringPool&) = delete;
  /// Moving is for a pool no other thread is using; the moved-from pool may only be destroyed or
  /// assigned to.
  StringPool(StringPool&& other) noexcept;
  StringPool& operator=(StringPool&& other) noexcept;

  /// The hash intern()/find() use; pass it to the two-argument overloads to skip rehashing.
  static std::uint64_t hash(std::string_view text) {
    const char* data = text.data();
    std::size_t size = text.size();
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ (static_cast<std::uint64_t>(size) * 0xff51afd7ed558ccdull);
    while (size >= 8) {
      std::uint64_t word;
      std::memcpy(&word, data, 8);
      h = (h ^ word) * 0xbf58476d1ce4e5b9ull;
      h ^= h >> 31;
      data += 8;
      size -= 8;
    }
    // The last 0-7 bytes without a variable-length copy (a call): two overlapping 4-byte reads, or
    // the first, middle and last byte (the length is already mixed in).
    std::uint64_t tail = 0;
    if (size >= 4) {
      std::uint32_t low, high;
      std::memcpy(&low, data, 4);
      std::memcpy(&high, data + size - 4, 4);
      tail = low | (static_cast<std::uint64_t>(high) << 32);
    } else if (size) {
      tail = static_cast<unsigned char>(data[0]) | (static_cast<std::uint64_t>(static_cast<unsigned char>(data[size / 2])) << 8) |
             (static_cast<std::uint64_t>(static_cast<unsigned char>(data[size - 1])) << 16);
    }
    h = (h ^ tail) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
  }

  /// The id of `text`, adding it if new.
  StrId intern(std::string_view text) { return intern(text, hash(text)); }
  /// Same, with `text_hash == hash(text)` already computed.
  StrId intern(std::string_view text, std::uint64_t text_hash);
  /// intern() under the pool's lock: safe while other threads call intern_shared() and view().
  StrId intern_shared(std::string_view text);
  /// The id of `text` if present, else kMissingStr.
  [[nodiscard]] StrId find(std::string_view text) const { return find(text, hash(text)); }
  [[nodiscard]] StrId find(std::string_view text, std::uint64_t text_hash) const;
  /// Hints that the slot for a string with this hash will be probed soon (batch interning).
  void prefetch(std::uint64_t text_hash) const {
    if (!slots_.empty()) prefetch_for_read(&slots_[home(tag_of(text_hash))]);
  }
  /// The later stages of batch interning. A string the pool already holds costs three dependent
  /// misses: its slot, then its view, then its text. Once prefetch() has brought the slot in,
  /// prefetch_view() hints the view of the string in that slot; once that is in, prefetch_text()
  /// hints the text. A batch that runs the three stages a few strings apart overlaps the misses.
  /// Hints only: a string probed further than its home slot is simply not prefetched.
  void prefetch_view(std::uint64_t text_hash) const {
    if (const std::uint32_t id1 = home_id1(text_hash)) {
      const StrId id = id1 - 1;
      prefetch_for_read(&pages_.get()[id >> kPageBits][id & kPageMask]);
    }
  }
  void prefetch_text(std::uint64_t text_hash) const {
    if (const std::uint32_t id1 = home_id1(text_hash)) prefetch_for_read(view(id1 - 1).data());
  }
  /// Makes room for `n` strings in total without rehashing.
  void reserve(std::size_t n);
  /// Drops the hash bits the index keeps beside each id, halving it (134 MB at a million
  /// accounts): a probe then compares the strings themselves. For a pool that is looked up a few
  /// times from then on, after loading (`rapport check`); interning still works.
  void narrow_index();

  [[nodiscard]] std::string_view view(StrId id) const {
    const std::uint64_t packed = pages_.get()[id >> kPageBits][id & kPageMask];
    const char* data = reinterpret_cast<const char*>(packed & kAddressMask);
    std::size_t size = packed >> kAddressBits;
    if (size == kLongSize) std::memcpy(&size, data - sizeof(size), sizeof(size));
    return {data, size};
  }
  [[nodiscard]] std::size_t size() const { return size_; }

  /// Bytes held, for `--timings`: the strings' text (chunks), their views (pages) and the index.
  struct Usage {
    std::size_t text = 0;
    std::size_t views = 0;
    std::size_t index = 0;
  };
  [[nodiscard]] Usage usage() const;

 private:
  struct Chunk {
    std::unique_ptr<char[]> data;
    std::size_t used = 0;
    std::size_t capacity = 0;
  };
  struct Slot {
    std::uint32_t tag = 0;   // 32 bits of the string's hash
    std::uint32_t id1 = 0;   // id + 1, 0 = empty
  };
  static std::uint32_t tag_of(std::uint64_t h) { return static_cast<std::uint32_t>(h ^ (h >> 32)); }
  // Home slot from the tag (so the table can be rebuilt without the strings); Fibonacci hashing
  // keeps the position and the tag comparison independent enough.
  [[nodiscard]] std::size_t home(std::uint32_t tag) const {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(tag) * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  std::string_view store(std::string_view text);
  void rehash(std::size_t capacity);
  /// The index position holding `text`, or the empty one where it would go.
  [[nodiscard]] std::size_t locate(std::string_view text, std::uint64_t text_hash) const;
  [[nodiscard]] std::uint32_t id1_at(std::size_t at) const { return narrow_.empty() ? slots_[at].id1 : narrow_[at]; }
  /// The id + 1 in the home slot of a string with this hash when the slot's tag matches, else 0.
  [[nodiscard]] std::uint32_t home_id1(std::uint64_t text_hash) const {
    if (slots_.empty()) return 0;
    const std::uint32_t tag = tag_of(text_hash);
    const Slot slot = slots_[home(tag)];
    return slot.tag == tag ? slot.id1 : 0;
  }
  [[nodiscard]] std::size_t index_size() const { return narrow_.empty() ? slots_.size() : narrow_.size(); }
  /// view(id) == text, without a call to memcmp for short strings.
  [[nodiscard]] bool holds(StrId id, std::string_view text) const {
    const std::string_view held = view(id);
    return held.size() == text.size() && same_bytes(held.data(), text.data(), text.size());
  }

  // A view is kept in 8 bytes: the address in the low 48 bits (user-space addresses on x86-64
  // and AArch64 fit), the length in the high 16. A string of kLongSize bytes or more has its
  // length stored in the 8 bytes before its text. Half the size of a std::string_view: at a
  // million accounts the pool holds 20 million strings, nearly all ids.
  static constexpr unsigned kAddressBits = 48;
  static constexpr std::uint64_t kAddressMask = (std::uint64_t{1} << kAddressBits) - 1;
  static constexpr std::size_t kLongSize = 0xFFFF;
  static constexpr unsigned kPageBits = 16;
  static constexpr std::uint32_t kPageMask = (1u << kPageBits) - 1;
  static constexpr std::size_t kPages = std::size_t{1} << (32 - kPageBits);
  void append_view(std::string_view text);

  std::vector<Chunk> chunks_;
  // Page p holds the views of ids [p << kPageBits, (p + 1) << kPageBits). The page table has a
  // slot for every possible id, allocated once: appending never moves a page or the table.
  struct FreePages {
    void operator()(std::uint64_t** pages) const;
  };
  std::unique_ptr<std::uint64_t*, FreePages> pages_;
  std::size_t size_ = 0;
  std::mutex mutex_;  // intern_shared()
  std::vector<Slot> slots_;  // power-of-two size, at most 3/4 full
  std::vector<std::uint32_t> narrow_;  // after narrow_index(): the slots' id + 1 alone (slots_ is empty)
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
};

}  // namespace rapport::model
