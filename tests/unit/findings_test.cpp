// engine/findings.hpp: the evidence kept with each finding.

#include <gtest/gtest.h>

#include <string>
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

TEST(EvidenceList, EmptyWithoutLets) {
  const engine::EvidenceList none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.begin(), none.end());
  const engine::EvidenceList no_lets(engine::SharedStrings(std::vector<std::string>{}), "");
  EXPECT_TRUE(no_lets.empty());
  EXPECT_TRUE(items(no_lets).empty());
}

}  // namespace
}  // namespace rapport
