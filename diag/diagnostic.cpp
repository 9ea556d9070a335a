#include "diag/diagnostic.hpp"

#include <algorithm>

namespace rapport::diag {

std::string_view severity_name(Severity severity) {
  switch (severity) {
    case Severity::Info: return "info";
    case Severity::Warning: return "warning";
    case Severity::Error: return "error";
  }
  return "error";
}

Diagnostic& DiagnosticSink::report(Severity severity, Code code, SourceFilePtr file, Span span, std::string message) {
  if (severity == Severity::Error) ++error_count_;
  if (diagnostics_.size() >= limit_) {
    ++dropped_;
    overflow_ = Diagnostic{};
    return overflow_;
  }
  Diagnostic diagnostic;
  diagnostic.severity = severity;
  diagnostic.code = code;
  diagnostic.file = std::move(file);
  diagnostic.span = span;
  diagnostic.message = std::move(message);
  diagnostic.sequence = diagnostics_.size();
  diagnostics_.push_back(std::move(diagnostic));
  return diagnostics_.back();
}

std::size_t DiagnosticSink::warning_count() const {
  return static_cast<std::size_t>(std::count_if(diagnostics_.begin(), diagnostics_.end(),
                                                [](const Diagnostic& d) { return d.severity == Severity::Warning; }));
}

std::vector<Diagnostic> DiagnosticSink::sorted() const {
  std::vector<Diagnostic> result = diagnostics_;
  std::stable_sort(result.begin(), result.end(), [](const Diagnostic& a, const Diagnostic& b) {
    const std::string empty;
    const std::string& path_a = a.file ? a.file->path() : empty;
    const std::string& path_b = b.file ? b.file->path() : empty;
    if (path_a != path_b) return path_a < path_b;
    if (a.span.begin != b.span.begin) return a.span.begin < b.span.begin;
    return a.sequence < b.sequence;
  });
  return result;
}

void DiagnosticSink::absorb(DiagnosticSink&& other) {
  for (auto& diagnostic : other.diagnostics_) {
    if (diagnostics_.size() >= limit_) {
      ++dropped_;
      continue;
    }
    diagnostic.sequence = diagnostics_.size();
    diagnostics_.push_back(std::move(diagnostic));
  }
  error_count_ += other.error_count_;
  dropped_ += other.dropped_;
  other.diagnostics_.clear();
  other.error_count_ = 0;
}

}  // namespace rapport::diag
