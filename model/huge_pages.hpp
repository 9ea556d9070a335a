#pragma once
// Transparent huge pages for large blocks.
//
// A million-account check allocates about 1.5 GB in blocks of up to a few hundred MB (columns,
// the string pool's index, the loader's row tables). With 4 KiB pages every first touch of a page
// is a fault (about 850,000 of them; in a virtual machine each costs microseconds of system time),
// and hash tables that large miss the TLB on nearly every probe. Where the kernel's THP mode is
// `madvise` (Debian's default), a 2 MiB page is only used where the program asks for it: the
// executable's operator new (cli/main.cpp) asks for every block of kHugeBlockBytes or more.
//
// Why 32 MiB: glibc maps every block that large on its own (its dynamic mmap threshold stops at
// 32 MiB) and unmaps it when it is freed. Smaller blocks may sit in malloc's heaps, where freed
// pages are handed back with MADV_DONTNEED and khugepaged may fill them again when it collapses a
// huge page: with a 4 MiB threshold the 1M JSONL peak was 1,801 MiB in one run of three (1,470
// otherwise); with 32 MiB it stays where it was without huge pages. glibc's
// `glibc.malloc.hugetlb=1` tunable advises every block, and can only be set in the environment
// before the process starts.

#include <cstddef>
#include <cstdint>

namespace rapport::model {

/// Size from which a block is given huge pages (see above).
constexpr std::size_t kHugeBlockBytes = std::size_t{32} << 20;
/// The transparent huge page size on x86-64 and AArch64 (4 KiB base pages).
constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

/// The whole huge pages inside [address, address + size): their first byte and their total size
/// (0 when there is none).
struct HugeSpan {
  std::uintptr_t begin = 0;
  std::size_t size = 0;
};
HugeSpan huge_span(std::uintptr_t address, std::size_t size);

/// Asks the kernel to back the whole huge pages inside the block with huge pages
/// (madvise(MADV_HUGEPAGE)); returns false when it declined or there was nothing to ask for.
/// Harmless where THP is `never` or `always`.
bool advise_huge_pages(void* block, std::size_t size);

}  // namespace rapport::model
