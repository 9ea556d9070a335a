// engine/findings.hpp: the evidence kept with each finding.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/findings.hpp"

namespace rapport {
namespace {

std::vector<std::pair<std::string, std::string>> items(const engine::EvidenceList& list) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const engine::Evidence item : list) out.emplace_back(item.name, item.json);
  return out;
}

TEST(EvidenceList, NamesPairWithTheirValuesInOrder) {
  using namespace std::string_literals;
  const engine::SharedStrings names({"share", "owner_activities", "last_touch", "gaps"});
  const engine::EvidenceList list(names, "0.12\0{\"count\":2,\"ids\":[\"a1\",\"a2\"]}\0null\0[\"x\\u0000y\"]\0"s);
  EXPECT_EQ(list.size(), 4u);
  EXPECT_FALSE(list.empty());
  EXPECT_EQ(items(list), (std::vector<std::pair<std::string, std::string>>{
                             {"share", "0.12"},
                             {"owner_activities", "{\"count\":2,\"ids\":[\"a1\",\"a2\"]}"},
                             {"last_touch", "null"},
                             {"gaps", "[\"x\\u0000y\"]"}}));
  // Copies share the names and keep their own values.
  engine::EvidenceList copy = list;
  EXPECT_EQ(items(copy), items(list));
}

// Deferred evidence reads as the rendered form, lane by lane, each time it is iterated.
TEST(EvidenceList, DeferredValuesRenderWhenRead) {
  struct Lanes final : engine::LaneRenderer {
    mutable int renders = 0;
    void append(std::string& out, std::uint32_t lane) const override {
      ++renders;
      out += std::to_string(lane);
      out.push_back('\0');
      out += "[\"l" + std::to_string(lane) + "\"]";
      out.push_back('\0');
    }
  };
  const boost::intrusive_ptr<Lanes> lanes(new Lanes);
  const engine::SharedStrings names({"count", "items"});
  const engine::EvidenceList second(names, lanes, 1), third(names, lanes, 2);
  EXPECT_EQ(lanes->renders, 0);
  EXPECT_EQ(second.size(), 2u);
  EXPECT_FALSE(second.empty());
  EXPECT_EQ(items(second), (std::vector<std::pair<std::string, std::string>>{{"count", "1"}, {"items", "[\"l1\"]"}}));
  EXPECT_EQ(items(third), (std::vector<std::pair<std::string, std::string>>{{"count", "2"}, {"items", "[\"l2\"]"}}));
  EXPECT_EQ(lanes->renders, 2);
  // The views stay valid for as long as an iterator over them lives, past the loop's copy.
  auto it = second.begin();
  auto later = it;
  ++later;
  it = {};
  EXPECT_EQ((*later).json, "[\"l1\"]");
  EXPECT_EQ(++later, second.end());
  const engine::EvidenceList copy = third;
  EXPECT_EQ(items(copy), items(third));
  // Rendered into a caller's buffer instead, the same values; plain lists ignore the buffer.
  std::string scratch = "left over";
  std::vector<std::pair<std::string, std::string>> got;
  for (const engine::Evidence item : third.items(scratch)) got.emplace_back(item.name, item.json);
  EXPECT_EQ(got, items(third));
  const engine::EvidenceList plain(names, std::string("7\0[]\0", 5));
  got.clear();
  for (const engine::Evidence item : plain.items(scratch)) got.emplace_back(item.name, item.json);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{{"count", "7"}, {"items", "[]"}}));
}

// A finding's text as given (stored: read without a render, the caller's buffer untouched) or
// rendered from its lane each time it is read; the renderer lives while any text refers to it.
TEST(FindingText, StoredOrRenderedFromItsLane) {
  const engine::FindingText given = std::string("Owner has 151 accounts"), empty, none = "";
  std::string scratch = "untouched";
  EXPECT_EQ(given.view(scratch), "Owner has 151 accounts");
  EXPECT_EQ(scratch, "untouched");
  EXPECT_EQ(given.str(), "Owner has 151 accounts");
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(given.empty());
  EXPECT_EQ(empty.view(scratch), "");
  EXPECT_EQ(std::string("[") + given + "]", "[Owner has 151 accounts]");
  const std::string with_nul("a\0b", 3);
  EXPECT_EQ(engine::FindingText(with_nul).str(), with_nul);

  static int alive = 0;
  struct Lanes final : engine::LaneRenderer {
    Lanes() { ++alive; }
    ~Lanes() override { --alive; }
    void append(std::string& out, std::uint32_t lane) const override { out += "lane " + std::to_string(lane); }
  };
  {
    engine::FindingText second;
    {
      const boost::intrusive_ptr<Lanes> lanes(new Lanes);
      const engine::FindingText first(lanes, 1);
      second = engine::FindingText(lanes, 2);
      EXPECT_EQ(first.view(scratch), "lane 1");
      EXPECT_EQ(scratch, "lane 1");
      EXPECT_EQ(first, "lane 1");
      EXPECT_FALSE(first.empty());
    }
    EXPECT_EQ(alive, 1);  // `second` still refers to it
    const engine::FindingText copy = second;
    EXPECT_EQ(copy.str(), "lane 2");
  }
  EXPECT_EQ(alive, 0);
  // Three per finding, a million findings: a pointer and a lane each.
  EXPECT_LE(sizeof(engine::FindingText), 16u);
  EXPECT_LE(sizeof(engine::EvidenceList), 24u);
}

// Rule metadata is kept once per process: equal texts, from any thread, share one copy.
TEST(SharedString, EqualTextsShareOneCopyAcrossThreads) {
  std::vector<const char*> seen(8);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&seen, t] {
      for (int i = 0; i < 1000; ++i) {
        engine::SharedString rule(std::string("neglected_") + "long_tail");
        engine::SharedString other("rule " + std::to_string(i % 7));
        EXPECT_EQ(other, "rule " + std::to_string(i % 7));
        seen[t] = rule.data();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const char* data : seen) EXPECT_EQ(data, seen[0]);
  EXPECT_EQ(std::string_view(seen[0]), "neglected_long_tail");
  const engine::SharedString none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none, "");
  const engine::SharedStrings tags({"a", "b"}), same(std::vector<std::string>{"a", "b"}), empty;
  EXPECT_EQ(&tags.list(), &same.list());
  EXPECT_EQ(tags.list(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(empty.empty());
}

TEST(EvidenceList, EmptyWithoutLets) {
  const engine::EvidenceList none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.begin(), none.end());
  const engine::EvidenceList no_lets(engine::SharedStrings(std::vector<std::string>{}), "");
  EXPECT_TRUE(no_lets.empty());
  EXPECT_TRUE(items(no_lets).empty());
}

TEST(Fingerprint, SixteenHexDigitsOfTheFnv1aHashZeroPadded) {
  // Values from an independent FNV-1a of "pack|rule|entity|id|" (Python): one with a zero nibble
  // at the front pins the padding; the finding's fingerprint() is the same function of its fields.
  EXPECT_EQ(engine::fingerprint("portfolio", "dunbar_portfolio_limit", "users", "usr-000001"), "13f70c18d7fe345e");
  EXPECT_EQ(engine::fingerprint("p", "r", "accounts", "a4020"), "003976b36d32e3e0");
  engine::Finding finding;
  finding.pack = "p";
  finding.rule = "r";
  finding.subject_entity = "accounts";
  finding.subject_id = "a4020";
  EXPECT_EQ(finding.fingerprint(), "003976b36d32e3e0");
}

}  // namespace
}  // namespace rapport
