// The C API (include/rapport/rapport.h) over the same pipeline the command line uses
// (cli/pipeline.hpp): every entry point catches everything, so no C++ exception crosses the ABI.

#include "rapport/rapport.h"

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "cli/pipeline.hpp"
#include "diag/render.hpp"
#include "engine/output.hpp"
#include "model/time.hpp"

#ifndef RAPPORT_VERSION
#define RAPPORT_VERSION "0.0.0"
#endif

struct rapport_engine {
  rapport::cli::PipelineOptions options;
  std::unique_ptr<rapport::cli::Pipeline> pipeline;  // set by compile
  bool loaded = false;
  std::string diagnostics = "[]";
};

namespace {

using rapport::cli::Pipeline;

/// Errors and warnings of a sink as the JSON array the header promises.
std::string diagnostics_json(const rapport::diag::DiagnosticSink& sink) {
  std::vector<rapport::diag::Diagnostic> shown;
  for (auto& d : sink.sorted()) {
    if (d.severity != rapport::diag::Severity::Info) shown.push_back(std::move(d));
  }
  std::string json = rapport::diag::render_json(shown);
  while (!json.empty() && json.back() == '\n') json.pop_back();
  return json;
}

/// One diagnostic without a place, for mistakes in the calls themselves.
rapport_status fail(rapport_engine* engine, rapport_status status, const std::string& message) {
  if (engine) {
    rapport::diag::DiagnosticSink sink;
    sink.error(rapport::diag::Code::SyntaxError, nullptr, {}, message);
    engine->diagnostics = diagnostics_json(sink);
  }
  return status;
}

char* copy_out(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out) std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

/// Runs `body`, turning any exception into RAPPORT_INTERNAL with its message.
template <typename Body>
rapport_status guarded(rapport_engine* engine, Body body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(engine, RAPPORT_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(engine, RAPPORT_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(engine, RAPPORT_INTERNAL, "internal error");
  }
}

rapport_status before_compile(rapport_engine* engine, const char* text, const char* what) {
  if (!engine) return RAPPORT_INVALID;
  if (!text || !*text) return fail(engine, RAPPORT_INVALID, std::string(what) + " is empty");
  if (engine->pipeline) return fail(engine, RAPPORT_INVALID, std::string(what) + ": the engine is already compiled");
  engine->diagnostics = "[]";
  return RAPPORT_OK;
}

}  // namespace

extern "C" {

const char* rapport_version(void) { return RAPPORT_VERSION; }
int rapport_abi_version(void) { return RAPPORT_ABI_VERSION; }

rapport_engine* rapport_engine_new(void) {
  try {
    auto* engine = new rapport_engine;
    engine->options.rapport_version = RAPPORT_VERSION;
    return engine;
  } catch (...) {
    return nullptr;
  }
}

void rapport_engine_free(rapport_engine* engine) { delete engine; }

rapport_status rapport_engine_add_pack(rapport_engine* engine, const char* path) {
  return guarded(engine, [&] {
    if (auto s = before_compile(engine, path, "the pack path")) return s;
    engine->options.pack_paths.emplace_back(path);
    return RAPPORT_OK;
  });
}

rapport_status rapport_engine_add_params(rapport_engine* engine, const char* path) {
  return guarded(engine, [&] {
    if (auto s = before_compile(engine, path, "the parameter file path")) return s;
    engine->options.param_files.emplace_back(path);
    return RAPPORT_OK;
  });
}

rapport_status rapport_engine_set(rapport_engine* engine, const char* assignment) {
  return guarded(engine, [&] {
    if (auto s = before_compile(engine, assignment, "the assignment")) return s;
    engine->options.sets.emplace_back(assignment);
    return RAPPORT_OK;
  });
}

rapport_status rapport_engine_compile(rapport_engine* engine) {
  if (!engine) return RAPPORT_INVALID;
  return guarded(engine, [&] {
    if (engine->pipeline) return fail(engine, RAPPORT_INVALID, "the engine is already compiled");
    if (engine->options.pack_paths.empty()) return fail(engine, RAPPORT_INVALID, "add at least one rule pack before compiling");
    auto pipeline = std::make_unique<Pipeline>();
    rapport::cli::prepare(engine->options, *pipeline);
    engine->diagnostics = diagnostics_json(pipeline->sink);
    if (pipeline->exit_code != rapport::cli::kExitClean) return RAPPORT_INVALID;
    engine->pipeline = std::move(pipeline);
    return RAPPORT_OK;
  });
}

rapport_status rapport_engine_load(rapport_engine* engine, const char* data_dir) {
  if (!engine) return RAPPORT_INVALID;
  return guarded(engine, [&] {
    if (!engine->pipeline) return fail(engine, RAPPORT_INVALID, "compile the engine before loading data");
    if (!data_dir || !*data_dir) return fail(engine, RAPPORT_INVALID, "the data folder is empty");
    // Discovery and field checks depend on the folder: prepare again against it.
    rapport::cli::PipelineOptions options = engine->options;
    options.data_dir = data_dir;
    auto pipeline = std::make_unique<Pipeline>();
    rapport::cli::prepare(options, *pipeline);
    if (pipeline->exit_code == rapport::cli::kExitClean) rapport::cli::load_data(options, *pipeline);
    engine->diagnostics = diagnostics_json(pipeline->sink);
    if (pipeline->exit_code != rapport::cli::kExitClean) {
      engine->loaded = false;
      return pipeline->exit_code == rapport::cli::kExitUsage ? RAPPORT_INVALID : RAPPORT_DATA_ERROR;
    }
    engine->pipeline = std::move(pipeline);
    engine->loaded = true;
    return RAPPORT_OK;
  });
}

rapport_status rapport_engine_evaluate(rapport_engine* engine, const char* as_of, char** findings_json,
                                       unsigned long* findings_count) {
  if (!engine) return RAPPORT_INVALID;
  return guarded(engine, [&] {
    if (!findings_json) return fail(engine, RAPPORT_INVALID, "findings_json must not be NULL");
    *findings_json = nullptr;
    if (!engine->loaded) return fail(engine, RAPPORT_INVALID, "load data before evaluating");
    std::optional<double> now = as_of && *as_of ? rapport::model::parse_date_or_timestamp(as_of)
                                                : std::optional<double>(static_cast<double>(std::time(nullptr)));
    if (!now) {
      return fail(engine, RAPPORT_INVALID,
                  std::string("as_of must be a date (2026-11-01) or a UTC timestamp (2026-11-01T09:30:00Z), got `") + as_of + "`");
    }
    Pipeline& pipeline = *engine->pipeline;
    rapport::engine::EvalOptions eval;
    eval.as_of = *now;
    rapport::engine::EvalResult result = rapport::cli::evaluate_all(pipeline, eval);
    rapport::engine::RunInfo info;
    info.rapport_version = RAPPORT_VERSION;
    info.as_of = rapport::model::format_timestamp(*now);
    for (const auto& pack : pipeline.packs) info.packs.emplace_back(pack.pack.name, pack.pack.version);
    info.records = pipeline.stats.records;
    info.skipped_records = pipeline.stats.skipped;
    info.dangling_references = pipeline.stats.dangling_references;
    char* out = copy_out(rapport::engine::render_json(result, info));
    if (!out) return fail(engine, RAPPORT_INTERNAL, "out of memory");
    *findings_json = out;
    if (findings_count) *findings_count = static_cast<unsigned long>(result.findings.size());
    engine->diagnostics = "[]";
    return RAPPORT_OK;
  });
}

const char* rapport_engine_diagnostics(const rapport_engine* engine) {
  return engine ? engine->diagnostics.c_str() : "[]";
}

void rapport_free(char* text) { std::free(text); }

}  // extern "C"
