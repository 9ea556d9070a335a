// The columnar tables: references compacted to their target rows (model::compact_references)
// read as the strings they replace; numbers packed into whole offsets (model::compact_numbers)
// read back exactly; texts encoded in a dictionary (model::compact_texts) read as their strings.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <span>
#include <stdexcept>
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

/// One table "t" with a column per case, each given its values (NaN = missing).
struct Numbers {
  Dataset data;
  explicit Numbers(const std::vector<std::pair<std::string, std::vector<double>>>& columns,
                   FieldType type = FieldType::Number) {
    Table& table = data.tables["t"];
    table.entity = "t";
    for (const auto& [name, values] : columns) {
      FieldDef def;
      def.name = name;
      def.type = type;
      Column& column = table.columns[name];
      column.reset(def);
      column.numbers = values;
    }
    for (std::size_t r = 0; r < columns.front().second.size(); ++r) {
      table.ids.push_back(data.strings.intern("r" + std::to_string(r)));
    }
  }
  Column& column(const std::string& name) { return data.tables["t"].columns[name]; }
  /// The column's values as read through NumberValues, by operator[] and by visit().
  std::vector<double> read(const std::string& name) {
    const NumberValues values(column(name));
    std::vector<double> out, visited(values.size());
    for (std::size_t r = 0; r < values.size(); ++r) out.push_back(values[r]);
    values.visit([&](const auto& numbers) {
      for (std::size_t r = 0; r < visited.size(); ++r) visited[r] = numbers[r];
    });
    EXPECT_EQ(bits(out), bits(visited)) << name;
    return out;
  }
  /// Values compared bit for bit (NaN equal to NaN, -0 not equal to 0).
  static std::vector<std::uint64_t> bits(const std::vector<double>& values) {
    std::vector<std::uint64_t> out;
    for (double value : values) {
      std::uint64_t word = 0;
      if (std::isnan(value)) value = kMissingNumber;
      std::memcpy(&word, &value, sizeof word);
      out.push_back(word);
    }
    return out;
  }
};

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(ModelTable, PackedNumbersReadBackExactlyInTheNarrowestWidth) {
  const std::vector<std::pair<std::string, std::vector<double>>> columns = {
      {"flag", {1, 0, kNaN, 1}},
      {"span_254", {-4, 250, kNaN, 0}},       // 254 apart: one byte, 255 is "missing"
      {"span_255", {-5, 250, kNaN, 0}},       // 255 apart: two bytes
      {"minutes", {15, 480, 60, kNaN}},
      {"started", {1.7e9, 946684800, kNaN, 2e9 + 17}},
      {"span_2_32", {0, 4294967294.0, 1, 2}},  // the largest span packed
      {"missing", {kNaN, kNaN, kNaN, kNaN}},
      {"negative", {-1e15, -1e15 + 3, -1e15 + 1, kNaN}},
  };
  Numbers book(columns);
  const std::size_t flag_bytes = book.column("flag").memory_bytes();
  compact_numbers(book.data);
  const std::vector<std::pair<std::string, int>> widths = {{"flag", 1},   {"span_254", 1},  {"span_255", 2},
                                                          {"minutes", 2}, {"started", 4},   {"span_2_32", 4},
                                                          {"missing", 1}, {"negative", 1}};
  for (const auto& [name, width] : widths) {
    EXPECT_EQ(book.column(name).number_width, width) << name;
    EXPECT_TRUE(book.column(name).numbers.empty()) << name;
  }
  for (const auto& [name, values] : columns) {
    EXPECT_EQ(Numbers::bits(book.read(name)), Numbers::bits(values)) << name;
    for (std::size_t r = 0; r < values.size(); ++r) {
      EXPECT_EQ(book.column(name).missing_at(r), std::isnan(values[r])) << name << " row " << r;
    }
  }
  // Four rows of a byte each instead of a double.
  EXPECT_EQ(flag_bytes - book.column("flag").memory_bytes(), 4 * (sizeof(double) - 1));
}

TEST(ModelTable, NumbersThatCannotBePackedExactlyKeepTheirDoubles) {
  const std::vector<std::pair<std::string, std::vector<double>>> columns = {
      {"fraction", {1, 2.5, kNaN, 3}},
      {"negative_zero", {1, -0.0, 2, 3}},
      {"huge", {1, 1e300, 2, 3}},
      {"beyond_2_52", {0, 9007199254740992.0, 9007199254740994.0, 1}},
      {"span_2_32_minus_1", {0, 4294967295.0, 1, 2}},
      {"infinite", {1, std::numeric_limits<double>::infinity(), 2, 3}},
  };
  Numbers book(columns);
  compact_numbers(book.data);
  for (const auto& [name, values] : columns) {
    EXPECT_EQ(book.column(name).number_width, 0) << name;
    EXPECT_EQ(Numbers::bits(book.read(name)), Numbers::bits(values)) << name;
  }
}

TEST(ModelTable, PackedNumbersGrowAndShrinkWithTheirTable) {
  Numbers book({{"flag", {1, 0, 1}}, {"started", {1.7e9, 1.6e9, 1.8e9}}}, FieldType::Timestamp);
  compact_numbers(book.data);
  compact_numbers(book.data);  // again: nothing changes
  ASSERT_EQ(book.column("flag").number_width, 1);
  ASSERT_EQ(book.column("started").number_width, 4);
  Table& table = book.data.tables["t"];
  table.append_row(book.data.strings.intern("r3"));
  EXPECT_EQ(Numbers::bits(book.read("flag")), Numbers::bits({1, 0, 1, kNaN}));
  EXPECT_EQ(Numbers::bits(book.read("started")), Numbers::bits({1.7e9, 1.6e9, 1.8e9, kNaN}));
  table.truncate(2);
  EXPECT_EQ(Numbers::bits(book.read("started")), Numbers::bits({1.7e9, 1.6e9}));
  EXPECT_TRUE(book.column("started").numbers.empty());
  // Reset forgets the packing.
  book.column("flag").reset(book.column("flag").def);
  EXPECT_EQ(book.column("flag").number_width, 0);
  EXPECT_TRUE(book.column("flag").packed8.empty());
}

/// A table "t" with Text columns of `rows` rows: "few" (3 strings and missing values), "many"
/// (300 strings), "most" (70,000 strings), and a `name` column.
struct Texts {
  Dataset data;
  explicit Texts(std::size_t rows) {
    Table& table = data.tables["t"];
    table.entity = "t";
    for (const char* name : {"few", "many", "most", "name"}) {
      FieldDef def;
      def.name = name;
      def.type = std::string(name) == "few" ? FieldType::Enum : FieldType::Text;
      table.columns[name].reset(def);
    }
    for (std::size_t r = 0; r < rows; ++r) {
      table.ids.push_back(data.strings.intern("r" + std::to_string(r)));
      const std::string few[] = {"open", "closed", ""};
      column("few").strings.push_back(r % 3 == 2 ? kMissingStr : data.strings.intern(few[r % 3]));
      column("many").strings.push_back(data.strings.intern("m" + std::to_string(r % 300)));
      column("most").strings.push_back(data.strings.intern("x" + std::to_string(r % 70000)));
      column("name").strings.push_back(r == 1 ? kMissingStr : data.strings.intern("Name " + std::to_string(r % 5)));
    }
  }
  Column& column(const std::string& name) { return data.tables["t"].columns[name]; }
  /// The column's strings as read through TextValues, by operator[] and by visit().
  std::vector<std::string> read(const std::string& name) {
    const TextValues values(data, column(name));
    std::vector<std::string> out, visited(values.size());
    auto text = [&](StrId id) { return id == kMissingStr ? std::string("(missing)") : std::string(data.strings.view(id)); };
    for (std::size_t r = 0; r < values.size(); ++r) out.push_back(text(values[r]));
    values.visit([&](const auto& strings) {
      for (std::size_t r = 0; r < visited.size(); ++r) visited[r] = text(strings[r]);
    });
    EXPECT_EQ(out, visited) << name;
    return out;
  }
};

TEST(ModelTable, EncodedTextsReadAsTheirStrings) {
  Texts book(70'500);
  std::map<std::string, std::vector<std::string>> before;
  for (const char* name : {"few", "many", "most", "name"}) before[name] = book.read(name);
  const std::size_t few_bytes = book.column("few").memory_bytes();
  compact_texts(book.data);
  EXPECT_EQ(book.column("few").code_width, 1);
  EXPECT_EQ(book.column("name").code_width, 1);
  EXPECT_EQ(book.column("many").code_width, 2);   // more than 256 strings
  EXPECT_EQ(book.column("most").code_width, 0);   // more than 65,536: kept as they are
  EXPECT_FALSE(book.column("most").strings.empty());
  EXPECT_EQ(book.column("few").dictionary.size(), 3u);  // missing, open, closed
  for (const auto& [name, strings] : before) {
    EXPECT_EQ(book.read(name), strings) << name;
    if (name != "most") {
      EXPECT_TRUE(book.column(name).strings.empty()) << name;
    }
  }
  EXPECT_TRUE(book.column("few").missing_at(2));
  EXPECT_FALSE(book.column("few").missing_at(3));
  EXPECT_TRUE(book.column("name").missing_at(1));
  EXPECT_EQ(name_at(book.data, book.data.tables["t"], 7), book.data.strings.find("Name 2"));
  EXPECT_EQ(name_at(book.data, book.data.tables["t"], 1), kMissingStr);
  // A byte a row instead of four.
  EXPECT_LT(book.column("few").memory_bytes(), few_bytes / 3);
}

/// Table "t"'s column `name` of `type`, with no values.
Column& empty_column(Dataset& data, const char* name, FieldType type) {
  FieldDef def;
  def.name = name;
  def.type = type;
  Column& column = data.tables["t"].columns[name];
  column.reset(def);
  return column;
}

TEST(ModelTable, EncodedTextsUseTheNarrowestCodesThatHoldThem) {
  // Distinct strings besides the missing value, which takes code 0: 255 fit a byte, 256 don't;
  // 65,535 fit two bytes, 65,536 don't.
  for (const auto& [distinct, width] : std::vector<std::pair<std::size_t, int>>{
           {255, 1}, {256, 2}, {65'535, 2}, {65'536, 0}}) {
    Dataset data;
    Table& table = data.tables["t"];
    Column& column = empty_column(data, "label", FieldType::Text);
    for (std::size_t r = 0; r <= distinct; ++r) {
      table.ids.push_back(data.strings.intern("r" + std::to_string(r)));
      column.strings.push_back(r == distinct ? kMissingStr : data.strings.intern("v" + std::to_string(r)));
    }
    const std::vector<StrId> before = column.strings;
    compact_texts(data);
    EXPECT_EQ(column.code_width, width) << distinct;
    const TextValues values(data, column);
    ASSERT_EQ(values.size(), before.size()) << distinct;
    bool same = true;
    for (std::size_t r = 0; r < before.size(); ++r) same = same && values[r] == before[r];
    EXPECT_TRUE(same) << distinct;
    EXPECT_TRUE(column.missing_at(distinct)) << distinct;
    EXPECT_FALSE(column.missing_at(0)) << distinct;
  }
}

TEST(ModelTable, EncodedTextsGrowAndShrinkWithTheirTable) {
  Texts book(10);
  compact_texts(book.data);
  compact_texts(book.data);  // again: nothing changes
  ASSERT_EQ(book.column("many").code_width, 1);
  Table& table = book.data.tables["t"];
  table.append_row(book.data.strings.intern("r10"));
  std::vector<std::string> few = book.read("few");
  ASSERT_EQ(few.size(), 11u);
  EXPECT_EQ(few.back(), "(missing)");
  EXPECT_TRUE(book.column("few").missing_at(10));
  table.truncate(4);
  EXPECT_EQ(book.read("few"), (std::vector<std::string>{"open", "closed", "(missing)", "open"}));
  book.column("few").reset(book.column("few").def);
  EXPECT_EQ(book.column("few").code_width, 0);
  EXPECT_TRUE(book.column("few").dictionary.empty());
}

// A table whose ids are labels has no interned ids to add to, drop or look up: those say so
// instead of quietly working on the empty `ids`.
TEST(ModelTable, LabelIdsRefuseWhatNeedsInternedIds) {
  Dataset data;
  Table& table = data.tables["activities"];
  table.entity = "activities";
  for (const char* id : {"act-1", "act-2", "act-3"}) table.label_ids.push_back(id);
  ASSERT_FALSE(table.interned_ids());
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(id_of(data, table, 1), "act-2");
  EXPECT_THROW(table.truncate(1), std::logic_error);
  EXPECT_THROW(table.append_row(data.strings.intern("act-4")), std::logic_error);
  EXPECT_THROW((void)table.find_row(data.strings.intern("act-1")), std::logic_error);
  std::string message;
  try {
    table.require_interned_ids("a rule");
  } catch (const std::logic_error& e) {
    message = e.what();
  }
  EXPECT_EQ(message, "the ids of activities were loaded as labels, but a rule reads them");
  table.truncate(3);  // nothing to drop
  EXPECT_EQ(table.size(), 3u);
}

// A TextList column's items encoded like texts (compact_texts) read as their strings through
// list_size(), copy_list() and list_at(); missing and empty lists stay apart; the column grows
// and shrinks with its table; 300 distinct items take two-byte codes.
TEST(ModelTable, EncodedListItemsReadAsTheirStrings) {
  for (const std::size_t distinct : {3u, 300u}) {
    Dataset data;
    Table& table = data.tables["t"];
    Column& column = empty_column(data, "topics", FieldType::TextList);
    std::vector<std::vector<StrId>> lists;
    for (std::size_t r = 0; r < 400; ++r) {
      table.ids.push_back(data.strings.intern("r" + std::to_string(r)));
      if (r % 7 == 3) {
        column.push_missing();
        lists.emplace_back();
        continue;
      }
      std::vector<StrId>& items = lists.emplace_back();
      for (std::size_t i = 0; i < r % 4; ++i) items.push_back(data.strings.intern("v" + std::to_string((r + i) % distinct)));
      column.list_items.insert(column.list_items.end(), items.begin(), items.end());
      column.list_offsets.push_back(static_cast<std::uint32_t>(column.list_items.size()));
      column.list_present.push_back(1);
    }
    const std::size_t bytes = column.memory_bytes();
    compact_texts(data);
    EXPECT_EQ(column.code_width, distinct < 256 ? 1 : 2) << distinct;
    EXPECT_TRUE(column.list_items.empty()) << distinct;
    EXPECT_LT(column.memory_bytes(), bytes) << distinct;
    auto read = [&](std::size_t r) {
      std::vector<StrId> copied(column.list_size(r)), scratch;
      EXPECT_EQ(column.copy_list(r, copied.data()), copied.data() + copied.size());
      const std::span<const StrId> viewed = column.list_at(r, scratch);
      EXPECT_EQ(copied, std::vector<StrId>(viewed.begin(), viewed.end())) << r;
      return copied;
    };
    bool same = true;
    for (std::size_t r = 0; r < lists.size(); ++r) same = same && read(r) == lists[r];
    EXPECT_TRUE(same) << distinct;
    EXPECT_TRUE(column.missing_at(3));
    EXPECT_FALSE(column.missing_at(4));  // an empty list, not a missing one
    EXPECT_TRUE(read(4).empty());
    table.append_row(data.strings.intern("r400"));
    EXPECT_TRUE(column.missing_at(400));
    EXPECT_TRUE(read(400).empty());
    table.truncate(6);
    EXPECT_EQ(column.list_offsets.size(), 7u);
    EXPECT_EQ(read(5), lists[5]);
    EXPECT_EQ((distinct < 256 ? column.codes8.size() : column.codes16.size()), column.list_offsets.back());
  }
}

// The prefix two strings share, for every length to 40 (words of eight and a last word that
// overlaps), with the first difference at every place and strings of different lengths.
TEST(ModelTable, SharedPrefixAtEveryPlace) {
  for (std::size_t length = 0; length <= 40; ++length) {
    std::string a(length, 'x');
    for (std::size_t i = 0; i < length; ++i) a[i] = static_cast<char>('a' + i % 26);
    EXPECT_EQ(shared_prefix(a, a), length);
    for (std::size_t at = 0; at < length; ++at) {
      std::string b = a;
      b[at] = '#';
      EXPECT_EQ(shared_prefix(a, b), at) << length << " at " << at;
      EXPECT_EQ(shared_prefix(b, a), at) << length << " at " << at;
      b[length - 1] = '#';  // a second difference after the first changes nothing
      EXPECT_EQ(shared_prefix(a, b), at) << length << " at " << at;
    }
    EXPECT_EQ(shared_prefix(a, a + "more"), length);
    EXPECT_EQ(shared_prefix(a + "more", a), length);
    EXPECT_EQ(shared_prefix(a.substr(0, length / 2), a), length / 2);
  }
}

// Front-coded strings read back as added: across block boundaries (16 strings), with prefixes
// shared in full, in part and not at all, the empty string, a string that is a prefix of the one
// before, and lengths that need two-byte varints; append_to() appends to what `out` holds.
TEST(ModelTable, FrontCodedStringsReadBackAsAdded) {
  std::vector<std::string> strings;
  for (int i = 0; i < 40; ++i) strings.push_back("act-00000001-" + std::to_string(i));
  strings.push_back("");
  strings.push_back("act-00000001-3");
  strings.push_back("act");
  strings.push_back("6f1c9a2e-0b7d-4c55-9e1a-3d2b8f7a6c01");
  strings.push_back(std::string(300, 'x'));
  strings.push_back(std::string(200, 'x') + "y");
  strings.push_back(std::string("with\0nul", 8));
  // Shared prefixes ending inside, at and past the first eight bytes; a repeat; a longer twin.
  for (const char* s : {"abcdefg1", "abcdefg2", "abcdefgh1", "abcdefgh2", "abcdefgh2", "abcdefgh2-more",
                        "abcdefghijklmnopq", "abcdefghijklmnopr", "b"}) {
    strings.push_back(s);
  }
  FrontCodedStrings coded;
  EXPECT_EQ(coded.back(), "");
  for (const auto& s : strings) {
    coded.push_back(s);
    EXPECT_EQ(coded.back(), s);  // the loader's id order check reads it
  }
  ASSERT_EQ(coded.size(), strings.size());
  for (std::size_t i = 0; i < strings.size(); ++i) EXPECT_EQ(coded.at(i), strings[i]) << i;
  std::string out = "id: ";
  coded.append_to(out, 17);
  EXPECT_EQ(out, "id: act-00000001-17");
  // Ids in export order share all but their last bytes: a few bytes each, not their length.
  FrontCodedStrings ids;
  for (int i = 0; i < 1600; ++i) ids.push_back("act-" + std::to_string(10000000 + i / 10) + "-" + std::to_string(i % 10));
  EXPECT_LT(ids.encoded_bytes(), 1600u * 5);
  EXPECT_EQ(ids.at(1599), "act-10000159-9");
  EXPECT_EQ(ids.at(160), "act-10000016-0");
  ids.shrink_to_fit();
  EXPECT_EQ(ids.at(15), "act-10000001-5");
  EXPECT_EQ(ids.back(), "act-10000159-9");
}

}  // namespace
}  // namespace rapport::model
