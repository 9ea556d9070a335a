#include "packs/params.hpp"

#include <yaml-cpp/yaml.h>

#include "packs/yaml_support.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "diag/suggest.hpp"
#include "dsl/check.hpp"
#include "dsl/parser.hpp"

namespace rapport::packs {

namespace {

using diag::Code;
using diag::Span;

std::string quote(std::string_view s) { return "`" + std::string(s) + "`"; }

/// Parses `text` (which stands at `span` of `file`) with the rule language's literal grammar;
/// diagnostics point into `file`.
std::optional<dsl::Value> literal_at(const diag::SourceFilePtr& file, Span span, const dsl::Type& type,
                                     const std::string& what, diag::DiagnosticSink& sink) {
  std::string blanked(file->text().size(), ' ');
  for (std::size_t i = 0; i < blanked.size(); ++i) {
    if (file->text()[i] == '\n') blanked[i] = '\n';
  }
  for (std::uint32_t i = span.begin; i < span.end && i < blanked.size(); ++i) blanked[i] = file->text()[i];
  auto scratch = std::make_shared<diag::SourceFile>(file->path(), blanked);
  diag::DiagnosticSink local;
  std::optional<dsl::Value> value;
  if (auto expr = dsl::parse_literal(scratch, local)) {
    value = dsl::convert_literal(*expr, type, what, scratch, local);
  } else if (!local.has_errors()) {
    local.error(Code::ParamOverrideType, scratch, span, what + " is not a valid " + dsl::describe(type));
  }
  for (auto diagnostic : local.diagnostics()) {
    diagnostic.file = file;  // same offsets, real text for the snippet
    auto& d = sink.report(diagnostic.severity, diagnostic.code, file, diagnostic.span, diagnostic.message);
    d.helps = diagnostic.helps;
    d.notes = diagnostic.notes;
  }
  return local.has_errors() ? std::nullopt : value;
}

/// Converts a YAML node to a parameter value of `type`.
std::optional<dsl::Value> yaml_value(const diag::SourceFilePtr& file, const YAML::Node& node, const dsl::Type& type,
                                     const std::string& what, diag::DiagnosticSink& sink) {
  Span span = span_of(node, *file);
  if (type.kind == dsl::Kind::List) {
    if (!node.IsSequence()) {
      sink.error(Code::ParamOverrideType, file, span, what + " is a " + dsl::describe(type) + "; write a YAML list")
          .help("for example: [discount, pricing]");
      return std::nullopt;
    }
    dsl::Value list;
    list.kind = dsl::Kind::List;
    bool ok = true;
    for (const auto& item : node) {
      auto v = yaml_value(file, item, *type.element, what + " item", sink);
      if (v) list.items.push_back(*v);
      else ok = false;
    }
    return ok ? std::optional<dsl::Value>(list) : std::nullopt;
  }
  if (!node.IsScalar()) {
    sink.error(Code::ParamOverrideType, file, span, what + " is a " + dsl::describe(type) + ", got a YAML " +
                                                        (node.IsMap() ? "map" : node.IsSequence() ? "list" : "null"));
    return std::nullopt;
  }
  if (type.kind == dsl::Kind::Text || type.kind == dsl::Kind::Enum) {
    dsl::Value v;
    v.kind = type.kind;
    v.text = node.Scalar();
    return v;
  }
  return literal_at(file, span, type, what, sink);
}

/// A text parameter compared with an enum takes only that enum's values.
bool check_enum_value(const dsl::ParamDecl& decl, const dsl::Value& value, const diag::SourceFilePtr& file,
                      diag::Span span, diag::DiagnosticSink& sink) {
  if (!decl.enum_field || value.missing || decl.enum_field->enum_rank(value.text)) return true;
  const auto& values = decl.enum_field->enum_values;
  std::string list;
  for (const auto& v : values) list += (list.empty() ? "" : ", ") + v;
  auto& d = sink.error(Code::ParamOverrideType, file, span,
                       "parameter " + quote(decl.name) + " takes a value of " + decl.enum_field->name + "; \"" +
                           value.text + "\" is not one");
  if (auto s = diag::closest(value.text, values)) d.help("did you mean \"" + *s + "\"? (values: " + list + ")");
  else d.help("values: " + list);
  return false;
}

bool apply_param(ConfiguredPack& target, int slot, const diag::SourceFilePtr& file, const YAML::Node& value,
                 const std::string& origin, diag::DiagnosticSink& sink) {
  const dsl::ParamDecl& decl = target.pack.params[slot];
  std::string what = "parameter " + quote(decl.name);
  if (decl.is_keyed() && value.IsMap()) {
    bool ok = true;
    for (const auto& entry : value) {
      std::string key = entry.first.Scalar();
      if (decl.by_def && decl.by_def->type == model::FieldType::Enum && !decl.by_def->enum_rank(key)) {
        auto& d = sink.error(Code::ParamOverrideKey, file, span_of(entry.first, *file),
                             decl.name + " key \"" + key + "\" is not a value of " + decl.by_entity + "." + decl.by_field);
        if (auto s = diag::closest(key, decl.by_def->enum_values)) d.help("did you mean \"" + *s + "\"?");
        ok = false;
        continue;
      }
      auto v = yaml_value(file, entry.second, decl.type, what + " for \"" + key + "\"", sink);
      if (!v || !check_enum_value(decl, *v, file, span_of(entry.second, *file), sink)) {
        ok = false;
        continue;
      }
      target.params.keyed[slot][key] = *v;  // merged key by key over the defaults
    }
    if (ok) target.params.origin[slot] = origin;
    return ok;
  }
  auto v = yaml_value(file, value, decl.type, what, sink);
  if (!v || !check_enum_value(decl, *v, file, span_of(value, *file), sink)) return false;
  target.params.values[slot] = *v;
  target.params.origin[slot] = origin;
  return true;
}

std::vector<std::string> param_names(const dsl::CompiledPack& pack) {
  std::vector<std::string> names;
  for (const auto& p : pack.params) names.push_back(p.name);
  return names;
}

}  // namespace

bool apply_param_block(const std::vector<ConfiguredPack*>& targets, const ParamBlock& block, diag::DiagnosticSink& sink) {
  if (!block.node || block.node.IsNull()) return true;
  if (!block.node.IsMap()) {
    sink.error(Code::YamlSyntax, block.file, span_of(block.node, *block.file), "`params` is a map of parameter names to values");
    return false;
  }
  bool ok = true;
  for (const auto& param : block.node) {
    std::string name = param.first.Scalar();
    bool found = false;
    std::vector<std::string> names;
    for (ConfiguredPack* target : targets) {
      for (const auto& p : target->pack.params) names.push_back(p.name);
      int slot = target->pack.param_slot(name);
      if (slot < 0) continue;
      found = true;
      YAML::Mark mark = param.first.Mark();
      ok = apply_param(*target, slot, block.file, param.second, block.origin + ":" + std::to_string(mark.line + 1), sink) && ok;
    }
    if (!found) {
      auto& d = sink.error(Code::ParamOverrideUnknown, block.file, span_of(param.first, *block.file),
                           "no pack here has a parameter " + quote(name));
      if (auto s = diag::closest(name, names)) d.help("did you mean " + quote(*s) + "?");
      ok = false;
    }
  }
  return ok;
}

namespace {

/// Applies one parsed override file to one pack (see apply_param_file).
bool apply_param_root(ConfiguredPack& target, const diag::SourceFilePtr& file, const YAML::Node& root,
                      const std::string& path, bool only_pack, diag::DiagnosticSink& sink) {
  if (!root.IsMap()) return true;  // an empty file overrides nothing
  bool ok = true;
  if (auto pack = root["pack"]) {
    if (pack.Scalar() != target.pack.name) {
      if (!only_pack) return true;  // meant for another loaded pack
      sink.error(Code::PackMismatch, file, span_of(pack, *file),
                 "this file is for pack " + quote(pack.Scalar()) + ", but the pack is " + quote(target.pack.name))
          .help("set `pack: " + target.pack.name + "` or pass the file with the right pack");
      return false;
    }
  } else if (!only_pack) {
    sink.error(Code::UnknownKey, file, span_of(root, *file), "with several packs, a parameter file must say which pack it is for")
        .help("add `pack: <name>` at the top");
    return false;
  }
  for (const auto& entry : root) {
    std::string key = entry.first.Scalar();
    if (key == "pack") continue;
    if (key == "params") {
      if (!entry.second.IsMap()) {
        if (entry.second.IsNull()) continue;
        sink.error(Code::YamlSyntax, file, span_of(entry.second, *file), "`params` is a map of parameter names to values");
        ok = false;
        continue;
      }
      for (const auto& param : entry.second) {
        std::string name = param.first.Scalar();
        int slot = target.pack.param_slot(name);
        if (slot < 0) {
          auto& d = sink.error(Code::ParamOverrideUnknown, file, span_of(param.first, *file),
                               "pack " + target.pack.name + " has no parameter " + quote(name));
          if (auto s = diag::closest(name, param_names(target.pack))) d.help("did you mean " + quote(*s) + "?");
          ok = false;
          continue;
        }
        YAML::Mark mark = param.first.Mark();
        ok = apply_param(target, slot, file, param.second, path + ":" + std::to_string(mark.line + 1), sink) && ok;
      }
    } else if (key == "rules") {
      if (!entry.second.IsMap()) {
        if (entry.second.IsNull()) continue;
        sink.error(Code::YamlSyntax, file, span_of(entry.second, *file), "`rules` is a map of rule ids to settings");
        ok = false;
        continue;
      }
      for (const auto& rule_entry : entry.second) {
        std::string id = rule_entry.first.Scalar();
        dsl::CompiledRule* rule = nullptr;
        std::vector<std::string> ids;
        for (auto& r : target.pack.rules) {
          ids.push_back(r.id);
          if (r.id == id) rule = &r;
        }
        if (!rule) {
          auto& d = sink.error(Code::UnknownRule, file, span_of(rule_entry.first, *file),
                               "pack " + target.pack.name + " has no rule " + quote(id));
          if (auto s = diag::closest(id, ids)) d.help("did you mean " + quote(*s) + "?");
          ok = false;
          continue;
        }
        if (!rule_entry.second.IsMap()) {
          sink.error(Code::YamlSyntax, file, span_of(rule_entry.second, *file), "rule settings are a map: { enabled: false }");
          ok = false;
          continue;
        }
        for (const auto& setting : rule_entry.second) {
          std::string name = setting.first.Scalar();
          const std::string& value = setting.second.IsScalar() ? setting.second.Scalar() : std::string();
          if (name == "enabled") {
            if (value != "true" && value != "false") {
              sink.error(Code::ParamOverrideType, file, span_of(setting.second, *file), "`enabled` is true or false");
              ok = false;
            } else {
              rule->enabled = value == "true";
            }
          } else if (name == "severity") {
            if (auto s = dsl::parse_severity(value)) {
              rule->severity = *s;
            } else {
              auto& d = sink.error(Code::UnknownSeverity, file, span_of(setting.second, *file), "unknown severity " + quote(value));
              if (auto near = diag::closest(value, {"info", "low", "medium", "high", "critical"})) d.help("did you mean " + quote(*near) + "?");
              ok = false;
            }
          } else {
            auto& d = sink.error(Code::UnknownKey, file, span_of(setting.first, *file), "unknown rule setting " + quote(name));
            if (auto s = diag::closest(name, {"enabled", "severity"})) d.help("did you mean " + quote(*s) + "?");
            else d.help("rule settings: enabled, severity");
            ok = false;
          }
        }
      }
    } else {
      auto& d = sink.error(Code::UnknownKey, file, span_of(entry.first, *file), "unknown key " + quote(key));
      if (auto s = diag::closest(key, {"pack", "params", "rules"})) d.help("did you mean " + quote(*s) + "?");
      else d.help("a parameter file has `pack`, `params` and `rules`");
      ok = false;
    }
  }
  return ok;
}

}  // namespace

bool apply_param_file(std::vector<ConfiguredPack>& packs, const std::string& path, diag::DiagnosticSink& sink) {
  diag::SourceFilePtr file;
  auto root = load_yaml(path, file, sink);  // read and parsed once, whatever the number of packs
  if (!root) return false;
  if (!root->IsMap() && !root->IsNull()) {
    sink.error(Code::YamlSyntax, file, span_of(*root, *file), "a parameter file is a YAML map with `pack`, `params` and `rules`");
    return false;
  }
  bool ok = true;
  for (auto& pack : packs) ok = apply_param_root(pack, file, *root, path, packs.size() == 1, sink) && ok;
  return ok;
}

bool apply_set(std::vector<ConfiguredPack>& packs, const std::string& assignment, diag::DiagnosticSink& sink) {
  auto file = std::make_shared<diag::SourceFile>("--set", assignment);
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    sink.error(Code::BadSetOption, file, {0, static_cast<std::uint32_t>(assignment.size())},
               "--set takes name=value")
        .help("for example --set dunbar_limit=120 or --set tier_weight[strategic]=10");
    return false;
  }
  std::string name = assignment.substr(0, eq);
  std::string key;
  bool keyed = false;
  if (auto open = name.find('['); open != std::string::npos && name.back() == ']') {
    key = name.substr(open + 1, name.size() - open - 2);
    name = name.substr(0, open);
    keyed = true;
  }
  Span value_span{static_cast<std::uint32_t>(eq + 1), static_cast<std::uint32_t>(assignment.size())};
  bool found = false;
  bool ok = true;
  std::vector<std::string> names;
  for (auto& target : packs) {
    int slot = target.pack.param_slot(name);
    for (const auto& p : target.pack.params) names.push_back(p.name);
    if (slot < 0) continue;
    found = true;
    const dsl::ParamDecl& decl = target.pack.params[slot];
    if (keyed && !decl.is_keyed()) {
      sink.error(Code::IndexNotKeyed, file, {0, static_cast<std::uint32_t>(eq)}, quote(name) + " is not keyed by a field");
      ok = false;
      continue;
    }
    if (keyed && decl.by_def && decl.by_def->type == model::FieldType::Enum && !decl.by_def->enum_rank(key)) {
      auto& d = sink.error(Code::ParamOverrideKey, file, {static_cast<std::uint32_t>(name.size() + 1), static_cast<std::uint32_t>(eq - 1)},
                           "\"" + key + "\" is not a value of " + decl.by_entity + "." + decl.by_field);
      if (auto s = diag::closest(key, decl.by_def->enum_values)) d.help("did you mean \"" + *s + "\"?");
      ok = false;
      continue;
    }
    std::optional<dsl::Value> value;
    if (decl.type.kind == dsl::Kind::Text) {
      value = dsl::Value{dsl::Kind::Text, dsl::Unit::None, false, 0, assignment.substr(eq + 1), {}};
    } else {
      value = literal_at(file, value_span, decl.type, "parameter " + quote(name), sink);
    }
    if (!value || !check_enum_value(decl, *value, file, value_span, sink)) {
      ok = false;
      continue;
    }
    if (keyed) target.params.keyed[slot][key] = *value;
    else target.params.values[slot] = *value;
    target.params.origin[slot] = "--set";
  }
  if (!found) {
    auto& d = sink.error(Code::ParamOverrideUnknown, file, {0, static_cast<std::uint32_t>(name.size())},
                         "no loaded pack has a parameter " + quote(name));
    if (auto s = diag::closest(name, names)) d.help("did you mean " + quote(*s) + "?");
    return false;
  }
  return ok;
}

std::string describe_params(const ConfiguredPack& target) {
  std::ostringstream out;
  for (std::size_t i = 0; i < target.pack.params.size(); ++i) {
    const auto& decl = target.pack.params[i];
    out << decl.name << " = " << dsl::format_value(target.params.values[i]);
    if (!target.params.keyed[i].empty()) {
      out << " {";
      bool first = true;
      for (const auto& [key, value] : target.params.keyed[i]) {
        out << (first ? " " : ", ") << key << ": " << dsl::format_value(value);
        first = false;
      }
      out << " }";
    }
    out << "    # " << target.params.origin[i] << "\n";
  }
  return out.str();
}

}  // namespace rapport::packs
