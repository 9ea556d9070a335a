#include "model/string_pool.hpp"

#include <algorithm>
#include <cstring>

namespace rapport::model {

namespace {
constexpr std::size_t kChunkSize = 1 << 20;
}

StringPool::StringPool() { index_.reserve(1024); }

std::string_view StringPool::store(std::string_view text) {
  if (chunks_.empty() || chunks_.back().capacity - chunks_.back().used < text.size()) {
    Chunk chunk;
    chunk.capacity = std::max(kChunkSize, text.size());
    chunk.data = std::make_unique<char[]>(chunk.capacity);
    chunks_.push_back(std::move(chunk));
  }
  Chunk& chunk = chunks_.back();
  char* at = chunk.data.get() + chunk.used;
  if (!text.empty()) std::memcpy(at, text.data(), text.size());
  chunk.used += text.size();
  return {at, text.size()};
}

StrId StringPool::intern(std::string_view text) {
  auto it = index_.find(text);
  if (it != index_.end()) return it->second;
  std::string_view stored = store(text);
  auto id = static_cast<StrId>(views_.size());
  views_.push_back(stored);
  index_.emplace(stored, id);
  return id;
}

StrId StringPool::find(std::string_view text) const {
  auto it = index_.find(text);
  return it == index_.end() ? kMissingStr : it->second;
}

}  // namespace rapport::model
