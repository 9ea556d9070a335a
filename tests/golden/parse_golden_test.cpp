// Golden tests for the parser: every tests/golden/parse/<name>.rules is parsed and its rendered
// diagnostics compared with tests/golden/parse/<name>.err (absent or empty: no diagnostics).
// RAPPORT_UPDATE_GOLDEN=1 rewrites the .err files from the actual output; review them by eye.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "diag/render.hpp"
#include "dsl/parser.hpp"

namespace {

namespace fs = std::filesystem;
using namespace rapport;

fs::path case_directory() { return fs::path(RAPPORT_TEST_DATA) / "golden" / "parse"; }

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(case_directory(), error)) {
    if (entry.path().extension() == ".rules") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool updating() {
  const char* value = std::getenv("RAPPORT_UPDATE_GOLDEN");
  return value != nullptr && std::string(value) == "1";
}

class ParseGolden : public testing::TestWithParam<std::string> {};

TEST_P(ParseGolden, DiagnosticsMatchErrFile) {
  const std::string name = GetParam();
  const fs::path rules = case_directory() / (name + ".rules");
  const fs::path err = case_directory() / (name + ".err");
  auto source = std::make_shared<diag::SourceFile>("parse/" + name + ".rules", read_bytes(rules));
  diag::DiagnosticSink sink;
  dsl::ast::File file = dsl::parse_file(source, sink);
  std::string actual = diag::render_text(sink.sorted());

  if (updating()) {
    if (!actual.empty() || fs::exists(err)) {
      std::ofstream out(err, std::ios::binary | std::ios::trunc);
      out << actual;
    }
    GTEST_SKIP() << "rewrote " << err.string();
  }
  std::string expected = fs::exists(err) ? read_bytes(err) : std::string();
  EXPECT_EQ(expected, actual) << "actual diagnostics for " << rules.string() << ":\n" << actual;
  if (name.rfind("ok_", 0) == 0) {
    EXPECT_TRUE(file.header.has_value()) << name << " should have a pack header";
  }
}

INSTANTIATE_TEST_SUITE_P(Parse, ParseGolden, testing::ValuesIn(case_names()),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(ParseGoldenCases, ThereAreEnoughCases) {
  auto names = case_names();
  auto broken = std::count_if(names.begin(), names.end(), [](const std::string& n) { return n.rfind("err_", 0) == 0; });
  EXPECT_GE(broken, 25);
}

}  // namespace
