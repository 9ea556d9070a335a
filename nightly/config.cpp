#include "nightly/config.hpp"

#include <filesystem>

#include "yamlio/reader.hpp"
#include "yamlio/yaml_diag.hpp"

namespace rapport::nightly {

namespace fs = std::filesystem;
using diag::Code;
using yamlio::quote;
using yamlio::Reader;
using yamlio::span_of;

std::string_view format_name(Format format) {
  switch (format) {
    case Format::Text: return "text";
    case Format::Json: return "json";
    case Format::Csv: return "csv";
    case Format::Junit: return "junit";
    case Format::Sarif: return "sarif";
    case Format::Html: return "html";
  }
  return "text";
}

std::string_view format_file(Format format) {
  switch (format) {
    case Format::Text: return "findings.txt";
    case Format::Json: return "findings.json";
    case Format::Csv: return "findings.csv";
    case Format::Junit: return "junit.xml";
    case Format::Sarif: return "findings.sarif";
    case Format::Html: return "report.html";
  }
  return "findings.txt";
}

namespace {

const std::vector<std::string> kSeverities = {"info", "low", "medium", "high", "critical"};

void read_outputs(Reader& r, const YAML::Node& node, Config& config) {
  if (!r.keys(node, {"dir", "formats", "digests"}, "`outputs`")) return;
  if (node["dir"]) {
    if (auto p = r.path(node["dir"], "outputs.dir")) config.outputs_dir = *p;
  } else {
    r.error(node, "`outputs` needs `dir`, the folder the reports are written to").help("for example: dir: reports/");
  }
  config.formats.clear();
  if (const auto formats = node["formats"]) {
    std::vector<std::string> names;
    if (formats.IsSequence()) {
      for (const auto& item : formats) names.push_back(item.IsScalar() ? item.Scalar() : "");
    }
    if (!formats.IsSequence() || formats.size() == 0) {
      r.error(formats, "`outputs.formats` must be a list of formats").help("for example: [html, json, junit, sarif, csv, text]");
    } else {
      const std::vector<std::string> all = {"text", "json", "csv", "junit", "sarif", "html"};
      for (const auto& item : formats) {
        auto name = r.choice(item, "outputs.formats", all);
        if (!name) continue;
        for (int f = 0; f < 6; ++f) {
          auto format = static_cast<Format>(f);
          if (format_name(format) != *name) continue;
          bool seen = false;
          for (auto existing : config.formats) seen = seen || existing == format;
          if (seen) r.error(item, "format " + quote(*name) + " is listed twice");
          else config.formats.push_back(format);
        }
      }
    }
  } else {
    config.formats = {Format::Text, Format::Json, Format::Csv, Format::Junit, Format::Sarif, Format::Html};
  }
  if (const auto digests = node["digests"]) {
    config.digests = true;
    config.digest_formats = {"markdown", "html"};
    if (digests.IsScalar()) {
      auto on = r.boolean(digests, "outputs.digests");
      config.digests = on.value_or(false);
    } else if (r.keys(digests, {"dir", "formats", "min_severity"}, "`outputs.digests`")) {
      if (digests["dir"]) {
        if (auto p = r.path(digests["dir"], "outputs.digests.dir")) config.digests_dir = *p;
      }
      if (const auto formats = digests["formats"]) {
        config.digest_formats.clear();
        if (!formats.IsSequence() || formats.size() == 0) {
          r.error(formats, "`outputs.digests.formats` must be a list: [markdown, html]");
        } else {
          for (const auto& item : formats) {
            if (auto f = r.choice(item, "outputs.digests.formats", {"markdown", "html"})) config.digest_formats.push_back(*f);
          }
        }
      }
      if (digests["min_severity"]) {
        if (auto s = r.choice(digests["min_severity"], "outputs.digests.min_severity", kSeverities)) {
          config.digest_min_severity = *s;
        }
      }
    }
  }
}

void read_webhook(Reader& r, const YAML::Node& node, Config& config, const diag::SourceFile& file) {
  if (!r.keys(node, {"url_env", "url_file", "url", "format", "report_url", "when", "timeout"}, "`notify.webhook`")) return;
  Webhook hook;
  hook.location = yamlio::place_of(node, file);
  if (node["url"]) {
    // Webhook URLs carry their own secret: keep them out of files people commit and share.
    r.error(node["url"], "a webhook URL is a secret: do not write it in the config")
        .help("put it in an environment variable and write `url_env: RAPPORT_WEBHOOK_URL`, or in a file: `url_file: /etc/rapport/webhook`");
  }
  if (node["url_env"]) {
    if (auto v = r.text(node["url_env"], "notify.webhook.url_env")) hook.url_env = *v;
  }
  if (node["url_file"]) {
    if (auto v = r.path(node["url_file"], "notify.webhook.url_file")) hook.url_file = *v;
  }
  if (node["url_env"] && node["url_file"]) {
    r.error(node["url_file"], "give the webhook URL with one of `url_env` or `url_file`, not both");
  } else if (!node["url_env"] && !node["url_file"] && !node["url"]) {
    r.error(node, "`notify.webhook` needs `url_env` (an environment variable holding the URL) or `url_file`");
  }
  if (node["format"]) {
    if (auto f = r.choice(node["format"], "notify.webhook.format", {"slack", "teams"})) hook.format = *f;
  }
  if (node["report_url"]) {
    if (auto v = r.text(node["report_url"], "notify.webhook.report_url")) hook.report_url = *v;
  }
  if (node["when"]) {
    if (auto w = r.choice(node["when"], "notify.webhook.when", {"always", "findings", "changes"})) {
      hook.when = *w == "always" ? WebhookWhen::Always : *w == "findings" ? WebhookWhen::Findings : WebhookWhen::Changes;
    }
  }
  if (node["timeout"]) {
    if (auto t = r.number(node["timeout"], "notify.webhook.timeout", 0.1, 300)) hook.timeout_seconds = *t;
  }
  config.webhook = hook;
}

}  // namespace

void read_writeback(Reader& r, const YAML::Node& node, Writeback& w) {
  if (!r.keys(node, {"mode", "source", "flag_field", "tasks", "task_key", "min_severity", "rules", "journal"}, "`writeback`")) return;
  if (node["mode"]) {
    if (auto m = r.choice(node["mode"], "writeback.mode", {"off", "dry-run", "apply"})) {
      w.mode = *m == "off" ? WritebackMode::Off : *m == "dry-run" ? WritebackMode::DryRun : WritebackMode::Apply;
    }
  } else {
    r.error(node, "`writeback` needs `mode`: off, dry-run or apply");
  }
  if (node["source"]) w.source = r.path(node["source"], "writeback.source");
  if (node["flag_field"]) {
    if (auto v = r.text(node["flag_field"], "writeback.flag_field")) w.flag_field = *v;
  }
  if (node["tasks"]) w.tasks = r.boolean(node["tasks"], "writeback.tasks").value_or(false);
  if (node["task_key"]) {
    if (auto v = r.text(node["task_key"], "writeback.task_key")) w.task_key = *v;
  }
  if (node["min_severity"]) {
    if (auto s = r.choice(node["min_severity"], "writeback.min_severity", kSeverities)) w.min_severity = *s;
  }
  if (node["rules"]) {
    const auto rules = node["rules"];
    if (!rules.IsSequence()) {
      r.error(rules, "`writeback.rules` must be a list of rule ids");
    } else {
      for (const auto& item : rules) {
        if (auto v = r.text(item, "writeback.rules")) w.rules.push_back(*v);
      }
    }
  }
  if (node["journal"]) {
    if (auto p = r.path(node["journal"], "writeback.journal")) w.journal = *p;
  }
  if (w.mode != WritebackMode::Off && !w.flag_field && !w.tasks) {
    r.error(node, "write-back needs something to write: `flag_field: NAME`, `tasks: true`, or both")
        .help("or set `mode: off`");
  }
}

std::optional<Config> load_config(const std::string& path, const std::string& default_state_dir,
                                  diag::DiagnosticSink& sink) {
  diag::SourceFilePtr file;
  auto root = yamlio::load_yaml(path, file, sink);
  if (!root) return std::nullopt;
  std::size_t errors_before = sink.error_count();
  fs::path base = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : fs::path(".");
  Reader r(file, sink, base, Code::RunConfig);
  Config config;
  config.path = path;
  if (!root->IsMap()) {
    sink.error(Code::RunConfig, file, span_of(*root, *file), "a nightly run file is a map of settings")
        .help("start with `packs:`, `data:` (or `source:`) and `outputs:`; see docs/nightly.md");
    return std::nullopt;
  }
  const std::vector<std::string> keys = {"version", "title", "as_of", "data", "source", "packs", "params", "set",
                                         "state", "waivers", "fail_on", "on_bad_record", "outputs", "notify",
                                         "writeback", "dunbar_line", "history"};
  r.keys(*root, keys, "the nightly run file");
  const YAML::Node& n = *root;
  if (n["version"] && !(n["version"].IsScalar() && n["version"].Scalar() == "1")) {
    r.error(n["version"], "this Rapport reads nightly run files of `version: 1`");
  }
  config.title = "Rapport nightly check";
  if (n["title"]) {
    if (auto t = r.text(n["title"], "title")) config.title = *t;
  }
  if (n["as_of"]) config.as_of = r.text(n["as_of"], "as_of");
  if (n["data"] && n["source"]) {
    r.error(n["source"], "give the data with one of `data` (a folder of files) or `source` (a CRM source file), not both");
  } else if (n["data"]) {
    config.data_dir = r.path(n["data"], "data");
  } else if (n["source"]) {
    config.source_file = r.path(n["source"], "source");
  } else {
    r.error(n, "say where the data comes from: `data: FOLDER` (canonical files) or `source: source.yaml` (a CRM)");
  }
  if (n["packs"]) {
    config.packs = r.paths(n["packs"], "packs", "[rules/, ../rulesets/portfolio]");
    if (config.packs.empty() && n["packs"].IsSequence()) r.error(n["packs"], "`packs` lists no rule pack");
  } else {
    r.error(n, "name the rule packs to run: `packs: [rules/]`");
  }
  if (n["params"]) config.param_files = r.paths(n["params"], "params", "[rules/, ../rulesets/portfolio]");
  if (const auto set = n["set"]) {
    config.sets = r.parameter_sets(set, "set: { dunbar_limit: 120, neglect_window: 60d }",
                                   "for example: commercial_topics: \"[discount, pricing]\"; or use a parameter file under `params`");
  }
  config.state_dir = default_state_dir;
  if (n["state"]) {
    if (auto p = r.path(n["state"], "state")) config.state_dir = *p;
  }
  if (n["waivers"]) config.waivers_file = r.path(n["waivers"], "waivers");
  if (n["fail_on"]) {
    auto choices = kSeverities;
    choices.push_back("none");
    if (auto f = r.choice(n["fail_on"], "fail_on", choices)) config.fail_on = *f;
  }
  if (n["on_bad_record"]) {
    if (auto v = r.choice(n["on_bad_record"], "on_bad_record", {"fail", "skip"})) config.on_bad_record = *v;
  }
  if (n["outputs"]) {
    read_outputs(r, n["outputs"], config);
  } else {
    r.error(n, "say where the reports go: `outputs: { dir: reports/ }`");
  }
  if (const auto notify = n["notify"]) {
    if (r.keys(notify, {"webhook"}, "`notify`") && notify["webhook"]) read_webhook(r, notify["webhook"], config, *file);
  }
  if (n["writeback"]) read_writeback(r, n["writeback"], config.writeback);
  if (!config.writeback.source) config.writeback.source = config.source_file;
  if (config.writeback.mode != WritebackMode::Off && !config.writeback.source && n["writeback"]) {
    r.error(n["writeback"]["mode"], "write-back needs a CRM: this run reads `data` files")
        .help("name the CRM to write to with `writeback: { source: crm.yaml }`, read the data from it with "
              "`source: source.yaml`, or set `mode: off`");
  }
  if (n["dunbar_line"]) config.dunbar_line = r.number(n["dunbar_line"], "dunbar_line", 1, 1e6);
  if (n["history"]) {
    if (auto h = r.number(n["history"], "history", 1, 10000)) config.history = static_cast<std::size_t>(*h);
  }
  if (sink.error_count() > errors_before) return std::nullopt;
  return config;
}

}  // namespace rapport::nightly
