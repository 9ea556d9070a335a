// `rapport doc PACK`: the Markdown reference of a pack, generated from its manifest, rule files
// and tests (example messages come from the tests' expected findings).

#include <boost/program_options.hpp>

#include <functional>
#include <iostream>
#include <set>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/pipeline.hpp"
#include "diag/render.hpp"
#include "dsl/check.hpp"
#include "packs/test_suite.hpp"

namespace rapport::cli {

namespace po = boost::program_options;

namespace {

std::string cell(std::string text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

/// The template as written, with its {expressions} kept visible.
std::string template_text(const dsl::CompiledPack& pack, const dsl::Text& text) {
  std::string out;
  for (const auto& part : text.parts) out += part.is_expr ? "{" + pack.text_of(part.expr.span) + "}" : part.text;
  return out;
}

std::string type_name(const dsl::ParamDecl& p) {
  std::string type = dsl::describe(p.type);
  if (p.is_keyed()) type += " by " + p.by_entity + "." + p.by_field;
  return type;
}

void params_used(const dsl::Node& node, std::set<int>& slots) {
  if (node.op == dsl::Op::Param || node.op == dsl::Op::ParamKeyed) slots.insert(node.slot);
  for (const auto& arg : node.args) params_used(arg, slots);
  if (node.join_outer) params_used(*node.join_outer, slots);
}

std::set<int> rule_params(const dsl::CompiledRule& rule) {
  std::set<int> slots;
  params_used(rule.subject, slots);
  for (const auto& let : rule.lets) params_used(let.value, slots);
  params_used(rule.when, slots);
  for (const auto& e : rule.escalations) params_used(e.condition, slots);
  for (const auto* texts : {&rule.messages, &rule.remedies}) {
    for (const auto& t : *texts) {
      if (t.condition) params_used(*t.condition, slots);
      for (const auto& part : t.parts) {
        if (part.is_expr) params_used(part.expr, slots);
      }
    }
  }
  return slots;
}

}  // namespace

int command_doc(const std::vector<std::string>& args) {
  std::vector<std::string> pack_paths;
  po::options_description desc("options");
  desc.add_options()
      ("pack", po::value(&pack_paths)->multitoken(), "pack folder or rule file (also positional)")
      ("help,h", "show this help");
  po::positional_options_description positional;
  positional.add("pack", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: rapport doc PACK\n\nPrints the pack's Markdown reference: every rule's title, rationale,\n"
                   "parameters with defaults, severity and escalation, an example message and the remedy.\n\n"
                << desc;
      return kExitClean;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "rapport doc: " << e.what() << "\nusage: rapport doc PACK\n";
    return kExitUsage;
  }
  if (pack_paths.size() != 1) {
    std::cerr << "rapport doc: name one pack\nusage: rapport doc PACK\n";
    return kExitUsage;
  }
  PipelineOptions options;
  options.pack_paths = pack_paths;
  options.rapport_version = RAPPORT_VERSION;
  Pipeline pipeline;
  prepare(options, pipeline);
  if (pipeline.exit_code != kExitClean) {
    std::cerr << diag::render_text(pipeline.sink.sorted());
    return pipeline.exit_code;
  }
  // Example messages: the first expected message per rule in the pack's tests.
  std::map<std::string, std::string> examples;
  const packs::Manifest* manifest = pipeline.manifests.empty() ? nullptr : &pipeline.manifests.back();
  if (manifest) {
    for (const auto& path : packs::find_test_files(manifest->test_paths)) {
      diag::DiagnosticSink ignored;
      auto file = packs::load_test_file(path, ignored);
      if (!file) continue;
      // Prefer cases at the pack's own parameter values: their numbers match the defaults shown.
      for (int pass = 0; pass < 2; ++pass) {
        for (const auto& test : file->cases) {
          if (pass == 0 && !test.params.empty()) continue;
          for (const auto& e : test.expect) {
            std::string rule = !e.rule.empty() ? e.rule : test.rules.size() == 1 ? test.rules.front() : "";
            if (e.message && !rule.empty() && !examples.count(rule)) examples[rule] = *e.message;
          }
        }
      }
    }
  }
  std::ostringstream out;
  std::vector<std::size_t> own;
  for (std::size_t i = 0; i < pipeline.packs.size(); ++i) {
    if (!manifest || pipeline.pack_manifest[i] == static_cast<int>(pipeline.manifests.size()) - 1) own.push_back(i);
  }
  const dsl::CompiledPack& head = pipeline.packs[own.front()].pack;
  std::string title = manifest ? manifest->title : head.title;
  out << "# " << (title.empty() ? head.name : title) << "\n\n";
  out << "Pack `" << head.name << "` version " << head.version;
  if (manifest && !manifest->license.empty()) out << " · license " << manifest->license;
  if (manifest && !manifest->requires_range.empty()) out << " · requires Rapport " << manifest->requires_range;
  out << "\n\n";
  if (manifest && !manifest->description.empty()) out << manifest->description << "\n\n";
  if (manifest && !manifest->authors.empty()) {
    out << "Authors: ";
    for (std::size_t i = 0; i < manifest->authors.size(); ++i) out << (i ? ", " : "") << manifest->authors[i];
    out << "\n\n";
  }
  if (manifest && !manifest->extends.empty()) {
    out << "Builds on: ";
    for (std::size_t i = 0; i + 1 < pipeline.manifests.size(); ++i) {
      out << (i ? ", " : "") << "`" << pipeline.manifests[i].name << "` " << pipeline.manifests[i].version;
    }
    out << " (run together with this pack, with the parameter values below).\n\n";
  }
  out << "This file is generated by `rapport doc`; edit the pack, not this file.\n\n";
  out << "## Rules\n\n| rule | severity | title |\n|---|---|---|\n";
  for (std::size_t index : own) {
    for (const auto& rule : pipeline.packs[index].pack.rules) {
      out << "| [`" << rule.id << "`](#" << rule.id << ") | " << dsl::severity_name(rule.severity);
      for (const auto& e : rule.escalations) out << " → " << dsl::severity_name(e.severity);
      out << " | " << cell(rule.title) << " |\n";
    }
  }
  out << "\n## Parameters\n\nOverride them in a YAML file (`--params`) or with `--set name=value`.\n\n"
      << "| parameter | type | value | description |\n|---|---|---|---|\n";
  std::set<std::string> listed;
  std::vector<std::size_t> all = manifest ? pipeline.manifest_packs.back() : own;
  for (std::size_t index : all) {
    const auto& configured = pipeline.packs[index];
    for (std::size_t slot = 0; slot < configured.pack.params.size(); ++slot) {
      const auto& p = configured.pack.params[slot];
      if (!listed.insert(p.name).second) continue;
      std::string value = dsl::format_value(configured.params.values[slot]);
      for (const auto& [key, v] : configured.params.keyed[slot]) value += "; " + key + ": " + dsl::format_value(v);
      out << "| `" << p.name << "` | " << cell(type_name(p)) << " | " << cell(value) << " | " << cell(p.doc) << " |\n";
    }
  }
  for (std::size_t index : own) {
    const auto& configured = pipeline.packs[index];
    const auto& pack = configured.pack;
    for (const auto& rule : pack.rules) {
      out << "\n## " << rule.id << "\n\n**" << rule.title << "**\n\n";
      if (!rule.rationale.empty()) out << rule.rationale << "\n\n";
      out << "- Severity: " << dsl::severity_name(rule.severity);
      for (const auto& e : rule.escalations) {
        out << "; escalates to " << dsl::severity_name(e.severity) << " when `" << pack.text_of(e.condition.span) << "`";
      }
      out << "\n- Subject: each " << (rule.subject_kind == dsl::SubjectKind::Rows ? "row of " : "value from ")
          << rule.subject_entity << " (`" << rule.subject_var << "`)\n";
      out << "- Fires when: `" << pack.text_of(rule.when.span) << "`\n";
      if (!rule.tags.empty()) {
        out << "- Tags: ";
        for (std::size_t i = 0; i < rule.tags.size(); ++i) out << (i ? ", " : "") << rule.tags[i];
        out << "\n";
      }
      if (!rule.enabled) out << "- Disabled by default (`enabled false`)\n";
      auto slots = rule_params(rule);
      if (!slots.empty()) {
        out << "- Parameters: ";
        bool first = true;
        for (int slot : slots) {
          std::string value = dsl::format_value(configured.params.values[slot]);
          for (const auto& [key, v] : configured.params.keyed[slot]) value += "; " + key + ": " + dsl::format_value(v);
          out << (first ? "" : ", ") << "`" << pack.params[slot].name << "` = " << value;
          first = false;
        }
        out << "\n";
      }
      out << "\nExample message:\n\n> ";
      if (auto it = examples.find(rule.id); it != examples.end()) out << it->second;
      else if (!rule.messages.empty()) out << template_text(pack, rule.messages.front());
      out << "\n";
      if (!rule.remedies.empty()) {
        out << "\nRemedy:\n\n";
        for (const auto& remedy : rule.remedies) {
          out << "- ";
          if (remedy.condition) out << "when `" << pack.text_of(remedy.condition->span) << "`: ";
          out << template_text(pack, remedy) << "\n";
        }
      }
    }
  }
  for (std::size_t index : own) {
    const auto& pack = pipeline.packs[index].pack;
    for (const auto& compiled : pack.plans) {
      const auto& plan = compiled.source;
      out << "\n## Plan " << plan.id.name << "\n\n";
      if (plan.attributes.title) out << "**" << plan.attributes.title->value << "**\n\n";
      if (plan.attributes.rationale) out << plan.attributes.rationale->value << "\n\n";
      out << "- Assigns: " << plan.assign.entity.name << " to " << plan.to.entity.name << ", rewriting `"
          << pack.text_of(plan.by.span) << "`\n";
      for (const auto& keep : plan.keeps) out << "- Keeps in place: `" << pack.text_of(keep.span) << "`\n";
      for (const auto& limit : plan.limits) out << "- Limit: `" << pack.text_of(limit.span) << "`\n";
      for (const auto& prefer : plan.prefers) out << "- Prefers: `" << pack.text_of(prefer.span) << "`\n";
      if (plan.overflow) out << "- Overflow to: `" << pack.text_of(plan.overflow->span) << "`\n";
      for (const auto& key : plan.move_first) {
        out << "- Moves first: `" << pack.text_of(key.expr.span) << (key.descending ? "` descending" : "` ascending") << "\n";
      }
      out << "\nSolved by `rapport plan`: the fewest moves after which every limit holds; `rapport check` does not run plans.\n";
    }
  }
  std::cout << out.str();
  return kExitClean;
}

}  // namespace rapport::cli
