// The loader's string interning: the chunk-local LocalPool, the byte compare it shares with
// model::StringPool, and the shared pool's compare.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "engine/load/internal.hpp"
#include "model/string_pool.hpp"

namespace {

using namespace rapport;
using load::detail::LocalPool;

/// Strings of every length from 0 to 40 (same_bytes compares up to 16 bytes as words): for each length, one of
/// 'a's and one differing from it at each position; and each length's first string is the prefix
/// of the next one's.
std::vector<std::string> strings_around_the_word_compare() {
  std::vector<std::string> texts;
  for (std::size_t length = 0; length <= 40; ++length) {
    const std::string plain(length, 'a');
    texts.push_back(plain);
    for (std::size_t at = 0; at < length; ++at) {
      std::string changed = plain;
      changed[at] = 'b';
      texts.push_back(changed);
    }
  }
  return texts;
}

TEST(LoadLocalPool, StringsOfEveryLengthAroundTheWordCompare) {
  const std::vector<std::string> texts = strings_around_the_word_compare();
  LocalPool pool;
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(pool.intern(texts[i]), i) << "\"" << texts[i] << "\"";
  ASSERT_EQ(pool.size(), texts.size());
  // Again, from copies (other addresses) and in another order: the same ids.
  std::vector<std::size_t> order(texts.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  for (std::size_t i : order) {
    const std::string copy = texts[i];
    EXPECT_EQ(pool.intern(copy), i) << "\"" << texts[i] << "\"";
  }
  EXPECT_EQ(pool.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto id = static_cast<std::uint32_t>(i);
    EXPECT_EQ(pool.view(id), texts[i]);
    EXPECT_EQ(pool.hash(id), model::StringPool::hash(texts[i]));
  }
}

TEST(LoadLocalPool, EqualPrefixesAndBinaryBytesStayApart) {
  LocalPool pool;
  const std::string sixteen = "acc-000000000001";  // the longest compared as two words
  const std::vector<std::string> texts = {sixteen,
                                          sixteen + "2",
                                          sixteen.substr(0, 15),
                                          sixteen + std::string(1, '\0'),
                                          std::string("acc\0", 4),
                                          std::string("acc", 3),
                                          "",
                                          std::string(1, '\0')};
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(pool.intern(texts[i]), i);
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(pool.intern(texts[i]), i);
  EXPECT_EQ(pool.size(), texts.size());
}

TEST(LoadLocalPool, GrowsAndClearsKeepingFirstOccurrenceOrder) {
  // Ids of several lengths (10 to 22 bytes), enough to grow the table many times.
  std::vector<std::string> texts;
  for (int i = 0; i < 60000; ++i) {
    std::string text = "id-" + std::to_string(i * 7919 % 60000);
    if (i % 3 == 1) text += "-with-a-longer-tail";
    texts.push_back(text);
  }
  LocalPool pool;
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < texts.size(); ++i) ASSERT_EQ(pool.intern(texts[i]), i);
    for (std::size_t i = 0; i < texts.size(); i += 7) ASSERT_EQ(pool.intern(std::string(texts[i])), i);
    ASSERT_EQ(pool.size(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) ASSERT_EQ(pool.view(static_cast<std::uint32_t>(i)), texts[i]);
    pool.clear();
    EXPECT_EQ(pool.size(), 0u);
    // After clear() the table is reused: the same strings in reverse order get ids from 0 again.
    std::reverse(texts.begin(), texts.end());
  }
  EXPECT_EQ(pool.intern("new"), 0u);
  EXPECT_EQ(pool.intern("id-1"), 1u);
}

TEST(LoadLocalPool, ClearedManyTimesForgetsEveryEarlierChunk) {
  LocalPool pool;
  for (int chunk = 0; chunk < 2000; ++chunk) {
    const std::string mine = "chunk-" + std::to_string(chunk);
    ASSERT_EQ(pool.intern(mine), 0u) << chunk;
    ASSERT_EQ(pool.intern("shared"), 1u) << chunk;
    ASSERT_EQ(pool.intern(mine), 0u) << chunk;
    ASSERT_EQ(pool.size(), 2u) << chunk;
    pool.clear();
  }
}

TEST(LoadStringBytes, SameBytesForEveryLength) {
  for (std::size_t length = 0; length <= 40; ++length) {
    std::string a(length, 'x');
    for (std::size_t i = 0; i < length; ++i) a[i] = static_cast<char>('a' + i % 26);
    const std::string b = a;
    EXPECT_TRUE(model::same_bytes(a.data(), b.data(), length)) << length;
    for (std::size_t at = 0; at < length; ++at) {
      std::string changed = a;
      changed[at] = '#';
      EXPECT_FALSE(model::same_bytes(a.data(), changed.data(), length)) << length << " at " << at;
      EXPECT_FALSE(model::same_bytes(changed.data(), a.data(), length)) << length << " at " << at;
    }
  }
}

TEST(LoadStringPool, StringsOfEveryLengthAroundTheWordCompare) {
  const std::vector<std::string> texts = strings_around_the_word_compare();
  model::StringPool pool;
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(pool.intern(texts[i]), i) << "\"" << texts[i] << "\"";
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::string copy = texts[i];
    EXPECT_EQ(pool.intern(copy, model::StringPool::hash(copy)), i);
    EXPECT_EQ(pool.find(copy), i);
    EXPECT_EQ(pool.view(static_cast<model::StrId>(i)), texts[i]);
  }
  EXPECT_EQ(pool.find(std::string(41, 'a')), model::kMissingStr);
  EXPECT_EQ(pool.find(std::string(16, 'c')), model::kMissingStr);
  EXPECT_EQ(pool.size(), texts.size());
}

}  // namespace
