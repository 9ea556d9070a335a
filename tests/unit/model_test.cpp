// The canonical model, calendar arithmetic, the string pool and huge pages for large blocks.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "model/huge_pages.hpp"
#include "model/schema.hpp"
#include "model/string_pool.hpp"
#include "model/time.hpp"

namespace rapport::model {
namespace {

TEST(ModelSchema, CanonicalModelMatchesTheContract) {
  const Schema& schema = Schema::canonical();
  EXPECT_EQ(schema.entities().size(), 9u);
  const EntityDef* accounts = schema.entity("accounts");
  ASSERT_NE(accounts, nullptr);
  EXPECT_EQ(accounts->singular, "account");
  const FieldDef* owner = accounts->field("owner_id");
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(owner->type, FieldType::Ref);
  EXPECT_EQ(owner->ref_entity, "users");
  EXPECT_EQ(accounts->link("owner"), owner);
  EXPECT_FALSE(accounts->field("tier")->ordered);
  EXPECT_TRUE(accounts->field("criticality")->ordered);
  EXPECT_EQ(schema.entity("opportunities")->singular, "opportunity");
  EXPECT_EQ(schema.entity("cases")->singular, "case");
  EXPECT_EQ(schema.entity("activities")->field("topics")->type, FieldType::TextList);
  EXPECT_EQ(*schema.entity("contracts")->field("service_tier")->enum_rank("premium"), 2);
}

TEST(ModelSchema, DiscoveredLinksResolveByEntityName) {
  Schema schema = Schema::canonical();
  schema.add_entity("teams");
  FieldDef team_id;
  team_id.name = "team_id";
  schema.add_field("users", team_id);
  schema.resolve_discovered_links();
  const FieldDef* field = schema.entity("users")->field("team_id");
  EXPECT_EQ(field->type, FieldType::Ref);
  EXPECT_EQ(field->ref_entity, "teams");
  EXPECT_FALSE(field->declared);
}

TEST(ModelTime, ParsesDatesAndUtcTimestamps) {
  EXPECT_EQ(*parse_date("1970-01-01"), 0);
  EXPECT_EQ(*parse_date("2026-03-01"), 20513 * 86400.0);
  EXPECT_FALSE(parse_date("2026-02-30"));
  EXPECT_TRUE(parse_date("2024-02-29"));
  EXPECT_FALSE(parse_date("2026-3-01"));
  EXPECT_EQ(*parse_timestamp("2026-03-01T09:30:00Z"), 20513 * 86400.0 + 9 * 3600 + 30 * 60);
  EXPECT_EQ(*parse_timestamp("2026-03-01T09:30Z"), 20513 * 86400.0 + 9 * 3600 + 30 * 60);
  EXPECT_FALSE(parse_timestamp("2026-03-01T09:30:00"));
  EXPECT_FALSE(parse_timestamp("2026-03-01T25:00:00Z"));
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-03-01T09:30:00Z")), "2026-03-01T09:30:00Z");
  EXPECT_EQ(format_date(*parse_date("1999-12-31")), "1999-12-31");
}

TEST(ModelTime, AcceptsOnlyTheDocumentedForms) {
  const double day = 20513 * 86400.0;
  EXPECT_EQ(*parse_timestamp("2026-03-01T09:30:15Z"), day + 9 * 3600 + 30 * 60 + 15);
  EXPECT_EQ(*parse_timestamp("2026-03-01T09:30:15.250Z"), day + 9 * 3600 + 30 * 60 + 15);  // fraction dropped
  EXPECT_EQ(*parse_timestamp("2026-03-01T09:30:15+00:00"), day + 9 * 3600 + 30 * 60 + 15);
  EXPECT_EQ(*parse_timestamp("2026-03-01T23:59:60Z"), day + 23 * 3600 + 59 * 60 + 60);  // a leap second
  EXPECT_EQ(*parse_date_or_timestamp("2026-03-01"), day);
  EXPECT_EQ(*parse_date_or_timestamp("2026-03-01T00:00Z"), day);
  for (const char* bad : {"2026-03-01T09:30", "2026-03-01T09:30:1Z", "2026-03-01T09:30:", "2026-03-01T09:3aZ",
                          "2026-03-01T09:30:00+01:00", "2026-03-01T09:30:00z", "2026-03-01 09:30:00Z",
                          "2026-03-01T24:00:00Z", "2026-03-01T09:60:00Z", "2026-03-01T09:30:61Z", "2026-13-01T09:30Z",
                          "2026-02-29T09:30Z", "2026-03-01T09:30ZZ", "x026-03-01T09:30Z", "2026/03/01T09:30Z"}) {
    EXPECT_FALSE(parse_timestamp(bad)) << bad;
  }
  for (const char* bad : {"2026-03-1", "2026-03-001", "2026-00-10", "2026-03-00", "20x6-03-01", "2026-03-01Z", ""}) {
    EXPECT_FALSE(parse_date(bad)) << bad;
  }
  EXPECT_EQ(*parse_date("2000-02-29"), 11016 * 86400.0);  // divisible by 400: a leap year
  EXPECT_FALSE(parse_date("1900-02-29"));                 // divisible by 100: not one
  EXPECT_EQ(*parse_date("1969-12-31"), -86400.0);
}

TEST(ModelTime, EveryDayAgreesWithTheCalendarArithmetic) {
  // Dates from 1900 to 2199 come from a month table, others from days_from_civil(): both, and
  // the table's edges, must give the same days and refuse the same non-dates.
  for (std::int64_t year : {1583, 1899, 1900, 1901, 1970, 2000, 2024, 2100, 2199, 2200, 9999}) {
    for (unsigned month = 1; month <= 12; ++month) {
      for (unsigned day = 1; day <= 32; ++day) {
        char text[32];
        std::snprintf(text, sizeof text, "%04lld-%02u-%02u", static_cast<long long>(year), month, day);
        const std::optional<double> parsed = parse_date(text);
        if (!valid_date(year, month, day)) {
          EXPECT_FALSE(parsed) << text;
          continue;
        }
        ASSERT_TRUE(parsed) << text;
        EXPECT_EQ(*parsed, static_cast<double>(days_from_civil(year, month, day)) * 86400.0) << text;
      }
    }
  }
  EXPECT_FALSE(parse_date("2100-02-29"));
  EXPECT_TRUE(parse_date("2196-02-29"));
  EXPECT_EQ(*parse_date("1900-01-01"), -25567 * 86400.0);
}

// The 20-byte form `YYYY-MM-DDTHH:MM:SSZ` has a fast path (16 bytes checked at once); the same
// instant written with `+00:00` takes the general one. Every byte of many timestamps replaced by
// digits, separators and other bytes must be accepted or refused alike, with the same value.
TEST(ModelTime, TheFastFormAgreesWithTheGeneralOne) {
  std::size_t accepted = 0, refused = 0;
  auto agree = [&](const std::string& z_form) {
    ASSERT_EQ(z_form.size(), 20u);
    const std::string offset_form = z_form.substr(0, 19) + "+00:00";
    const std::optional<double> fast = parse_timestamp(z_form);
    const std::optional<double> general = parse_timestamp(offset_form);
    if (z_form[19] != 'Z') return;  // only the general path reads such a string
    ASSERT_EQ(fast.has_value(), general.has_value()) << z_form;
    if (fast) {
      EXPECT_EQ(*fast, *general) << z_form;
      ++accepted;
    } else {
      ++refused;
    }
  };
  const std::string replacements = "0123456789-T:Z /.+\x7f\x80\xff" "aA";
  for (const char* stamp : {"2026-03-01T09:30:15Z", "1900-01-01T00:00:00Z", "2199-12-31T23:59:60Z", "1899-12-31T23:59:59Z",
                            "2200-01-01T00:00:00Z", "2024-02-29T12:00:00Z", "2100-02-28T00:00:00Z", "0000-01-01T00:00:00Z",
                            "9999-12-31T23:59:59Z"}) {
    const std::string base = stamp;
    agree(base);
    for (std::size_t at = 0; at < base.size(); ++at) {
      for (const char c : replacements) {
        std::string mutated = base;
        mutated[at] = c;
        agree(mutated);
      }
    }
  }
  // Every day of a few years and every hour, minute and second value around the limits.
  for (const int year : {1900, 1970, 2026, 2199, 2200}) {
    for (unsigned month = 0; month <= 13; ++month) {
      for (unsigned day = 0; day <= 32; ++day) {
        char text[32];
        std::snprintf(text, sizeof text, "%04d-%02u-%02uT23:59:59Z", year, month, day);
        agree(text);
      }
    }
  }
  for (unsigned value = 0; value <= 99; ++value) {
    char text[32];
    std::snprintf(text, sizeof text, "2026-03-01T%02u:00:00Z", value);
    agree(text);
    std::snprintf(text, sizeof text, "2026-03-01T00:%02u:00Z", value);
    agree(text);
    std::snprintf(text, sizeof text, "2026-03-01T00:00:%02uZ", value);
    agree(text);
  }
  EXPECT_GT(accepted, 1000u);
  EXPECT_GT(refused, 1000u);
  // A timestamp ending a buffer exactly (the fast path reads only its 20 bytes).
  const std::string exact = "2026-03-01T09:30:15Z";
  std::unique_ptr<char[]> tight(new char[exact.size()]);
  std::memcpy(tight.get(), exact.data(), exact.size());
  EXPECT_EQ(*parse_timestamp(std::string_view(tight.get(), exact.size())), 20513 * 86400.0 + 9 * 3600 + 30 * 60 + 15);
}

TEST(ModelTime, FormatsDurationsAsWritten) {
  EXPECT_EQ(format_duration(90 * 86400.0), "90d");
  EXPECT_EQ(format_duration(4 * 3600.0), "4h");
  EXPECT_EQ(format_duration(28 * 86400.0), "28d");
  EXPECT_EQ(format_duration(36 * 3600.0), "36h");  // a day and a half: not whole days
  EXPECT_EQ(format_duration(-3 * 86400.0), "-3d");
  EXPECT_EQ(format_duration(90.0 * 60), "1.5h");
  EXPECT_EQ(format_duration(86400.0 * 2 + 3600 * 7.2), "2.3d");
  EXPECT_EQ(format_duration(std::nan("")), "");
}

TEST(ModelTime, FormatsAsPrintfWould) {
  // Dates, timestamps and durations are written digit by digit (a report formats one per
  // finding): the same text as the printf formats they replaced, years outside 0-9999 included.
  for (std::int64_t days = -800000; days <= 3000000; days += 997) {
    for (std::int64_t second : {0, 1, 3599, 45296, 86399}) {
      const double seconds = static_cast<double>(days) * 86400.0 + static_cast<double>(second);
      std::int64_t year = 0;
      unsigned month = 0, day = 0;
      civil_from_days(days, year, month, day);
      char date[32];
      std::snprintf(date, sizeof date, "%04lld-%02u-%02u", static_cast<long long>(year), month, day);
      char stamp[64];
      std::snprintf(stamp, sizeof stamp, "%sT%02lld:%02lld:%02lldZ", date, static_cast<long long>(second / 3600),
                    static_cast<long long>(second / 60 % 60), static_cast<long long>(second % 60));
      ASSERT_EQ(format_date(seconds), date) << days;
      ASSERT_EQ(format_timestamp(seconds), stamp) << days;
    }
  }
  std::vector<double> durations = {1e300, -1e300, 1e-300, 0.0, -0.0, 86400.0 * 1e15 + 0.5, 4.9e-324};
  for (double seconds = -5e6; seconds <= 5e7; seconds += 1234.5) durations.push_back(seconds);
  for (const double seconds : durations) {
    const double abs_seconds = std::fabs(seconds);
    auto whole = [](double v) { return std::fabs(v - std::round(v)) < 1e-9; };
    char expected[400];
    if (abs_seconds >= 86400 && whole(seconds / 86400)) {
      std::snprintf(expected, sizeof expected, "%.0fd", seconds / 86400);
    } else if (whole(seconds / 3600)) {
      std::snprintf(expected, sizeof expected, "%.0fh", seconds / 3600);
    } else if (abs_seconds >= 86400) {
      std::snprintf(expected, sizeof expected, "%.1fd", seconds / 86400);
    } else {
      std::snprintf(expected, sizeof expected, "%.1fh", seconds / 3600);
    }
    ASSERT_EQ(format_duration(seconds), expected) << seconds;
  }
}

TEST(ModelStringPool, InternsOnce) {
  StringPool pool;
  StrId a = pool.intern("strategic");
  StrId b = pool.intern(std::string("strate") + "gic");
  EXPECT_EQ(a, b);
  EXPECT_EQ(pool.view(a), "strategic");
  EXPECT_EQ(pool.find("missing"), kMissingStr);
  for (int i = 0; i < 100000; ++i) pool.intern("s" + std::to_string(i));
  EXPECT_EQ(pool.view(a), "strategic");  // views stay valid as the pool grows
}

TEST(ModelStringPool, IdsAreDenseInFirstInternedOrderAcrossGrowth) {
  StringPool pool;
  std::vector<const char*> data;
  for (int i = 0; i < 50000; ++i) {
    std::string text = "id-" + std::to_string(i * 7919 % 50000);
    EXPECT_EQ(pool.intern(text), static_cast<StrId>(i));
    data.push_back(pool.view(static_cast<StrId>(i)).data());
  }
  EXPECT_EQ(pool.size(), 50000u);
  for (int i = 0; i < 50000; ++i) {
    std::string text = "id-" + std::to_string(i * 7919 % 50000);
    EXPECT_EQ(pool.intern(text), static_cast<StrId>(i));  // no new id for a known string
    EXPECT_EQ(pool.find(text), static_cast<StrId>(i));
    EXPECT_EQ(pool.view(static_cast<StrId>(i)), text);
    EXPECT_EQ(pool.view(static_cast<StrId>(i)).data(), data[static_cast<std::size_t>(i)]);  // stable storage
  }
  EXPECT_EQ(pool.size(), 50000u);
  EXPECT_EQ(pool.find("id-50000"), kMissingStr);
}

TEST(ModelStringPool, EmptyAndBinaryStrings) {
  StringPool pool;
  StrId empty = pool.intern("");
  StrId nul = pool.intern(std::string_view("a\0b", 3));
  StrId a = pool.intern("a");
  EXPECT_NE(empty, nul);
  EXPECT_NE(nul, a);
  EXPECT_EQ(pool.intern(std::string()), empty);
  EXPECT_EQ(pool.find(std::string_view("a\0b", 3)), nul);
  EXPECT_EQ(pool.find(std::string_view("a\0c", 3)), kMissingStr);
  EXPECT_EQ(pool.view(empty), "");
  EXPECT_EQ(pool.view(nul).size(), 3u);
  std::string big(3u << 20, 'x');  // larger than an arena chunk
  StrId b = pool.intern(big);
  EXPECT_EQ(pool.view(b), big);
  EXPECT_EQ(pool.find(big), b);
}

// A view keeps lengths up to 65,534 next to the address; longer strings keep theirs in front of
// the text. Lengths around that limit, interleaved with short strings, and one longer than a
// chunk, come back whole.
TEST(ModelStringPool, LengthsAroundTheLongStringLimit) {
  StringPool pool;
  std::vector<std::pair<StrId, std::string>> kept;
  std::size_t n = 0;
  for (std::size_t size : {std::size_t{0xFFFD}, std::size_t{0xFFFE}, std::size_t{0xFFFF}, std::size_t{0x10000},
                           std::size_t{0x10001}, std::size_t{(1u << 20) - 8}, std::size_t{(1u << 20) + 3}}) {
    std::string text(size, static_cast<char>('a' + n % 26));
    text.back() = static_cast<char>('0' + n % 10);
    kept.emplace_back(pool.intern(text), text);
    std::string small = "s" + std::to_string(n++);
    kept.emplace_back(pool.intern(small), small);
  }
  for (const auto& [id, text] : kept) {
    EXPECT_EQ(pool.view(id).size(), text.size());
    EXPECT_EQ(pool.view(id), text);
    EXPECT_EQ(pool.find(text), id);
  }
}

// The hash reads a string's last bytes as overlapping words: strings differing only there, at
// every length, stay apart.
TEST(ModelStringPool, StringsDifferingInTheirLastBytesStayApart) {
  StringPool pool;
  std::vector<std::string> texts;
  for (std::size_t length = 1; length <= 24; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      std::string text(length, 'k');
      text[at] = 'K';
      texts.push_back(text);
    }
    texts.emplace_back(length, 'k');
  }
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(pool.intern(texts[i]), static_cast<StrId>(i)) << texts[i];
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(pool.find(texts[i]), static_cast<StrId>(i)) << texts[i];
}

TEST(ModelStringPool, PrecomputedHashMatchesPlainIntern) {
  StringPool pool;
  StrId a = pool.intern("acct-1", StringPool::hash("acct-1"));
  EXPECT_EQ(pool.intern("acct-1"), a);
  EXPECT_EQ(pool.find("acct-1", StringPool::hash("acct-1")), a);
  StrId b = pool.intern("acct-2");
  EXPECT_EQ(pool.intern("acct-2", StringPool::hash("acct-2")), b);
  EXPECT_EQ(StringPool::hash("acct-1"), StringPool::hash(std::string("acct-") + "1"));
  EXPECT_EQ(pool.find("acct-3", StringPool::hash("acct-3")), kMissingStr);
  EXPECT_EQ(pool.size(), 2u);
}

// Rules evaluated in parallel intern their strings with intern_shared() while other threads read
// views: every thread gets one id per distinct string, and views taken before others grew the pool
// stay valid (pages never move).
TEST(ModelStringPool, SharedInterningFromManyThreads) {
  model::StringPool pool;
  const model::StrId before = pool.intern("before");
  const std::string_view early = pool.view(before);
  constexpr int kThreads = 4;
  constexpr int kStrings = 70000;  // more than one page of views
  std::vector<std::vector<model::StrId>> ids(kThreads, std::vector<model::StrId>(kStrings));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kStrings; ++i) {
        constexpr int kStep[kThreads] = {1, 3, 11, 13};  // coprime to kStrings: each a permutation
        int n = static_cast<int>(static_cast<long>(i) * kStep[t] % kStrings);  // each thread in its own order
        model::StrId id = pool.intern_shared("s" + std::to_string(n));
        ids[t][n] = id;
        EXPECT_EQ(pool.view(id), "s" + std::to_string(n));
        EXPECT_EQ(pool.view(before), "before");
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(pool.size(), static_cast<std::size_t>(kStrings) + 1);
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(ids[t], ids[0]);
  EXPECT_EQ(early.data(), pool.view(before).data());
}

TEST(ModelStringPool, MovedPoolKeepsIdsAndViews) {
  model::StringPool pool;
  model::StrId a = pool.intern("alpha");
  const char* where = pool.view(a).data();
  model::StringPool moved(std::move(pool));
  EXPECT_EQ(moved.view(a), "alpha");
  EXPECT_EQ(moved.view(a).data(), where);
  EXPECT_EQ(moved.intern("alpha"), a);
  EXPECT_EQ(moved.intern("beta"), a + 1);
  EXPECT_EQ(moved.size(), 2u);
}

TEST(ModelStringPool, ReserveKeepsIdsAndViews) {
  StringPool pool;
  StrId a = pool.intern("before");
  const char* at = pool.view(a).data();
  pool.reserve(200000);  // rebuilds the index
  EXPECT_EQ(pool.find("before"), a);
  EXPECT_EQ(pool.view(a).data(), at);
  for (int i = 0; i < 200000; ++i) EXPECT_EQ(pool.intern("r" + std::to_string(i)), static_cast<StrId>(i + 1));
  pool.reserve(10);  // smaller than the size: no effect
  EXPECT_EQ(pool.size(), 200001u);
  EXPECT_EQ(pool.find("r199999"), 200000u);
  EXPECT_EQ(pool.intern("before"), a);
}

// After narrow_index() the index keeps ids alone: the same ids are found and interned, new strings
// are added, and the index grows (rebuilt from the strings' hashes) with every string still found.
TEST(ModelStringPool, NarrowedIndexFindsInternsAndGrows) {
  StringPool pool;
  std::vector<std::string> texts;
  for (int i = 0; i < 3000; ++i) texts.push_back("s" + std::to_string(i * 7));
  texts.push_back("");
  texts.push_back(std::string(70000, 'x'));  // a long string (length kept before its text)
  for (std::size_t i = 0; i < texts.size(); ++i) ASSERT_EQ(pool.intern(texts[i]), i);
  const std::size_t wide = pool.usage().index;
  pool.narrow_index();
  EXPECT_EQ(pool.usage().index * 2, wide);
  pool.narrow_index();  // again: no change
  for (std::size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(pool.find(texts[i]), i) << texts[i].substr(0, 10);
    EXPECT_EQ(pool.intern(texts[i]), i);
  }
  EXPECT_EQ(pool.find("s1"), kMissingStr);
  EXPECT_EQ(pool.find(std::string(70000, 'y')), kMissingStr);
  // New strings, enough to grow the narrowed index several times.
  const std::size_t before = pool.size();
  for (int i = 0; i < 50000; ++i) ASSERT_EQ(pool.intern("n" + std::to_string(i)), before + static_cast<std::size_t>(i));
  EXPECT_GT(pool.usage().index, wide / 2);
  for (std::size_t i = 0; i < texts.size(); ++i) ASSERT_EQ(pool.find(texts[i]), i);
  for (int i = 0; i < 50000; i += 97) EXPECT_EQ(pool.find("n" + std::to_string(i)), before + static_cast<std::size_t>(i));
  pool.reserve(400000);
  EXPECT_EQ(pool.find("n49999"), before + 49999);
  EXPECT_EQ(pool.intern_shared("s21"), 3u);
}

}  // namespace
}  // namespace rapport::model

TEST(ModelHugePages, SpanIsTheWholeHugePagesInsideTheBlock) {
  using rapport::model::huge_span;
  constexpr std::uintptr_t kMiB = 1u << 20;
  // Aligned on both ends: all of it.
  rapport::model::HugeSpan span = huge_span(4 * kMiB, 6 * kMiB);
  EXPECT_EQ(span.begin, 4 * kMiB);
  EXPECT_EQ(span.size, 6 * kMiB);
  // A malloc block (16 bytes past a page) of 9 MiB: the 2 MiB pages strictly inside it.
  span = huge_span(4 * kMiB + 16, 9 * kMiB);
  EXPECT_EQ(span.begin, 6 * kMiB);
  EXPECT_EQ(span.size, 6 * kMiB);
  // Less than a huge page, or one that straddles a boundary without covering a whole page.
  EXPECT_EQ(huge_span(4 * kMiB, 2 * kMiB - 1).size, 0u);
  EXPECT_EQ(huge_span(3 * kMiB, 2 * kMiB).size, 0u);
  EXPECT_EQ(huge_span(3 * kMiB, 3 * kMiB).size, 2 * kMiB);
  // A range that would wrap around the address space is refused, not computed.
  EXPECT_EQ(huge_span(UINTPTR_MAX - kMiB, 4 * kMiB).size, 0u);
}

TEST(ModelHugePages, AdvisedBlockIsMarkedForHugePages) {
  std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  if (!mode || !std::getline(mode, modes) || modes.find("[never]") != std::string::npos) {
    GTEST_SKIP() << "no transparent huge pages on this kernel";
  }
  constexpr std::size_t kSize = 16u << 20;
  std::unique_ptr<char[]> block(new char[kSize]);
  ASSERT_TRUE(rapport::model::advise_huge_pages(block.get(), kSize));
  // /proc/self/smaps lists the mapping holding the block's huge pages with the `hg` flag
  // (VM_HUGEPAGE) among its VmFlags.
  const rapport::model::HugeSpan span = rapport::model::huge_span(reinterpret_cast<std::uintptr_t>(block.get()), kSize);
  std::ifstream smaps("/proc/self/smaps");
  ASSERT_TRUE(smaps);
  std::string line;
  bool inside = false;
  bool found = false;
  while (std::getline(smaps, line)) {
    unsigned long long from = 0, to = 0;
    char dash = 0;
    std::istringstream head(line);
    if (line.find("VmFlags:") != 0 && (head >> std::hex >> from >> dash >> to) && dash == '-') {
      inside = from <= span.begin && span.begin + span.size <= to;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) {
      EXPECT_NE((line + " ").find(" hg "), std::string::npos) << line;
      found = true;
      break;
    }
  }
  EXPECT_TRUE(found) << "no mapping in /proc/self/smaps holds the advised pages";
  // Nothing to advise in a small block.
  char small[64];
  EXPECT_FALSE(rapport::model::advise_huge_pages(small, sizeof small));
}
