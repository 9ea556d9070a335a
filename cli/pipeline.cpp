#include "cli/pipeline.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unistd.h>

#include "dsl/check.hpp"
#include "dsl/parser.hpp"

namespace rapport::cli {

namespace fs = std::filesystem;
using diag::Code;

std::vector<std::string> find_rule_files(const std::vector<std::string>& paths, diag::DiagnosticSink& sink) {
  std::vector<std::string> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> found;
      for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file() && it->path().extension() == ".rules") found.push_back(it->path().string());
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) sink.error(Code::SyntaxError, nullptr, {}, "no .rules files in " + path);
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(path, ec)) {
      files.push_back(path);
    } else {
      sink.error(Code::SyntaxError, nullptr, {}, "no such rule file or directory: " + path);
    }
  }
  return files;
}

namespace {

/// One rule file to compile, and the pack folder it belongs to (or -1).
struct RuleUnit {
  std::string path;
  int manifest = -1;
};

/// Loads a pack folder's manifest after the folders it extends; returns its index or -1.
int add_manifest(const std::string& dir, const PipelineOptions& options, Pipeline& p, std::vector<RuleUnit>& units,
                 std::map<std::string, int>& seen, std::vector<std::string>& stack) {
  std::error_code ec;
  std::string key = fs::weakly_canonical(dir, ec).string();
  if (auto it = seen.find(key); it != seen.end()) return it->second;
  if (std::find(stack.begin(), stack.end(), key) != stack.end()) {
    p.sink.error(Code::PackMismatch, nullptr, {}, "pack folders extend each other in a cycle: " + key);
    return -1;
  }
  auto manifest = packs::load_manifest(dir, options.rapport_version, p.sink);
  if (!manifest) return -1;
  stack.push_back(key);
  std::vector<int> bases;
  for (const auto& base : manifest->extends) bases.push_back(add_manifest(base, options, p, units, seen, stack));
  stack.pop_back();
  int index = static_cast<int>(p.manifests.size());
  for (const auto& file : manifest->rule_files) units.push_back({file, index});
  p.manifests.push_back(std::move(*manifest));
  p.manifest_packs.emplace_back();
  seen[key] = index;
  // Remember the bases through a negative marker resolved after compilation.
  for (int base : bases) {
    if (base >= 0) p.manifest_packs[index].push_back(static_cast<std::size_t>(-1 - base));
  }
  return index;
}

}  // namespace

void prepare(const PipelineOptions& options, Pipeline& p) {
  std::vector<RuleUnit> units;
  std::map<std::string, int> seen_manifests;
  std::vector<std::string> stack;
  std::vector<std::string> plain;
  for (const auto& path : options.pack_paths) {
    if (packs::is_pack_folder(path)) {
      add_manifest(path, options, p, units, seen_manifests, stack);
    } else {
      plain.push_back(path);
    }
  }
  if (!plain.empty()) {
    for (const auto& file : find_rule_files(plain, p.sink)) units.push_back({file, -1});
  }
  if (p.sink.has_errors()) {
    p.exit_code = kExitUsage;
    return;
  }
  std::vector<int> unit_manifest;
  for (const auto& unit : units) {
    std::string error;
    auto source = diag::read_source_file(unit.path, error);
    if (!source) {
      p.sink.error(Code::SyntaxError, nullptr, {}, error);
      continue;
    }
    p.files.push_back(dsl::parse_file(source, p.sink));
    unit_manifest.push_back(unit.manifest);
  }
  if (p.sink.has_errors()) {
    p.exit_code = kExitUsage;
    return;
  }
  const model::Schema* schema = &model::Schema::canonical();
  if (options.data_dir) {
    p.discovery = load::discover(*options.data_dir, p.sink);
    if (p.sink.has_errors()) {
      p.exit_code = kExitData;
      return;
    }
    schema = &p.discovery->schema;
  }
  std::map<std::string, std::string> pack_files;
  for (std::size_t i = 0; i < p.files.size(); ++i) {
    const auto& file = p.files[i];
    int manifest = unit_manifest[i];
    packs::ConfiguredPack configured;
    configured.pack = dsl::compile(file, *schema, p.sink);
    if (manifest >= 0) {
      const packs::Manifest& m = p.manifests[manifest];
      if (file.header && configured.pack.name != m.name) {
        p.sink.error(Code::PackMismatch, file.source, file.header->name.span,
                     "this file says `pack " + configured.pack.name + "`, but its folder's pack.yaml names the pack `" +
                         m.name + "`")
            .label(m.file, m.name_span, "the manifest's name")
            .help("make the two names the same");
      }
      if (file.header && file.header->version && file.header->version->value != m.version) {
        p.sink.error(Code::PackMismatch, file.source, file.header->version->span,
                     "version \"" + file.header->version->value + "\" differs from pack.yaml's " + m.version)
            .help("keep the version in one place: pack.yaml, or make them equal");
      }
      configured.pack.version = m.version;
      if (configured.pack.title.empty()) configured.pack.title = m.title;
    } else if (auto [it, fresh] = pack_files.emplace(configured.pack.name, file.source->path()); !fresh && file.header) {
      p.sink.error(Code::DuplicateName, file.source, file.header->name.span,
                   "pack `" + configured.pack.name + "` is also defined in " + it->second)
          .help("give each rule file its own pack name, or make the folder a pack with a pack.yaml");
    }
    configured.params = configured.pack.default_params();
    p.pack_manifest.push_back(manifest);
    p.packs.push_back(std::move(configured));
  }
  if (p.sink.has_errors()) {
    p.exit_code = kExitUsage;
    return;
  }
  // Each manifest runs the packs it extends (transitively), then its own.
  for (std::size_t m = 0; m < p.manifests.size(); ++m) {
    std::vector<std::size_t> members;
    for (std::size_t marker : p.manifest_packs[m]) {
      auto base = static_cast<std::size_t>(-1 - static_cast<long>(marker));
      for (std::size_t member : p.manifest_packs[base]) {
        if (std::find(members.begin(), members.end(), member) == members.end()) members.push_back(member);
      }
    }
    for (std::size_t i = 0; i < p.packs.size(); ++i) {
      if (p.pack_manifest[i] == static_cast<int>(m)) members.push_back(i);
    }
    p.manifest_packs[m] = members;
    if (p.manifests[m].params) {
      std::vector<packs::ConfiguredPack*> targets;
      for (std::size_t member : members) targets.push_back(&p.packs[member]);
      packs::apply_param_block(targets, *p.manifests[m].params, p.sink);
    }
  }
  for (const auto& path : options.param_files) {
    packs::apply_param_file(p.packs, path, p.sink);
  }
  for (const auto& assignment : options.sets) packs::apply_set(p.packs, assignment, p.sink);
  if (p.sink.has_errors()) p.exit_code = kExitUsage;
}

void load_data(const PipelineOptions& options, Pipeline& p) {
  const load::Discovery& discovery = *p.discovery;
  load::LoadOptions load_options;
  load_options.on_bad_record = options.on_bad_record;
  load_options.keep_source_lines = options.keep_source_lines;
  load_options.compact = options.compact_data;
  load_options.threads = options.load_threads;
  // Every field an active rule names must be in the data: an error at load time, never a
  // silent null. Disabled and unselected rules need nothing.
  for (const auto& configured : p.packs) {
    std::set<std::string> active;
    for (const auto& rule : configured.pack.rules) {
      bool selected = options.only_rules.empty() ||
                      std::find(options.only_rules.begin(), options.only_rules.end(), rule.id) != options.only_rules.end();
      if (options.rules && rule.enabled && selected) active.insert(rule.id);
    }
    for (const auto& plan : configured.pack.plans) {
      if (std::find(options.plans.begin(), options.plans.end(), plan.id) != options.plans.end()) active.insert(plan.id);
    }
    for (const auto& use : configured.pack.field_uses) {
      if (!active.count(use.rule)) continue;
      bool is_plan = false;
      for (const auto& plan : configured.pack.plans) is_plan = is_plan || plan.id == use.rule;
      const std::string user = (is_plan ? "plan " : "rule ") + use.rule;
      auto present = discovery.present_fields.find(use.entity);
      std::string file_name;
      for (const auto& f : discovery.files) {
        if (f.entity == use.entity) file_name = f.path;
      }
      if (present == discovery.present_fields.end() || file_name.empty()) {
        p.sink.error(Code::DataFileMissing, configured.pack.source, use.span,
                     user + " uses " + use.entity + "." + use.field + ", but " + *options.data_dir +
                         " has no " + use.entity + ".jsonl or " + use.entity + ".csv")
            .help("export the " + use.entity + " entity, or disable the rule in a parameter file");
        continue;
      }
      if (use.field != "id" && !present->second.count(use.field)) {
        p.sink.error(Code::MissingColumn, configured.pack.source, use.span,
                     user + " uses " + use.entity + "." + use.field + ", but " + file_name +
                         " has no such field")
            .help("add the field to the export, or disable the rule in a parameter file");
      }
      load_options.fields[use.entity].insert(use.field);
    }
  }
  if (p.sink.has_errors()) {
    p.exit_code = kExitData;
    return;
  }
  for (const auto& [entity, fields] : options.extra_fields) {
    auto present = discovery.present_fields.find(entity);
    if (present == discovery.present_fields.end()) continue;
    for (const auto& field : fields) {
      if (present->second.count(field)) load_options.fields[entity].insert(field);
    }
  }
  // Names make findings readable; load them for every entity that has one. An entity whose `id`
  // no active rule reads has ids that only label its rows (LoadOptions::label_id_entities).
  for (auto& [entity, fields] : load_options.fields) {
    if (options.compact_data && !fields.count("id")) load_options.label_id_entities.insert(entity);
    fields.erase("id");
    auto present = discovery.present_fields.find(entity);
    if (present != discovery.present_fields.end() && present->second.count("name")) fields.insert("name");
  }
  // Navigation targets must be loaded even when none of their fields are read.
  for (auto it = load_options.fields.begin(); it != load_options.fields.end();) {
    if (!discovery.present_fields.count(it->first)) it = load_options.fields.erase(it);
    else ++it;
  }
  if (options.progress) {
    load_options.progress = [](const std::string& entity, std::size_t done, std::size_t total) {
      int percent = total ? static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total)) : 100;
      std::fprintf(stderr, "\rloading %-14s %3d%%", entity.c_str(), percent);
      if (done >= total) std::fprintf(stderr, "\r%40s\r", "");
      std::fflush(stderr);
    };
  }
  p.dataset.schema = discovery.schema;
  if (!load::load(discovery, load_options, p.dataset, p.stats, p.sink) || p.sink.has_errors()) {
    p.exit_code = kExitData;
    return;
  }
  if (options.compact_data) p.dataset.strings.narrow_index();  // the loader compacted the tables
}

engine::EvalResult evaluate_all(Pipeline& p, const engine::EvalOptions& options) {
  std::vector<engine::PackToEvaluate> packs;
  packs.reserve(p.packs.size());
  for (const auto& configured : p.packs) packs.push_back({&configured.pack, &configured.params});
  return engine::evaluate(packs, p.dataset, options);
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {}

AtomicFile::~AtomicFile() {
  if (!temp_.empty() && !committed_) {
    out_.close();
    std::remove(temp_.c_str());
  }
}

bool AtomicFile::open(std::string& error) {
  fs::path target(path_);
  // A device, pipe or socket (`-o /dev/null`, `-o /dev/stdout`, a FIFO) is written as it is: a
  // temporary file renamed over it would replace the device itself with a regular file.
  std::error_code status_error;
  const fs::file_status status = fs::status(target, status_error);
  if (!status_error && fs::exists(status) && !fs::is_regular_file(status) && !fs::is_directory(status)) {
    out_.open(path_, std::ios::binary);
    if (!out_) {
      error = "cannot write " + path_;
      return false;
    }
    direct_ = true;
    return true;
  }
  fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
  temp_ = (directory / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()))).string();
  out_.open(temp_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    error = "cannot write " + temp_;
    temp_.clear();
    return false;
  }
  return true;
}

void AtomicFile::write(std::string_view piece) { out_.write(piece.data(), static_cast<std::streamsize>(piece.size())); }

bool AtomicFile::commit(std::string& error) {
  out_.flush();
  if (!out_) {
    error = "cannot write " + (direct_ ? path_ : temp_) + (direct_ ? "" : " (disk full?)");
    return false;
  }
  out_.close();
  if (direct_) {
    committed_ = true;
    return true;
  }
  std::error_code ec;
  fs::rename(temp_, path_, ec);
  if (ec) {
    error = "cannot replace " + path_ + ": " + ec.message();
    return false;
  }
  committed_ = true;
  return true;
}

bool write_file_atomically(const std::string& path, const std::string& content, std::string& error) {
  AtomicFile file(path);
  if (!file.open(error)) return false;
  file.write(content);
  return file.commit(error);
}

}  // namespace rapport::cli
