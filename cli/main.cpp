// The rapport executable.
//
// Its operator new asks for transparent huge pages for every block of model::kHugeBlockBytes or
// more (see model/huge_pages.hpp): at a million accounts, 850,000 page faults become 430,000. The
// blocks still come from malloc and go back to free(), so tools that watch malloc (valgrind,
// heaptrack) see the same blocks. RAPPORT_HUGE_PAGES=off in the environment turns it off. Only
// the executable replaces operator new: the libraries and the tests keep the standard one.

#include <cstdlib>
#include <cstring>
#include <new>

#include "cli/app.hpp"
#include "model/huge_pages.hpp"

namespace {

bool huge_pages_wanted() noexcept {
  static const bool wanted = [] {
    const char* setting = std::getenv("RAPPORT_HUGE_PAGES");
    return !(setting && (std::strcmp(setting, "off") == 0 || std::strcmp(setting, "0") == 0));
  }();
  return wanted;
}

void* allocate(std::size_t size) noexcept {
  void* block = std::malloc(size ? size : 1);
  if (block && size >= rapport::model::kHugeBlockBytes && huge_pages_wanted()) {
    rapport::model::advise_huge_pages(block, size);
  }
  return block;
}

void* allocate_or_throw(std::size_t size) {
  for (;;) {
    if (void* block = allocate(size)) return block;
    std::new_handler handler = std::get_new_handler();
    if (!handler) throw std::bad_alloc();
    handler();
  }
}

}  // namespace

void* operator new(std::size_t size) { return allocate_or_throw(size); }
void* operator new[](std::size_t size) { return allocate_or_throw(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return allocate_or_throw(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void operator delete(void* block) noexcept { std::free(block); }
void operator delete[](void* block) noexcept { std::free(block); }
void operator delete(void* block, std::size_t) noexcept { std::free(block); }
void operator delete[](void* block, std::size_t) noexcept { std::free(block); }
void operator delete(void* block, const std::nothrow_t&) noexcept { std::free(block); }
void operator delete[](void* block, const std::nothrow_t&) noexcept { std::free(block); }

int main(int argc, char** argv) { return rapport::cli::run(argc, argv); }
