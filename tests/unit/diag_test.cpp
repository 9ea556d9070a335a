// Diagnostics: positions in code points, caret rendering, JSON output, suggestions.

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <set>

#include "diag/bytes.hpp"
#include "diag/diagnostic.hpp"
#include "diag/render.hpp"
#include "diag/suggest.hpp"

namespace rapport::diag {
namespace {

TEST(DiagSource, PositionsCountCodePoints) {
  SourceFile file("f.rules", "ab\nZoë x\n");
  EXPECT_EQ(file.position(0).line, 1u);
  EXPECT_EQ(file.position(3).line, 2u);
  EXPECT_EQ(file.position(3).column, 1u);
  // "Zoë " is 5 bytes but 4 code points: `x` is at column 5.
  EXPECT_EQ(file.position(8).column, 5u);
  EXPECT_EQ(file.line_text(2), "Zoë x");
  EXPECT_EQ(file.offset_of({2, 5}), 8u);
}

TEST(DiagRender, CaretUnderWholeToken) {
  auto file = std::make_shared<SourceFile>("p.rules", "rule x\n  where owner.active\n");
  DiagnosticSink sink;
  sink.error(Code::UnknownField, file, {15, 20}, "unknown field `owner` on `accounts`").help("did you mean `owner_id`?");
  EXPECT_EQ(render_text(sink.diagnostics()[0]),
            "p.rules:2:9: error[DSL2002]: unknown field `owner` on `accounts`\n"
            " 2 |   where owner.active\n"
            "   |         ^~~~~\n"
            "   = help: did you mean `owner_id`?\n");
}

TEST(DiagRender, SummaryLineCountsErrorsAndWarnings) {
  auto file = std::make_shared<SourceFile>("p.rules", "x\n");
  DiagnosticSink sink;
  sink.error(Code::SyntaxError, file, {0, 1}, "bad");
  sink.warning(Code::UnusedLet, file, {0, 1}, "unused");
  std::string text = render_text(sink.sorted());
  EXPECT_NE(text.find("1 error, 1 warning\n"), std::string::npos);
}

TEST(DiagRender, LongLinesAreWindowedAndInvalidUtf8IsReplaced) {
  std::string line(100000, 'a');
  line[50000] = '\xff';
  auto file = std::make_shared<SourceFile>("big.rules", line);
  DiagnosticSink sink;
  sink.error(Code::InvalidUtf8, file, {50000, 50001}, "invalid UTF-8");
  std::string text = render_text(sink.diagnostics()[0]);
  EXPECT_LT(text.size(), 1000u);
  EXPECT_NE(text.find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_NE(text.find("^"), std::string::npos);
}

TEST(DiagRender, JsonHasPositionsAndEscapes) {
  auto file = std::make_shared<SourceFile>("p.rules", "a \"b\"\n");
  DiagnosticSink sink;
  sink.error(Code::UnknownName, file, {2, 5}, "unknown name `\"b\"`");
  std::string json = render_json(sink.diagnostics());
  EXPECT_NE(json.find("\"line\":1,\"column\":3,\"end_line\":1,\"end_column\":6"), std::string::npos);
  EXPECT_NE(json.find("\"code\":\"DSL2003\""), std::string::npos);
  EXPECT_NE(json.find("unknown name `\\\"b\\\"`"), std::string::npos);
}

TEST(DiagRender, JsonEscapeCopiesPlainRunsAndEscapesTheRest) {
  EXPECT_EQ(json_escape(""), "");
  EXPECT_EQ(json_escape("plain text, nothing to do"), "plain text, nothing to do");
  EXPECT_EQ(json_escape("a\"b\\c\nd\re\tf"), "a\\\"b\\\\c\\nd\\re\\tf");
  EXPECT_EQ(json_escape(std::string("nul\0bell\x07", 9)), "nul\\u0000bell\\u0007");
  EXPECT_EQ(json_escape("Øresund — Café \x7f"), "Øresund — Café \x7f");  // valid UTF-8 and DEL stay as they are
  EXPECT_EQ(json_escape("bad \xff byte, cut \xc3"), "bad \\ufffd byte, cut \\ufffd");
  EXPECT_EQ(json_escape("\"\""), "\\\"\\\"");
}

TEST(DiagRender, JsonEscapeFindsEverySpecialByteWhereverItSitsInAWord) {
  // Plain bytes are skipped 16 at a time (SSE2), then 8: each special byte, at every offset within
  // and across a 16-byte block and an 8-byte word, in a run of plain text, must still be escaped
  // exactly as the byte-by-byte rules say.
  const std::vector<std::pair<std::string, std::string>> specials = {
      {"\"", "\\\""}, {"\\", "\\\\"}, {"\n", "\\n"}, {std::string(1, '\0'), "\\u0000"},
      {"\x1f", "\\u001f"}, {"\xc3\xa9", "\xc3\xa9"}, {"\xff", "\\ufffd"}, {"\x7f", "\x7f"}, {" ", " "}};
  for (const auto& [raw, escaped] : specials) {
    for (std::size_t before = 0; before < 40; ++before) {
      for (std::size_t after : {0, 1, 7, 8, 9, 15, 16, 17, 31, 33}) {
        std::string text = std::string(before, 'a') + raw + std::string(after, 'z');
        std::string expected = std::string(before, 'a') + escaped + std::string(after, 'z');
        EXPECT_EQ(json_escape(text), expected) << "before " << before << ", after " << after;
      }
    }
  }
}

TEST(DiagRender, JsonEscapeHandlesSeveralSpecialBytesInOneBlock) {
  EXPECT_EQ(json_escape("abcdefgh\"ijk\\lmnop\nqrstuvwxyz0123456789\t"),
            "abcdefgh\\\"ijk\\\\lmnop\\nqrstuvwxyz0123456789\\t");
  EXPECT_EQ(json_escape("Nordstr\xc3\xb6m Analytics S.p.A. \xe2\x80\x94 K\xc3\xb8" "benhavn \xff" " end of a long name"),
            "Nordstr\xc3\xb6m Analytics S.p.A. \xe2\x80\x94 K\xc3\xb8" "benhavn \\ufffd end of a long name");
}

TEST(DiagRender, DataDiagnosticsUseWhere) {
  DiagnosticSink sink;
  auto& d = sink.error(Code::WrongFieldType, nullptr, {}, "accounts.annual_revenue: expected a number, got \"lots\"");
  d.where = "data/accounts.jsonl:2";
  EXPECT_EQ(render_text(d), "data/accounts.jsonl:2: error[DAT6003]: accounts.annual_revenue: expected a number, got \"lots\"\n");
}

TEST(DiagSuggest, ClosestByEditDistanceAndCase) {
  std::vector<std::string> names = {"owner_id", "tier", "region", "annual_revenue"};
  EXPECT_EQ(closest("ownerid", names), "owner_id");
  EXPECT_EQ(closest("Tier", names), "tier");
  EXPECT_EQ(closest("teir", names), "tier");
  EXPECT_FALSE(closest("completely_different", names).has_value());
  EXPECT_EQ(edit_distance("abc", "acb"), 1u);
}

TEST(DiagCodes, IdsAreUniqueAndStable) {
  std::set<std::string_view> ids;
  for (const auto& info : all_codes()) EXPECT_TRUE(ids.insert(info.id).second) << info.id;
  EXPECT_EQ(code_id(Code::SyntaxError), "DSL1001");
  EXPECT_EQ(code_id(Code::UnknownField), "DSL2002");
  EXPECT_EQ(code_id(Code::MissingColumn), "DAT6004");
}

TEST(DiagSink, LimitsHowManyAreKept) {
  DiagnosticSink sink;
  sink.set_limit(3);
  for (int i = 0; i < 10; ++i) sink.error(Code::SyntaxError, nullptr, {}, "e");
  EXPECT_EQ(sink.diagnostics().size(), 3u);
  EXPECT_EQ(sink.dropped(), 7u);
  EXPECT_EQ(sink.error_count(), 10u);
}

// bytes_equal() flags exactly the bytes equal to the one looked for (the plain word test may also
// flag the byte after a match when it is one above it), and first_flagged_byte() finds the first
// in memory order.
TEST(DiagBytes, ExactFlagsAndTheFirstOfThem) {
  for (unsigned at = 0; at < 8; ++at) {
    for (unsigned char target : {static_cast<unsigned char>(','), static_cast<unsigned char>('\n'),
                                 static_cast<unsigned char>(0), static_cast<unsigned char>(0xFF)}) {
      unsigned char bytes[8];
      for (unsigned i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(target + 1);  // one above
      bytes[at] = target;
      std::uint64_t word;
      std::memcpy(&word, bytes, 8);
      const std::uint64_t flags = bytes_equal(word, target);
      ASSERT_NE(flags, 0u);
      EXPECT_EQ(std::popcount(flags), 1) << "at " << at << " byte " << int(target);
      EXPECT_EQ(first_flagged_byte(flags), at);
      EXPECT_NE(word_has_byte(word, target), 0u);
      // With a second match further on, the first still wins.
      if (at < 7) {
        bytes[7] = target;
        std::memcpy(&word, bytes, 8);
        EXPECT_EQ(first_flagged_byte(bytes_equal(word, target)), at);
      }
    }
  }
  EXPECT_EQ(bytes_equal(0x4141414141414141ull, 'B'), 0u);
}

}  // namespace
}  // namespace rapport::diag
