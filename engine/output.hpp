#pragma once
// Findings as reports: text for people, JSON (versioned schema) and CSV for tools.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/evaluator.hpp"

namespace rapport::engine {

/// What a report says about the run besides the findings.
struct RunInfo {
  std::string rapport_version;
  std::string as_of;  // ISO timestamp
  std::vector<std::pair<std::string, std::string>> packs;  // name, version
  std::size_t records = 0;
  std::size_t skipped_records = 0;
  std::size_t dangling_references = 0;
};

/// The JSON schema id written in every JSON report; bump it when the shape changes.
inline constexpr const char* kFindingsSchema = "rapport.findings/1";

/// Where a report goes, a piece at a time: a million findings make a report of a gigabyte, which
/// is written as it is rendered instead of being built whole in memory.
using ReportWriter = std::function<void(std::string_view)>;

/// Findings grouped by rule with counts, then a summary line. `color` adds ANSI colours.
void render_text(const EvalResult& result, const RunInfo& info, bool color, const ReportWriter& write);
std::string render_text(const EvalResult& result, const RunInfo& info, bool color);
/// One JSON document: {schema, rapport_version, as_of, packs, summary, findings}.
void render_json(const EvalResult& result, const RunInfo& info, const ReportWriter& write);
std::string render_json(const EvalResult& result, const RunInfo& info);
/// A header row and one row per finding (RFC 4180).
void render_csv(const EvalResult& result, const ReportWriter& write);
std::string render_csv(const EvalResult& result);

/// Building blocks of every report: "12,345", an RFC 4180 cell, a quoted JSON string.
std::string with_thousands(std::size_t n);
std::string csv_cell(std::string_view s);
/// csv_cell(s) appended to `out`, without a temporary.
void append_csv_cell(std::string& out, std::string_view s);
std::string json_string(std::string_view s);
/// json_string(s) appended to `out`, without a temporary (reports of a million findings).
void append_json_string(std::string& out, std::string_view s);

/// One finding as a JSON object (the shape of `findings` items in every JSON report).
std::string finding_json(const Finding& f);
/// finding_json(f) appended to `out` (a million findings: no temporaries per field).
void append_finding_json(std::string& out, const Finding& f);

/// Counts by severity, highest first: "2 critical, 5 high, 1 medium".
std::string severity_counts(const std::vector<Finding>& findings);

}  // namespace rapport::engine
