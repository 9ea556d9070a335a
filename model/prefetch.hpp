#pragma once
// A software prefetch that the compiler keeps.
//
// g++ 12 at -O2 silently drops __builtin_prefetch when the address is an index computed by a
// multiplicative hash (the home slot of StringPool and of the loader's RowsById): the built
// program had no prefetch instruction at all, so every probe of those tables (hundreds of MB at a
// million accounts) waited for memory. A signal fence after the hint is a compiler barrier only
// (no instruction is emitted) and keeps the backend from folding the prefetch away.
// tests/CMakeLists.txt checks that the rapport executable has its prefetches.

#include <atomic>

namespace rapport::model {

/// Hints that `address` will be read soon.
inline void prefetch_for_read(const void* address) {
  __builtin_prefetch(address);
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

}  // namespace rapport::model
