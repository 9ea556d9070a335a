// for_each_part(): the loop split between the cores that the plan's solver and its moves use.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "engine/parallel.hpp"

namespace rapport::engine {
namespace {

/// The parts for_each_part() made, sorted by where they begin.
std::vector<std::pair<std::size_t, std::size_t>> parts_of(std::size_t count, std::size_t min_part) {
  std::mutex mutex;
  std::vector<std::pair<std::size_t, std::size_t>> parts;
  for_each_part(count, min_part, [&](std::size_t begin, std::size_t end) {
    std::lock_guard lock(mutex);
    parts.emplace_back(begin, end);
  });
  std::sort(parts.begin(), parts.end());
  return parts;
}

TEST(ForEachPart, CoversTheRangeOnceInContiguousParts) {
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t count : {0, 1, 7, 100, 1000, 4097, 100000}) {
    for (std::size_t min_part : {0, 1, 10, 1000, 1000000}) {
      const auto parts = parts_of(count, min_part);
      ASSERT_FALSE(parts.empty()) << count << " items, parts of at least " << min_part;
      EXPECT_LE(parts.size(), cores);
      std::size_t next = 0;
      for (const auto& [begin, end] : parts) {
        EXPECT_EQ(begin, next) << count << " items, parts of at least " << min_part;
        EXPECT_LE(begin, end);
        if (parts.size() > 1) {
          EXPECT_GE(end - begin, std::max<std::size_t>(min_part, 1));
        }
        next = end;
      }
      EXPECT_EQ(next, count) << count << " items, parts of at least " << min_part;
    }
  }
}

TEST(ForEachPart, FewItemsStayOnTheCallingThread) {
  const auto caller = std::this_thread::get_id();
  std::size_t calls = 0;
  for_each_part(99, 50, [&](std::size_t begin, std::size_t end) {
    ++calls;
    EXPECT_EQ(std::this_thread::get_id(), caller);
    EXPECT_EQ(begin, 0u);
    EXPECT_EQ(end, 99u);
  });
  EXPECT_EQ(calls, 1u);
}

TEST(ForEachPart, EachItemIsWorkedOnceWhateverThreadTakesIt) {
  std::vector<std::atomic<int>> seen(50000);
  for_each_part(seen.size(), 1000, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) ++seen[i];
  });
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i].load(), 1) << "item " << i;
}

TEST(ForEachPart, AnExceptionInAnyPartReachesTheCallerAfterEveryPartEnds) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one core: a single part";
  std::atomic<int> ended{0};
  auto throw_in_last = [&](std::size_t, std::size_t end) {
    ++ended;
    if (end == 10000) throw std::runtime_error("the last part failed");
  };
  EXPECT_THROW(for_each_part(10000, 100, throw_in_last), std::runtime_error);
  EXPECT_GE(ended.load(), 2);
  auto throw_in_first = [](std::size_t begin, std::size_t) {
    if (begin == 0) throw std::runtime_error("the first part failed");
  };
  EXPECT_THROW(for_each_part(10000, 100, throw_in_first), std::runtime_error);
}

}  // namespace
}  // namespace rapport::engine
