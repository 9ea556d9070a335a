// Golden semantic-check cases: tests/golden/check/<case>.rules is parsed and checked against
// model v1; every diagnostic, rendered as users see it, must equal <case>.err.

#include "diag/render.hpp"
#include "dsl/check.hpp"
#include "dsl/parser.hpp"
#include "golden/golden_support.hpp"

namespace rapport {
namespace {

class CheckGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(CheckGolden, DiagnosticsMatch) {
  std::filesystem::path dir = std::filesystem::path(RAPPORT_TEST_DATA) / "golden" / "check";
  std::string text = testing::read_text(dir / (GetParam() + ".rules"));
  auto source = std::make_shared<diag::SourceFile>("check/" + GetParam() + ".rules", text);
  diag::DiagnosticSink sink;
  dsl::ast::File file = dsl::parse_file(source, sink);
  if (!sink.has_errors()) dsl::compile(file, model::Schema::canonical(), sink);
  testing::expect_golden(dir / (GetParam() + ".err"), diag::render_text(sink.sorted()));
}

INSTANTIATE_TEST_SUITE_P(Cases, CheckGolden, ::testing::ValuesIn(testing::golden_cases("check", ".rules")),
                         testing::test_name);

}  // namespace
}  // namespace rapport
