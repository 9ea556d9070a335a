#pragma once
// A report being written a megabyte at a time, with its long lists rendered on two threads.

#include <algorithm>
#include <cstddef>
#include <future>
#include <string>
#include <string_view>
#include <system_error>

#include "engine/output.hpp"

namespace rapport::engine {

/// A report being written: pieces are gathered into about a megabyte, then handed to the writer.
class Chunked {
 public:
  explicit Chunked(const ReportWriter& write) : write_(write) { buffer_.reserve(kChunk + 64 * 1024); }
  Chunked(const Chunked&) = delete;
  Chunked& operator=(const Chunked&) = delete;
  Chunked& operator+=(std::string_view piece) {
    buffer_ += piece;
    if (buffer_.size() >= kChunk) flush();
    return *this;
  }
  /// Lets `render` append to the buffer in place.
  template <typename Render>
  void append(Render render) {
    render(buffer_);
    if (buffer_.size() >= kChunk) flush();
  }
  /// Appends render_item(buffer, i) for each i in [0, count), in order. Large counts are rendered
  /// a batch on each of two threads at a time (a million findings: rendering is most of the
  /// report's time), and written in order by the calling thread.
  template <typename RenderItem>
  void append_each(std::size_t count, RenderItem render_item) {
    constexpr std::size_t kBatch = 8192;
    auto render_range = [&render_item](std::string& buffer, std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) render_item(buffer, i);
    };
    if (count < 2 * kBatch) {
      for (std::size_t i = 0; i < count; ++i) append([&](std::string& buffer) { render_item(buffer, i); });
      return;
    }
    std::string other;
    for (std::size_t begin = 0; begin < count; begin += 2 * kBatch) {
      const std::size_t middle = std::min(begin + kBatch, count);
      const std::size_t end = std::min(begin + 2 * kBatch, count);
      other.clear();
      std::future<void> second;
      try {
        second = std::async(std::launch::async, [&] { render_range(other, middle, end); });
      } catch (const std::system_error&) {  // no thread to be had: render it here
        render_range(other, middle, end);
      }
      render_range(buffer_, begin, middle);
      if (second.valid()) second.get();
      flush();
      if (!other.empty()) write_(other);
    }
  }
  void finish() { flush(); }

 private:
  static constexpr std::size_t kChunk = 1 << 20;
  void flush() {
    if (!buffer_.empty()) write_(buffer_);
    buffer_.clear();
  }
  const ReportWriter& write_;
  std::string buffer_;
};

}  // namespace rapport::engine
