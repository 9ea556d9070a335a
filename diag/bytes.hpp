#pragma once
// Eight bytes at a time: the word tests the JSON escaper and the loader's string scans share
// (the exact bit tricks of "Bit Twiddling Hacks": no false negatives, no false positives for
// "is there such a byte").

#include <bit>
#include <cstdint>

namespace rapport::diag {

inline constexpr std::uint64_t kByteOnes = 0x0101010101010101ull;
inline constexpr std::uint64_t kByteHighs = 0x8080808080808080ull;

/// Nonzero when one of the 8 bytes of `word` is zero.
inline std::uint64_t word_has_zero(std::uint64_t word) { return (word - kByteOnes) & ~word & kByteHighs; }
/// Nonzero when one of the 8 bytes of `word` is `byte`.
inline std::uint64_t word_has_byte(std::uint64_t word, unsigned char byte) { return word_has_zero(word ^ (kByteOnes * byte)); }

/// The high bit of each byte of `word` that is `byte`, and of no other (unlike the tests above,
/// which may also flag a byte next to a true one): where the bytes are, not only whether.
inline std::uint64_t bytes_equal(std::uint64_t word, unsigned char byte) {
  constexpr std::uint64_t kLows = ~kByteHighs;
  const std::uint64_t x = word ^ (kByteOnes * byte);
  return ~(((x & kLows) + kLows) | x | kLows);
}

/// The place (0-7, in memory order) of the first byte flagged in a nonzero result of
/// bytes_equal(), or of several of them or'ed together.
inline unsigned first_flagged_byte(std::uint64_t flags) {
  if constexpr (std::endian::native == std::endian::big) return static_cast<unsigned>(std::countl_zero(flags)) >> 3;
  return static_cast<unsigned>(std::countr_zero(flags)) >> 3;
}

}  // namespace rapport::diag
