// libFuzzer harness for the rule-language front end: any bytes, parsed and checked against
// model v1, must give diagnostics, never a crash, a hang or a sanitizer report.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "diag/render.hpp"
#include "dsl/check.hpp"
#include "dsl/parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto source = std::make_shared<rapport::diag::SourceFile>(
      "fuzz.rules", std::string(reinterpret_cast<const char*>(data), size));
  rapport::diag::DiagnosticSink sink;
  rapport::dsl::ast::File file = rapport::dsl::parse_file(source, sink);
  if (!sink.has_errors()) rapport::dsl::compile(file, rapport::model::Schema::canonical(), sink);
  // Rendering walks every span: it must stay inside the text.
  (void)rapport::diag::render_text(sink.sorted());
  (void)rapport::diag::render_json(sink.diagnostics());
  return 0;
}
