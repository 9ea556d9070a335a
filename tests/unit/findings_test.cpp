// engine/findings.hpp: the evidence kept with each finding.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
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
        std::string text = "neglected_";  // made at run time, not a literal's address
        text += "long_tail";
        engine::SharedString rule(text);
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

// The output order is severity (highest first), then pack and rule, then subject id; findings
// equal in all three keep the order they came in. Parts come grouped by rule with subjects mostly
// in order, but escalation mixes severities within a rule and a rule over values finds them in any
// order.
TEST(SortFindings, SeverityRuleSubjectAndStableAcrossParts) {
  std::uint64_t state = 42;
  auto draw = [&state](std::uint64_t bound) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % bound;
  };
  const std::vector<std::pair<std::string, std::string>> rules = {
      {"portfolio", "neglected_long_tail"}, {"portfolio", "dunbar_portfolio_limit"}, {"relationships", "cadence"}};
  std::vector<std::vector<engine::Finding>> parts(5);
  std::vector<std::tuple<int, std::string, std::string, std::string, std::string>> expected;  // -severity, pack, rule, id, tag
  int serial = 0;
  for (auto& part : parts) {
    for (std::size_t r = 0; r < rules.size(); ++r) {
      const bool scrambled = r == 2;  // a rule whose subjects come in any order
      for (int i = 0; i < 400; ++i) {
        engine::Finding f;
        f.pack = rules[r].first;
        f.rule = rules[r].second;
        f.severity = static_cast<dsl::Severity>(draw(10) == 0 ? 4 : 1 + (r % 3));  // some escalated
        const int subject = scrambled ? static_cast<int>(draw(300)) : i / 2;  // pairs of equal ids
        f.subject_id = "acc-" + std::string(subject < 10 ? "00" : subject < 100 ? "0" : "") + std::to_string(subject);
        f.subject_name = std::to_string(serial++);  // tells findings with equal keys apart
        expected.emplace_back(-static_cast<int>(f.severity), rules[r].first, rules[r].second, f.subject_id,
                              f.subject_name.str());
        part.push_back(std::move(f));
      }
    }
  }
  std::stable_sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a)) <
           std::tie(std::get<0>(b), std::get<1>(b), std::get<2>(b), std::get<3>(b));
  });
  const std::vector<engine::Finding> sorted = engine::sort_findings(parts);
  ASSERT_EQ(sorted.size(), expected.size());
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    ASSERT_EQ(sorted[i].subject_name, std::get<4>(expected[i])) << i;
    ASSERT_EQ(sorted[i].subject_id, std::get<3>(expected[i])) << i;
  }
  for (const auto& part : parts) EXPECT_TRUE(part.empty());

  // The one-vector form: already in order, left as it is; out of order, the same order.
  std::vector<engine::Finding> again = sorted;
  engine::sort_findings(again);
  for (std::size_t i = 0; i < again.size(); ++i) ASSERT_EQ(again[i].subject_name, sorted[i].subject_name) << i;
  std::reverse(again.begin(), again.end());
  engine::sort_findings(again);
  for (std::size_t i = 1; i < again.size(); ++i) {
    const auto& a = again[i - 1];
    const auto& b = again[i];
    ASSERT_TRUE(a.severity > b.severity || (a.severity == b.severity && (a.pack.str() < b.pack.str() ||
                                            (a.pack == b.pack && (a.rule.str() < b.rule.str() ||
                                            (a.rule == b.rule && !(b.subject_id < a.subject_id)))))))
        << i;
  }
}

}  // namespace
}  // namespace rapport
