#pragma once
// Column vectors the evaluator computes with: one value per lane (subject or row), or one
// value shared by every lane (`constant`). Missing values are NaN, kMissingStr or kNoRow.

#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "dsl/types.hpp"
#include "model/string_pool.hpp"
#include "model/table.hpp"

namespace rapport::engine {

using dsl::Kind;

/// std::allocator, except that `resize(n)` and `vector(n)` leave new elements of a trivial type
/// uninitialised instead of zeroing them: every operator writes its whole result, and zeroing
/// first was a second pass over it (memset was 2.6% of a 20k run's instructions). Values given
/// explicitly (`resize(n, value)`, `assign`, `push_back`) are constructed as usual.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <typename U>
  void construct(U* at) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(at)) U;
  }
  template <typename U, typename... Args>
  void construct(U* at, Args&&... args) {
    std::allocator_traits<std::allocator<T>>::construct(static_cast<std::allocator<T>&>(*this), at,
                                                        std::forward<Args>(args)...);
  }
};

/// A column of lane values: a vector whose resize() leaves the new values to be written.
template <typename T>
using Lanes = std::vector<T, DefaultInitAllocator<T>>;

/// Values for `lanes` lanes. Scalars use one of num/str/row by kind; lists and sets are
/// compressed rows: lane i owns elements [off[i], off[i+1]) of num/str/row.
struct Vec {
  Kind kind = Kind::Number;
  Kind element = Kind::Number;  // List: the element kind
  bool constant = false;        // one value (lane 0) for every lane
  std::size_t lanes = 0;
  Lanes<double> num;
  Lanes<model::StrId> str;
  Lanes<std::int32_t> row;
  Lanes<std::uint32_t> off;
  std::vector<std::uint8_t> present;  // List: 0 = the list itself is missing (empty vector = all present)

  [[nodiscard]] bool is_collection() const { return kind == Kind::List || kind == Kind::Set; }
  /// The kind of what num/str/row hold.
  [[nodiscard]] Kind storage_kind() const { return kind == Kind::List ? element : kind == Kind::Set ? Kind::Row : kind; }
  [[nodiscard]] std::size_t at(std::size_t lane) const { return constant ? 0 : lane; }
  [[nodiscard]] std::size_t begin(std::size_t lane) const { return off[at(lane)]; }
  [[nodiscard]] std::size_t end(std::size_t lane) const { return off[at(lane) + 1]; }
  [[nodiscard]] bool list_missing(std::size_t lane) const { return !present.empty() && present[at(lane)] == 0; }
};

/// Which of num/str/row a kind is stored in.
enum class Storage { Number, String, Row };
inline Storage storage_of(Kind kind) {
  switch (kind) {
    case Kind::Text:
    case Kind::Enum:
      return Storage::String;
    case Kind::Row:
    case Kind::Set:
      return Storage::Row;
    default:
      return Storage::Number;
  }
}

}  // namespace rapport::engine
