#pragma once
// Eight bytes at a time: the word tests the JSON escaper and the loader's string scans share
// (the exact bit tricks of "Bit Twiddling Hacks": no false negatives, no false positives for
// "is there such a byte").

#include <cstdint>

namespace rapport::diag {

inline constexpr std::uint64_t kByteOnes = 0x0101010101010101ull;
inline constexpr std::uint64_t kByteHighs = 0x8080808080808080ull;

/// Nonzero when one of the 8 bytes of `word` is zero.
inline std::uint64_t word_has_zero(std::uint64_t word) { return (word - kByteOnes) & ~word & kByteHighs; }
/// Nonzero when one of the 8 bytes of `word` is `byte`.
inline std::uint64_t word_has_byte(std::uint64_t word, unsigned char byte) { return word_has_zero(word ^ (kByteOnes * byte)); }

}  // namespace rapport::diag
