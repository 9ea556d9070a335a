#pragma once
// Diagnostics: user mistakes found in rule files, YAML and data, collected (never thrown).

#include <cstddef>
#include <string>
#include <vector>

#include "diag/codes.hpp"
#include "diag/source.hpp"

namespace rapport::diag {

enum class Severity { Info, Warning, Error };

std::string_view severity_name(Severity severity);

/// A second place a diagnostic points at (for example the first definition of a duplicate).
struct Label {
  SourceFilePtr file;
  Span span;
  std::string text;
};

/// One finding about the user's input.
struct Diagnostic {
  Severity severity = Severity::Error;
  Code code = Code::SyntaxError;
  SourceFilePtr file;  // may be null for diagnostics without a place
  Span span;
  std::string where;   // "data/accounts.jsonl:12" when there is a place but no source text (large data files)
  std::string message;
  std::vector<std::string> helps;  // "did you mean `owner_id`?"
  std::vector<std::string> notes;  // context such as which files were consulted
  std::vector<Label> labels;       // secondary places
  std::size_t sequence = 0;        // insertion order, the tie-breaker when sorting

  Diagnostic& help(std::string text) { helps.push_back(std::move(text)); return *this; }
  Diagnostic& note(std::string text) { notes.push_back(std::move(text)); return *this; }
  Diagnostic& label(SourceFilePtr where, Span at, std::string text) {
    labels.push_back({std::move(where), at, std::move(text)});
    return *this;
  }
};

/// Collects diagnostics from every stage; stages go on after an error so users see them all.
class DiagnosticSink {
 public:
  /// Adds a diagnostic and returns it so callers can attach help and notes.
  Diagnostic& report(Severity severity, Code code, SourceFilePtr file, Span span, std::string message);
  Diagnostic& error(Code code, SourceFilePtr file, Span span, std::string message) {
    return report(Severity::Error, code, std::move(file), span, std::move(message));
  }
  Diagnostic& warning(Code code, SourceFilePtr file, Span span, std::string message) {
    return report(Severity::Warning, code, std::move(file), span, std::move(message));
  }
  Diagnostic& info(Code code, SourceFilePtr file, Span span, std::string message) {
    return report(Severity::Info, code, std::move(file), span, std::move(message));
  }

  [[nodiscard]] bool has_errors() const { return error_count_ > 0; }
  [[nodiscard]] std::size_t error_count() const { return error_count_; }
  [[nodiscard]] std::size_t warning_count() const;
  [[nodiscard]] const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  /// Sorted by file, position, then insertion order: the order users read them in.
  [[nodiscard]] std::vector<Diagnostic> sorted() const;
  /// Moves all diagnostics of another sink into this one.
  void absorb(DiagnosticSink&& other);
  /// Caps how many diagnostics are kept (hostile input can produce millions).
  void set_limit(std::size_t limit) { limit_ = limit; }
  [[nodiscard]] std::size_t dropped() const { return dropped_; }

 private:
  std::vector<Diagnostic> diagnostics_;
  Diagnostic overflow_;  // receives reports past the limit
  std::size_t error_count_ = 0;
  std::size_t limit_ = 1000;
  std::size_t dropped_ = 0;
};

}  // namespace rapport::diag
