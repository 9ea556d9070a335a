#include "model/string_pool.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace rapport::model {

namespace {
constexpr std::size_t kChunkSize = 1 << 20;
constexpr std::size_t kMinSlots = 1024;

/// Slots needed for `n` strings at a load factor of at most 3/4 (a power of two).
std::size_t slots_for(std::size_t n) {
  std::size_t capacity = kMinSlots;
  while (capacity / 4 * 3 < n) capacity *= 2;
  return capacity;
}
}  // namespace

// The page table is calloc'ed: untouched, its memory costs nothing until pages are added.
StringPool::StringPool() : pages_(static_cast<std::uint64_t**>(std::calloc(kPages, sizeof(std::uint64_t*)))) {
  if (!pages_) throw std::bad_alloc();
  rehash(kMinSlots);
}

StringPool::StringPool(StringPool&& other) noexcept { *this = std::move(other); }

StringPool& StringPool::operator=(StringPool&& other) noexcept {
  if (this == &other) return *this;
  chunks_ = std::move(other.chunks_);
  pages_ = std::move(other.pages_);
  size_ = std::exchange(other.size_, 0);
  slots_ = std::move(other.slots_);
  narrow_ = std::move(other.narrow_);
  mask_ = std::exchange(other.mask_, 0);
  shift_ = std::exchange(other.shift_, 64);
  return *this;
}

void StringPool::FreePages::operator()(std::uint64_t** pages) const {
  for (std::size_t p = 0; p < kPages && pages[p]; ++p) delete[] pages[p];
  std::free(pages);
}

void StringPool::append_view(std::string_view text) {
  const auto address = reinterpret_cast<std::uintptr_t>(text.data());
  if (address > kAddressMask) throw std::bad_alloc();  // not where user-space memory is on supported systems
  const std::uint64_t size = std::min(text.size(), kLongSize);  // store() put a long string's length before it
  const std::size_t page = size_ >> kPageBits;
  if (!pages_.get()[page]) pages_.get()[page] = new std::uint64_t[std::size_t{1} << kPageBits];
  pages_.get()[page][size_ & kPageMask] = address | (size << kAddressBits);
  ++size_;
}

StringPool::Usage StringPool::usage() const {
  Usage usage;
  for (const Chunk& chunk : chunks_) usage.text += chunk.capacity;
  for (std::size_t p = 0; p < kPages && pages_.get()[p]; ++p) usage.views += sizeof(std::uint64_t) << kPageBits;
  usage.index = slots_.capacity() * sizeof(Slot) + narrow_.capacity() * sizeof(std::uint32_t);
  return usage;
}

StrId StringPool::intern_shared(std::string_view text) {
  std::lock_guard lock(mutex_);
  return intern(text, hash(text));
}

std::string_view StringPool::store(std::string_view text) {
  const std::size_t prefix = text.size() >= kLongSize ? sizeof(std::size_t) : 0;  // see view()
  const std::size_t bytes = prefix + text.size();
  if (chunks_.empty() || chunks_.back().capacity - chunks_.back().used < bytes) {
    Chunk chunk;
    chunk.capacity = std::max(kChunkSize, bytes);
    chunk.data = std::make_unique_for_overwrite<char[]>(chunk.capacity);
    chunks_.push_back(std::move(chunk));
  }
  Chunk& chunk = chunks_.back();
  char* at = chunk.data.get() + chunk.used;
  if (prefix) {
    const std::size_t size = text.size();
    std::memcpy(at, &size, sizeof(size));
    at += prefix;
  }
  if (!text.empty()) std::memcpy(at, text.data(), text.size());
  chunk.used += bytes;
  return {at, text.size()};
}

void StringPool::rehash(std::size_t capacity) {
  mask_ = capacity - 1;
  shift_ = 64;
  for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
  if (!narrow_.empty()) {
    // No hash bits kept: each string's home is found from its hash again.
    narrow_.assign(capacity, 0);
    for (std::size_t id = 0; id < size_; ++id) {
      std::size_t at = home(tag_of(hash(view(static_cast<StrId>(id)))));
      while (narrow_[at]) at = (at + 1) & mask_;
      narrow_[at] = static_cast<std::uint32_t>(id + 1);
    }
    return;
  }
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(capacity, Slot{});
  for (const Slot& slot : old) {
    if (!slot.id1) continue;
    std::size_t at = home(slot.tag);
    while (slots_[at].id1) at = (at + 1) & mask_;
    slots_[at] = slot;
  }
}

void StringPool::reserve(std::size_t n) {
  std::size_t capacity = slots_for(n);
  if (capacity > index_size()) rehash(capacity);
}

void StringPool::narrow_index() {
  if (!narrow_.empty()) return;
  // Same size, same positions: the homes come from the hash, which lookups compute anyway.
  std::vector<std::uint32_t> narrow(slots_.size());
  for (std::size_t at = 0; at < slots_.size(); ++at) narrow[at] = slots_[at].id1;
  narrow_.swap(narrow);
  std::vector<Slot>().swap(slots_);
}

// Inlined into intern() and find(): the loader's merge interns every id through it.
[[gnu::always_inline]] inline std::size_t StringPool::locate(std::string_view text, std::uint64_t text_hash) const {
  const std::uint32_t tag = tag_of(text_hash);
  std::size_t at = home(tag);
  if (narrow_.empty()) {
    for (; slots_[at].id1 && !(slots_[at].tag == tag && holds(slots_[at].id1 - 1, text)); at = (at + 1) & mask_) {
    }
  } else {
    for (; narrow_[at] && !holds(narrow_[at] - 1, text); at = (at + 1) & mask_) {
    }
  }
  return at;
}

StrId StringPool::intern(std::string_view text, std::uint64_t text_hash) {
  const std::size_t at = locate(text, text_hash);
  if (const std::uint32_t id1 = id1_at(at)) return id1 - 1;
  auto id = static_cast<StrId>(size_);
  append_view(store(text));
  if (narrow_.empty()) slots_[at] = Slot{tag_of(text_hash), id + 1};
  else narrow_[at] = id + 1;
  if (size_ > index_size() / 4 * 3) rehash(index_size() * 2);
  return id;
}

StrId StringPool::find(std::string_view text, std::uint64_t text_hash) const {
  return id1_at(locate(text, text_hash)) - 1;  // an empty slot's 0 - 1 is kMissingStr
}

}  // namespace rapport::model
