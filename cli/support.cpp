// Small helpers the subcommands share.

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/pipeline.hpp"
#include "diag/render.hpp"
#include "model/table.hpp"
#include "model/time.hpp"

namespace rapport::cli {

bool color_wanted(const std::string& color, FILE* stream) {
  if (color == "always") return true;
  if (color == "never") return false;
  return ::isatty(::fileno(stream)) != 0 && std::getenv("NO_COLOR") == nullptr;
}

void print_errors(const diag::DiagnosticSink& sink, const std::string& format, const std::string& color) {
  std::vector<diag::Diagnostic> errors;
  for (auto& d : sink.sorted()) {
    if (d.severity == diag::Severity::Error) errors.push_back(std::move(d));
  }
  if (errors.empty()) return;
  if (format == "json") {
    std::cerr << diag::render_json(errors);
    return;
  }
  diag::RenderOptions render;
  render.color = color_wanted(color, stderr);
  std::cerr << diag::render_text(errors, render);
}

std::string peak_memory_text() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return "unknown";
  const auto kibibytes = static_cast<std::size_t>(usage.ru_maxrss);  // ru_maxrss is in KiB
  return engine::with_thousands(kibibytes * 1024 / 1000000) + " MB";
}

void print_memory_breakdown(const model::Dataset& dataset) {
  auto mb = [](std::size_t bytes) { return static_cast<double>(bytes) / 1e6; };
  const model::StringPool::Usage pool = dataset.strings.usage();
  std::fprintf(stderr, "  memory strings %zu: text %.0f MB, views %.0f MB, index %.0f MB\n", dataset.strings.size(),
               mb(pool.text), mb(pool.views), mb(pool.index));
  for (const auto& [entity, table] : dataset.tables) {
    std::fprintf(stderr, "  memory %-33s %9.0f MB  %8zu rows\n", entity.c_str(), mb(table.memory_bytes()), table.size());
    // Its parts of a megabyte or more: what a pack's fields cost.
    auto part = [&](std::string_view name, std::size_t bytes) {
      if (bytes >= 1000000) std::fprintf(stderr, "    %-33.*s %7.0f MB\n", static_cast<int>(name.size()), name.data(), mb(bytes));
    };
    part("(ids)", table.ids.capacity() * sizeof(model::StrId) + table.label_ids.memory_bytes());
    part("(source lines)", table.source_lines.capacity() * sizeof(std::uint32_t));
    for (const auto& [name, column] : table.columns) part(name, column.memory_bytes());
  }
}

double cpu_seconds() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

int usage_error(const std::string& command, const std::string& synopsis, const std::string& message) {
  std::cerr << "rapport " << command << ": " << message << "\nusage: rapport " << command << " " << synopsis << "\n";
  return kExitUsage;
}

std::optional<FailOn> parse_fail_on(const std::string& text) {
  if (text == "none" || text == "never") return FailOn{};
  auto severity = dsl::parse_severity(text);
  if (!severity) return std::nullopt;
  return FailOn{false, *severity};
}

int findings_exit(const FailOn& fail_on, const std::vector<engine::Finding>& findings) {
  if (fail_on.never) return kExitClean;
  for (const auto& finding : findings) {
    if (finding.severity >= fail_on.threshold) return kExitFindings;
  }
  return kExitClean;
}

bool deliver_report(const std::string& command, const std::string& report, const std::string& output) {
  if (output.empty()) {
    std::cout << report << std::flush;
    return true;
  }
  std::string error;
  if (write_file_atomically(output, report, error)) return true;
  std::cerr << "rapport " << command << ": " << error << "\n";
  return false;
}

bool deliver_report(const std::string& command, const std::string& output,
                    const std::function<void(const engine::ReportWriter&)>& render) {
  if (output.empty()) {
    render([](std::string_view piece) { std::cout.write(piece.data(), static_cast<std::streamsize>(piece.size())); });
    std::cout.flush();
    return true;
  }
  AtomicFile file(output);
  std::string error;
  if (file.open(error)) {
    render([&file](std::string_view piece) { file.write(piece); });
    if (file.commit(error)) return true;
  }
  std::cerr << "rapport " << command << ": " << error << "\n";
  return false;
}

std::optional<double> parse_as_of(const std::string& text) {
  if (text.empty()) return static_cast<double>(std::time(nullptr));
  return model::parse_date_or_timestamp(text);
}

std::optional<int> fetch_source(const std::string& command, const std::string& source_file,
                                std::optional<ScratchFolder>& scratch, std::string& data_dir, bool quiet, bool color) {
  if (source_file.empty()) return std::nullopt;
  scratch.emplace();
  if (scratch->path().empty()) {
    std::cerr << "rapport " << command << ": cannot create a temporary folder for the fetched data\n";
    return 3;  // kExitData
  }
  int status = fetch_into(source_file, scratch->path(), quiet, color);
  if (status != 0) return status;
  data_dir = scratch->path();
  return std::nullopt;
}

}  // namespace rapport::cli
