#pragma once
// Pack test files (docs/packs.md): cases with inline records or fixtures, parameter values, an
// as-of date and the exact findings expected.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "diag/diagnostic.hpp"
#include "packs/params.hpp"

namespace rapport::packs {

struct ExpectedFinding {
  std::string rule;      // empty: the one rule under test
  std::string subject;
  std::string severity;
  std::optional<std::string> message;
  diag::Span span;
};

struct TestCase {
  std::string name;
  diag::Span span;
  std::vector<std::string> rules;                   // the rules under test; empty = the pack's own rules
  std::string as_of = "2026-11-01";
  std::vector<ParamBlockPtr> params;                // the file's, then the case's
  std::map<std::string, std::vector<std::string>> records;  // entity -> records as JSON objects
  std::string fixtures;                             // folder of <entity>.jsonl/.csv, or empty
  std::vector<ExpectedFinding> expect;
};

struct TestFile {
  std::string path;
  diag::SourceFilePtr file;
  std::vector<TestCase> cases;
};

/// The test files under `paths` (files as given, folders searched for *.yaml / *.yml, sorted).
std::vector<std::string> find_test_files(const std::vector<std::string>& paths);

/// Reads and validates one test file; mistakes are reported at their YAML position.
std::optional<TestFile> load_test_file(const std::string& path, diag::DiagnosticSink& sink);

}  // namespace rapport::packs
