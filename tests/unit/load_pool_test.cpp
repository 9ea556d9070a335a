// The loader's string interning: the chunk-local LocalPool, the byte compare it shares with
// model::StringPool, and the shared pool's compare.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
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

TEST(LoadLocalPool, KeepsItsOwnCopyOfEachString) {
  // A chunk's strings are views into the input; the pool's views must not depend on them.
  LocalPool pool;
  std::string buffer = "acc-00000001 usr-000042";
  ASSERT_EQ(pool.intern(std::string_view(buffer).substr(0, 12)), 0u);
  ASSERT_EQ(pool.intern(std::string_view(buffer).substr(13)), 1u);
  std::fill(buffer.begin(), buffer.end(), 'x');
  EXPECT_EQ(pool.view(0), "acc-00000001");
  EXPECT_EQ(pool.view(1), "usr-000042");
  EXPECT_EQ(pool.intern(std::string("usr-000042")), 1u);
  EXPECT_EQ(pool.intern(std::string(12, 'x')), 2u);  // the overwritten bytes are a new string
  EXPECT_EQ(pool.intern(""), 3u);
  EXPECT_EQ(pool.view(3), "");
  EXPECT_EQ(pool.hash(0), model::StringPool::hash("acc-00000001"));
}

TEST(LoadLocalPool, ServesSmallChunksAfterABigOne) {
  // One chunk with many distinct strings (an accounts file's names, say) grows the table; the
  // small chunks after it get a table their size back, then a big one grows it again.
  LocalPool pool;
  auto chunk = [&pool](int strings, int salt) {
    pool.clear();
    for (int round = 0; round < 2; ++round) {  // the second round finds every string
      for (int i = 0; i < strings; ++i) {
        const std::string text = "s-" + std::to_string(salt) + "-" + std::to_string(i);
        ASSERT_EQ(pool.intern(text), static_cast<std::uint32_t>(i)) << strings << " " << salt << " " << round;
      }
    }
    ASSERT_EQ(pool.size(), static_cast<std::size_t>(strings));
    for (int i = 0; i < strings; i += 97) {
      EXPECT_EQ(pool.view(static_cast<std::uint32_t>(i)), "s-" + std::to_string(salt) + "-" + std::to_string(i));
    }
  };
  chunk(150000, 0);
  for (int salt = 1; salt <= 40; ++salt) chunk(salt % 3 ? 300 : 5000, salt);
  chunk(150000, 41);
  chunk(10, 42);
  chunk(0, 43);
  chunk(2000, 44);
}

// ---- Id order (the merge skips looking up label ids that ascend) ------------------------------

/// The id order spelled out: the id as runs, a digit run as (0, significant digits' count,
/// significant digits, leading zeros), another run as (1, its bytes); runs compared in turn.
std::vector<std::tuple<int, std::size_t, std::string, std::size_t>> id_runs(const std::string& id) {
  std::vector<std::tuple<int, std::size_t, std::string, std::size_t>> runs;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  for (std::size_t i = 0; i < id.size();) {
    std::size_t end = i;
    while (end < id.size() && digit(id[end]) == digit(id[i])) ++end;
    const std::string run = id.substr(i, end - i);
    if (digit(id[i])) {
      const std::size_t zeros = std::min(run.find_first_not_of('0'), run.size());
      runs.emplace_back(0, run.size() - zeros, run.substr(zeros), zeros);
    } else {
      runs.emplace_back(1, 0, run, 0);
    }
    i = end;
  }
  return runs;
}

TEST(LoadIdOrder, ExportNumberingAscends) {
  using load::detail::ids_ascend;
  const std::vector<std::string> ascending = {"", "0", "00", "1", "01", "2", "9", "10", "010", "99", "100",
                                              "act-1-1", "act-1-2", "act-1-9", "act-1-10", "act-2-1",
                                              "act-00000002-11", "act-00000010-1", "act-a", "act-b", "b", "ba"};
  for (std::size_t k = 0; k < ascending.size(); ++k) {
    for (std::size_t l = 0; l < ascending.size(); ++l) {
      EXPECT_EQ(ids_ascend(ascending[k], ascending[l]), k < l) << ascending[k] << " then " << ascending[l];
    }
  }
}

// Random ids over a few bytes, digits and non-digits mixed: ids_ascend() is the order of their runs,
// never true for equal ids, and exactly one way for distinct ones.
TEST(LoadIdOrder, IsTheOrderOfTheRunsAndTotal) {
  using load::detail::ids_ascend;
  std::mt19937 random(7);
  const std::string alphabet = "0019a-b\xff";
  auto draw = [&](std::size_t most) {
    std::string id(random() % (most + 1), ' ');
    for (char& c : id) c = alphabet[random() % alphabet.size()];
    return id;
  };
  // Bytes compare as unsigned in both, as std::string's compare does. Half the pairs share a
  // prefix (up to 24 bytes: the comparison skips the shared bytes 8 at a time).
  for (int k = 0; k < 200000; ++k) {
    const std::string a = draw(k % 2 ? 30 : 6);
    const std::string b = k % 2 ? a.substr(0, random() % (a.size() + 1)) + draw(6) : draw(6);
    const bool expected = id_runs(a) < id_runs(b);
    ASSERT_EQ(ids_ascend(a, b), expected) << '"' << a << "\" then \"" << b << '"';
    if (a == b) {
      ASSERT_FALSE(ids_ascend(b, a));
    } else {
      ASSERT_NE(ids_ascend(a, b), ids_ascend(b, a)) << '"' << a << "\" and \"" << b << '"';
    }
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

TEST(LoadStringBytes, BackslashFoundOnlyInsideThePaddedString) {
  using load::detail::has_backslash;
  using load::detail::has_backslash_padded;
  // Every length to 40, a backslash at each place inside; the bytes after the string (the padding
  // simdjson guarantees) are all backslashes, and must not count.
  for (std::size_t length = 0; length <= 40; ++length) {
    std::string buffer(length + 8, '\\');
    for (std::size_t i = 0; i < length; ++i) buffer[i] = static_cast<char>('a' + i % 26);
    EXPECT_FALSE(has_backslash_padded(buffer.data(), length)) << length;
    EXPECT_FALSE(has_backslash(buffer.data(), length)) << length;
    for (std::size_t at = 0; at < length; ++at) {
      std::string changed = buffer;
      changed[at] = '\\';
      EXPECT_TRUE(has_backslash_padded(changed.data(), length)) << length << " at " << at;
      EXPECT_TRUE(has_backslash(changed.data(), length)) << length << " at " << at;
    }
  }
  // Bytes one bit from a backslash (0x5c): '[', ']', 'L', '|', 0x1c, 0xdc (a UTF-8 lead byte) and
  // 0x9c (a continuation byte), in one word and across two.
  const std::string near = "[]L|\x1c\xdc\x9c[]L|\x1c\xdc\x9c";
  std::string padded = near + std::string(8, '\\');
  EXPECT_FALSE(has_backslash_padded(padded.data(), near.size()));
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

TEST(LoadStringPool, PrefetchStagesAreHintsOnly) {
  // The merge hints a string's slot, then its view, then its text, for strings held or not,
  // before interning them; the hints must be safe for any hash and change nothing.
  model::StringPool pool;
  const std::string held = "usr-000042";
  const std::string absent = "usr-999999";
  auto hint = [&pool](const std::string& text) {
    const std::uint64_t h = model::StringPool::hash(text);
    pool.prefetch(h);
    pool.prefetch_view(h);
    pool.prefetch_text(h);
  };
  hint(held);  // an empty pool
  EXPECT_EQ(pool.intern(held), 0u);
  std::string long_text(70000, 'l');  // its length is kept before its text
  EXPECT_EQ(pool.intern(long_text), 1u);
  for (std::uint64_t h : {std::uint64_t{0}, ~std::uint64_t{0}, model::StringPool::hash(held)}) {
    pool.prefetch(h);
    pool.prefetch_view(h);
    pool.prefetch_text(h);
  }
  hint(held);
  hint(absent);
  hint(long_text);
  EXPECT_EQ(pool.intern(held), 0u);
  EXPECT_EQ(pool.intern(long_text), 1u);
  EXPECT_EQ(pool.intern(absent), 2u);
  pool.narrow_index();  // the slots keep ids alone: no tag to match, so no hint
  hint(held);
  hint("usr-000043");
  EXPECT_EQ(pool.intern(held), 0u);
  EXPECT_EQ(pool.intern("usr-000043"), 3u);
  EXPECT_EQ(pool.view(1).size(), 70000u);
}

}  // namespace
