#include "model/front_coded.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

namespace rapport::model {

namespace {

void put_varint(std::vector<unsigned char>& out, std::size_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<unsigned char>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<unsigned char>(value));
}

std::size_t get_varint(const unsigned char*& at) {
  std::size_t value = 0;
  unsigned shift = 0;
  for (;;) {
    const unsigned char byte = *at++;
    value |= static_cast<std::size_t>(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return value;
    shift += 7;
  }
}

}  // namespace

void FrontCodedStrings::push_back(std::string_view text) {
  std::size_t shared = 0;
  if (size_ % kBlock == 0) {
    block_starts_.push_back(bytes_.size());
  } else {
    shared = shared_prefix(text, last_);
  }
  const std::size_t rest = text.size() - shared;
  if (shared < 0x80 && rest < 0x80) {
    // Both lengths fit a byte (nearly every id): no varint loops.
    bytes_.push_back(static_cast<unsigned char>(shared));
    bytes_.push_back(static_cast<unsigned char>(rest));
    const auto* from = reinterpret_cast<const unsigned char*>(text.data()) + shared;
    bytes_.insert(bytes_.end(), from, from + rest);
  } else {
    put_varint(bytes_, shared);
    put_varint(bytes_, rest);
    bytes_.insert(bytes_.end(), text.begin() + static_cast<std::ptrdiff_t>(shared), text.end());
  }
  last_.assign(text);
  ++size_;
}

void FrontCodedStrings::append_to(std::string& out, std::size_t index) const {
  const std::size_t base = out.size();
  const unsigned char* at = bytes_.data() + block_starts_[index / kBlock];
  for (std::size_t k = 0; k <= index % kBlock; ++k) {
    const std::size_t shared = get_varint(at);
    const std::size_t rest = get_varint(at);
    out.resize(base + shared);
    out.append(reinterpret_cast<const char*>(at), rest);
    at += rest;
  }
}

void FrontCodedStrings::shrink_to_fit() {
  bytes_.shrink_to_fit();
  block_starts_.shrink_to_fit();
}

std::size_t FrontCodedStrings::memory_bytes() const {
  return bytes_.capacity() + block_starts_.capacity() * sizeof(std::uint64_t) + last_.capacity();
}

}  // namespace rapport::model
