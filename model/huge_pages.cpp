#include "model/huge_pages.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace rapport::model {

HugeSpan huge_span(std::uintptr_t address, std::size_t size) {
  const std::uintptr_t mask = kHugePageBytes - 1;
  if (size < kHugePageBytes || address > UINTPTR_MAX - size) return {};
  const std::uintptr_t begin = (address + mask) & ~mask;
  const std::uintptr_t end = (address + size) & ~mask;
  if (end <= begin) return {};
  return {begin, static_cast<std::size_t>(end - begin)};
}

bool advise_huge_pages(void* block, std::size_t size) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const HugeSpan span = huge_span(reinterpret_cast<std::uintptr_t>(block), size);
  if (span.size == 0) return false;
  return madvise(reinterpret_cast<void*>(span.begin), span.size, MADV_HUGEPAGE) == 0;
#else
  (void)block;
  (void)size;
  return false;
#endif
}

}  // namespace rapport::model
