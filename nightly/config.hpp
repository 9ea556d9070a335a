#pragma once
// nightly.yaml: everything one scheduled run needs (docs/nightly.md). Paths in the file are
// relative to the file's own folder, so a config and its rule packs move together.

#include <optional>
#include <string>
#include <vector>

#include "diag/diagnostic.hpp"
#include "dsl/program.hpp"
#include "yamlio/reader.hpp"

namespace rapport::nightly {

/// The report formats one run can write into `outputs.dir`.
enum class Format { Text, Json, Csv, Junit, Sarif, Html };
std::string_view format_name(Format format);
/// The file each format is written to: findings.txt, findings.json, findings.csv, junit.xml,
/// findings.sarif, report.html.
std::string_view format_file(Format format);

enum class WritebackMode { Off, DryRun, Apply };
enum class WebhookWhen { Always, Findings, Changes };  // every run; open findings; new or resolved

struct Webhook {
  std::string url_env;   // the URL is a secret: read from this environment variable ...
  std::string url_file;  // ... or from this file (first line)
  std::string format = "slack";  // slack | teams
  std::string report_url;        // where people open the HTML report (linked in the message)
  WebhookWhen when = WebhookWhen::Always;
  double timeout_seconds = 10;
  std::string location;  // "nightly.yaml:31:3", for messages that must not show the URL
};

struct Writeback {
  WritebackMode mode = WritebackMode::Off;
  std::optional<std::string> source;      // the CRM to write to (source.yaml); default: the run's `source`
  std::optional<std::string> flag_field;  // the field set to the rule ids of a record's findings
  bool tasks = false;                     // one task per finding for the record's owner
  std::string task_key;                   // the task field holding the finding's key
  std::string min_severity = "high";
  std::vector<std::string> rules;         // only findings of these rules (empty: all)
  std::string journal;                    // empty: <state>/writeback-journal.jsonl
};

/// Reads a `writeback:` section into `writeback`: the same keys and meaning in nightly.yaml and
/// serve.yaml. Whether a CRM is named (`source`, or the file's own) is for the caller to check.
void read_writeback(yamlio::Reader& reader, const YAML::Node& node, Writeback& writeback);

struct Config {
  std::string path;  // the nightly.yaml
  std::string title;
  std::optional<std::string> as_of;        // a date or UTC timestamp; nullopt: the current time
  std::optional<std::string> data_dir;     // a folder of canonical files ...
  std::optional<std::string> source_file;  // ... or a CRM source (source.yaml)
  std::vector<std::string> packs;
  std::vector<std::string> param_files;
  std::vector<std::string> sets;           // name=value, from the `set:` map
  std::string state_dir;
  std::optional<std::string> waivers_file;
  std::string fail_on = "none";
  std::string on_bad_record = "fail";
  std::string outputs_dir;
  std::vector<Format> formats;
  bool digests = false;
  std::vector<std::string> digest_formats;  // markdown, html
  std::string digests_dir;                  // empty: <outputs_dir>/digests
  std::string digest_min_severity = "info";
  std::optional<Webhook> webhook;
  Writeback writeback;
  std::optional<double> dunbar_line;        // the chart's line; default: the packs' dunbar_limit
  std::size_t history = 90;                 // runs kept for the trend
};

/// Reads and validates a nightly.yaml; every mistake is reported at its place (file:line:col).
/// `default_state_dir` is used when the file names no `state:` folder.
std::optional<Config> load_config(const std::string& path, const std::string& default_state_dir,
                                  diag::DiagnosticSink& sink);

}  // namespace rapport::nightly
