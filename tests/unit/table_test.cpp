// The columnar tables: references compacted to their target rows (model::compact_references)
// read as the strings they replace.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/table.hpp"

namespace rapport::model {
namespace {

/// accounts a1, a2 and activities whose account_id is a1, missing, "gone" (no such account), a2.
struct Book {
  Dataset data;
  Book() {
    Table& accounts = data.tables["accounts"];
    accounts.entity = "accounts";
    for (const char* id : {"a1", "a2"}) accounts.ids.push_back(data.strings.intern(id));
    Table& activities = data.tables["activities"];
    activities.entity = "activities";
    FieldDef def;
    def.name = "account_id";
    def.type = FieldType::Ref;
    def.ref_entity = "accounts";
    Column& column = activities.columns["account_id"];
    column.reset(def);
    auto add = [&](const char* id, const char* account, std::int32_t row) {
      activities.ids.push_back(data.strings.intern(id));
      column.strings.push_back(account ? data.strings.intern(account) : kMissingStr);
      column.rows.push_back(row);
    };
    add("t1", "a1", 0);
    add("t2", nullptr, kNoRow);
    add("t3", "gone", kNoRow);
    add("t4", "a2", 1);
  }
  Column& account_id() { return data.tables["activities"].columns["account_id"]; }
  std::vector<std::string> texts() {
    std::vector<std::string> out;
    const TextValues values(data, account_id());
    for (std::size_t r = 0; r < values.size(); ++r) {
      out.push_back(values[r] == kMissingStr ? "(missing)" : std::string(data.strings.view(values[r])));
    }
    return out;
  }
};

TEST(ModelTable, CompactedReferencesReadAsTheirStrings) {
  Book book;
  const std::vector<std::string> expected = {"a1", "(missing)", "gone", "a2"};
  EXPECT_EQ(book.texts(), expected);
  const std::size_t before = book.account_id().memory_bytes();
  compact_references(book.data);
  Column& column = book.account_id();
  ASSERT_TRUE(column.strings_compacted);
  EXPECT_TRUE(column.strings.empty());
  EXPECT_EQ(column.strings.capacity(), 0u);
  EXPECT_LT(column.memory_bytes(), before + sizeof(column.unresolved[0]));
  ASSERT_EQ(column.unresolved.size(), 1u);  // only "gone" keeps its text
  EXPECT_EQ(book.texts(), expected);
  EXPECT_FALSE(column.missing_at(0));
  EXPECT_TRUE(column.missing_at(1));
  EXPECT_FALSE(column.missing_at(2));
  EXPECT_EQ(column.unresolved_at(2), book.data.strings.find("gone"));
  EXPECT_EQ(column.unresolved_at(1), kMissingStr);
  // Compacting again changes nothing.
  compact_references(book.data);
  EXPECT_EQ(book.texts(), expected);
}

TEST(ModelTable, CompactedReferencesGrowAndShrinkWithTheirTable) {
  Book book;
  compact_references(book.data);
  Table& activities = book.data.tables["activities"];
  activities.append_row(book.data.strings.intern("t5"));
  EXPECT_TRUE(book.account_id().strings.empty());
  EXPECT_EQ(book.texts(), (std::vector<std::string>{"a1", "(missing)", "gone", "a2", "(missing)"}));
  activities.truncate(2);  // drops "gone", the one unresolved reference
  EXPECT_TRUE(book.account_id().unresolved.empty());
  EXPECT_EQ(book.texts(), (std::vector<std::string>{"a1", "(missing)"}));
}

TEST(ModelTable, ReferencesWhoseRowsDisagreeWithTheirStringsStayAsTheyAre) {
  Book book;
  book.account_id().rows[3] = 0;  // "a2" pointing at a1's row: not a resolution compact_references made
  compact_references(book.data);
  EXPECT_FALSE(book.account_id().strings_compacted);
  EXPECT_EQ(book.texts(), (std::vector<std::string>{"a1", "(missing)", "gone", "a2"}));
  // Without their target table, references keep their strings too.
  Book orphan;
  orphan.data.tables.erase("accounts");
  compact_references(orphan.data);
  EXPECT_FALSE(orphan.account_id().strings_compacted);
}

}  // namespace
}  // namespace rapport::model
