#pragma once
// Interned strings: text, enum values and ids compare as integers.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rapport::model {

using StrId = std::uint32_t;
constexpr StrId kMissingStr = 0xFFFFFFFFu;

/// Owns each distinct string once; ids are dense and stable for the pool's life.
class StringPool {
 public:
  StringPool();
  StringPool(const StringPool&) = delete;
  StringPool& operator=(const StringPool&) = delete;

  /// The id of `text`, adding it if new.
  StrId intern(std::string_view text);
  /// The id of `text` if present.
  [[nodiscard]] StrId find(std::string_view text) const;
  [[nodiscard]] std::string_view view(StrId id) const { return views_[id]; }
  [[nodiscard]] std::size_t size() const { return views_.size(); }

 private:
  struct Chunk {
    std::unique_ptr<char[]> data;
    std::size_t used = 0;
    std::size_t capacity = 0;
  };
  std::string_view store(std::string_view text);

  std::vector<Chunk> chunks_;
  std::vector<std::string_view> views_;
  std::unordered_map<std::string_view, StrId> index_;
};

}  // namespace rapport::model
