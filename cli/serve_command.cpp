// `rapport serve --config serve.yaml`: the HTTP server of live checks (docs/serve.md). The serve
// library does the HTTP, authentication and snapshot handling; this file supplies its Backend
// (the same pipeline `rapport check` runs) and the process's signals: SIGHUP reloads,
// SIGTERM and SIGINT stop gracefully.

#include <boost/program_options.hpp>

#include <csignal>
#include <fstream>
#include <iostream>
#include <pthread.h>
#include <set>

#include "cli/commands.hpp"
#include "cli/pipeline.hpp"
#include "diag/render.hpp"
#include "engine/live.hpp"
#include "engine/output.hpp"
#include "model/time.hpp"
#include "nightly/owners.hpp"
#include "serve/config.hpp"
#include "serve/http_server.hpp"
#include "serve/service.hpp"

#ifndef RAPPORT_VERSION
#define RAPPORT_VERSION "0.0.0"
#endif

namespace rapport::cli {

namespace json = boost::json;
namespace po = boost::program_options;

namespace {

/// Errors and warnings of a sink as a JSON array and as text for the log.
void describe(const diag::DiagnosticSink& sink, std::string& as_json, std::string& as_text) {
  std::vector<diag::Diagnostic> shown;
  for (auto& d : sink.sorted()) {
    if (d.severity != diag::Severity::Info) shown.push_back(std::move(d));
  }
  as_json = diag::render_json(shown);
  while (!as_json.empty() && as_json.back() == '\n') as_json.pop_back();
  as_text = diag::render_text(shown);
}

class PipelineBackend : public serve::Backend {
 public:
  explicit PipelineBackend(const serve::Config& config) {
    options_.pack_paths = config.packs;
    options_.param_files = config.param_files;
    options_.sets = config.sets;
    options_.data_dir = config.data_dir;
    options_.rapport_version = RAPPORT_VERSION;
    source_file_ = config.source_file;
  }

  Loaded load(double as_of) override {
    Loaded loaded;
    PipelineOptions options = options_;
    // A CRM source is fetched afresh at every load (start, reload, scheduled refresh) into a
    // scratch folder that lives until the data is in memory.
    std::optional<ScratchFolder> fetched;
    if (!source_file_.empty()) {
      std::string data_dir;
      if (auto status = fetch_source("serve", source_file_, fetched, data_dir, true, false)) {
        diag::DiagnosticSink sink;  // the fetch's own diagnostics went to stderr, with the log
        sink.error(diag::Code::DataFileMissing, nullptr, {},
                   "the snapshot's data could not be fetched from the CRM (rapport fetch exit " + std::to_string(*status) +
                       "); the log shows why")
            .where = source_file_;
        describe(sink, loaded.diagnostics_json, loaded.diagnostics_text);
        return loaded;
      }
      options.data_dir = data_dir;
    }
    Pipeline pipeline;
    prepare(options, pipeline);
    if (pipeline.exit_code == kExitClean) {
      std::set<std::string> subjects;
      for (const auto& pack : pipeline.packs) {
        for (const auto& rule : pack.pack.rules) subjects.insert(rule.subject_entity);
      }
      options.extra_fields = nightly::attribution_fields(pipeline.discovery->schema, subjects);
      load_data(options, pipeline);
    }
    describe(pipeline.sink, loaded.diagnostics_json, loaded.diagnostics_text);
    if (pipeline.exit_code != kExitClean) return loaded;
    loaded.records = pipeline.stats.records;
    loaded.snapshot = engine::LiveSnapshot::build(std::move(pipeline.packs), std::move(pipeline.dataset), as_of);
    return loaded;
  }

  Checked check(const json::object& records, const std::vector<std::string>& pack_names, double as_of) override {
    ScratchFolder scratch;
    if (scratch.path().empty()) return {500, serve::json_error(500, "internal", "cannot create a scratch folder").body};
    for (const auto& [entity, list] : records) {
      std::string content;
      for (const auto& record : list.as_array()) content += json::serialize(record) + "\n";
      std::string error;
      if (!write_file_atomically(scratch.path() + "/" + std::string(entity) + ".jsonl", content, error)) {
        return {500, serve::json_error(500, "internal", error).body};
      }
    }
    PipelineOptions options = options_;
    options.data_dir = scratch.path();
    Pipeline pipeline;
    prepare(options, pipeline);
    if (pipeline.exit_code != kExitClean) return rejected(pipeline);
    // Only the rules whose every field is in the records sent; the others are listed as skipped.
    std::string skipped;
    for (const auto& name : pack_names) {
      bool known = false;
      for (const auto& pack : pipeline.packs) known = known || pack.pack.name == name;
      if (!known) {
        return {400, serve::json_error(400, "invalid_request", "no served pack is named `" + name + "`",
                                       "{\"field\": \"packs\"}").body};
      }
    }
    const auto& present = pipeline.discovery->present_fields;
    for (const auto& pack : pipeline.packs) {
      bool wanted = pack_names.empty() || std::find(pack_names.begin(), pack_names.end(), pack.pack.name) != pack_names.end();
      for (const auto& rule : pack.pack.rules) {
        if (!rule.enabled || !wanted) continue;
        std::string missing;
        for (const auto& use : pack.pack.field_uses) {
          if (use.rule != rule.id || !missing.empty()) continue;
          auto fields = present.find(use.entity);
          if (fields == present.end()) missing = use.entity;
          else if (use.field != "id" && !fields->second.count(use.field)) missing = use.entity + "." + use.field;
        }
        if (missing.empty()) {
          options.only_rules.push_back(rule.id);
        } else {
          skipped += std::string(skipped.empty() ? "" : ", ") + "{\"rule\": " + engine::json_string(rule.id) +
                     ", \"needs\": " + engine::json_string(missing) + "}";
        }
      }
    }
    if (options.only_rules.empty()) {
      return {422, serve::json_error(422, "invalid_request", "no rule can be evaluated from the records sent",
                                     "{\"skipped_rules\": [" + skipped + "]}").body};
    }
    load_data(options, pipeline);
    if (pipeline.exit_code != kExitClean) return rejected(pipeline);
    engine::EvalOptions eval;
    eval.as_of = as_of;
    eval.only_rules = options.only_rules;
    engine::EvalResult result = evaluate_all(pipeline, eval);
    engine::RunInfo info;
    info.rapport_version = RAPPORT_VERSION;
    info.as_of = model::format_timestamp(as_of);
    for (const auto& pack : pipeline.packs) info.packs.emplace_back(pack.pack.name, pack.pack.version);
    info.records = pipeline.stats.records;
    std::string body = engine::render_json(result, info);
    // The report's shape, plus the rules that needed more than was sent.
    std::size_t end = body.rfind('}');
    body.insert(end, ",\n  \"skipped_rules\": [" + skipped + "]\n");
    return {200, std::move(body)};
  }

  std::vector<std::string> watched_paths() override {
    std::vector<std::string> paths = options_.pack_paths;
    paths.insert(paths.end(), options_.param_files.begin(), options_.param_files.end());
    return paths;
  }

 private:
  static Checked rejected(const Pipeline& pipeline) {
    std::string as_json, as_text;
    describe(pipeline.sink, as_json, as_text);
    return {422, serve::json_error(422, "invalid_request", "the records sent cannot be evaluated: " +
                                                                std::to_string(pipeline.sink.error_count()) + " error(s)",
                                   as_json).body};
  }

  PipelineOptions options_;
  std::string source_file_;
};

}  // namespace

std::unique_ptr<serve::Backend> serve_backend(const serve::Config& config) {
  return std::make_unique<PipelineBackend>(config);
}

int command_serve(const std::vector<std::string>& args) {
  std::string config_path, color = "auto";
  int port = -1;
  po::options_description desc("options");
  desc.add_options()
      ("config,c", po::value(&config_path), "the serve file (serve.yaml)")
      ("port", po::value(&port), "listen on this port instead of the file's (0: any free port)")
      ("color", po::value(&color)->default_value("auto"), "colour of diagnostics: auto, always or never")
      ("openapi", "print the OpenAPI 3.0 document the server serves at /openapi.json, and exit (for importing "
                  "into Salesforce External Services and similar tools without a running server)")
      ("help,h", "show this help");
  const char* synopsis = "--config serve.yaml [--port N] | --openapi";
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: rapport serve " << synopsis << "\n\n" << desc;
      return kExitClean;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error("serve", synopsis, e.what());
  }
  if (vm.count("openapi")) {
    std::cout << serve::openapi_document();
    return kExitClean;
  }
  if (config_path.empty()) return usage_error("serve", synopsis, "name the serve file with --config serve.yaml");
  diag::DiagnosticSink sink;
  auto config = serve::load_config(config_path, sink);
  if (!config) {
    print_errors(sink, "text", color);
    return kExitUsage;
  }
  if (port >= 0) config->port = port;
  // Signals go to the waiting thread below, never to the server's threads.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  serve::Service service(*config, serve_backend(*config), RAPPORT_VERSION);
  if (!service.reload("start")) {
    std::cerr << "rapport serve: the first snapshot could not be built; nothing to serve\n";
    return kExitData;
  }
  serve::Server server(*config, service.router(), service.metrics(), service.log());
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "rapport serve: " << e.what() << "\n";
    return kExitUsage;
  }
  service.log().event("listening", "http://" + config->address + ":" + std::to_string(server.port()));
  if (config->writeback.mode != nightly::WritebackMode::Off) {
    service.log().event("writeback", std::string(config->writeback.mode == nightly::WritebackMode::Apply ? "apply" : "dry-run") +
                                         " to the CRM of " + *config->writeback.source);
  }
  service.start_background();
  for (;;) {
    int received = 0;
    if (sigwait(&signals, &received) != 0) continue;
    if (received == SIGHUP) {
      service.reload("SIGHUP");
      continue;
    }
    service.log().event("stopping", received == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  service.stop_background();
  server.stop();
  return kExitClean;
}

}  // namespace rapport::cli
