#include "engine/live_deps.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "engine/vector.hpp"

namespace rapport::engine::live {

namespace {

using dsl::Node;
using dsl::Op;
using dsl::Kind;

/// Walks a compiled rule, recording every read with its path. The evaluator binds a row variable
/// per frame level (the subject at 1, the row of a filter or `of` deeper); `frames_` holds the
/// path of each level's rows while the walk is inside that frame.
class Analyser {
 public:
  explicit Analyser(const dsl::CompiledRule& rule) : rule_(rule) {}

  RuleDependencies run() {
    deps_.subject_entity = rule_.subject_entity;
    if (rule_.subject_kind == dsl::SubjectKind::Rows) {
      Path subject{Path::Root::Subject, rule_.subject_entity, {}, {}};
      frames_[1] = subject;
      subject_set(subject);
    } else {
      deps_.value_subjects = true;
      value(rule_.subject);
      frames_[1] = Path{Path::Root::Opaque, rule_.subject_entity, {}, {}};
    }
    lets_.resize(rule_.lets.size());
    for (std::size_t slot = 0; slot < rule_.lets.size(); ++slot) {
      const Node& let = rule_.lets[slot].value;
      if (is_rows(let)) lets_[slot] = rows(let);
      else value(let);
    }
    value(rule_.when);
    for (const auto& escalation : rule_.escalations) value(escalation.condition);
    for (const auto* texts : {&rule_.messages, &rule_.remedies}) {
      for (const auto& text : *texts) {
        if (text.condition) value(*text.condition);
        for (const auto& part : text.parts) {
          if (part.is_expr) value(part.expr);
        }
      }
    }
    return std::move(deps_);
  }

 private:
  static bool is_rows(const Node& node) { return node.type.kind == Kind::Row || node.type.kind == Kind::Set; }

  void read(const std::string& entity, const std::string& field, const Path& path) {
    deps_.reads.push_back({entity, field, path});
  }

  static Path extended(Path path, Step step, const std::string& entity) {
    path.steps.push_back(std::move(step));
    path.entity = entity;
    return path;
  }

  /// The subject set: `for each x in entity [where ...]` is the subject row itself; its filter
  /// reads the subject's fields.
  void subject_set(const Path& subject) {
    const Node& set = rule_.subject;
    read(subject.entity, "", subject);
    if (set.op == Op::EntitySet) return;
    if (set.op != Op::Filter || set.frame_level != 1 || set.args[0].op != Op::EntitySet) {
      rows(set);  // another shape: whatever it reads, it reads for every subject
      return;
    }
    if (!set.join_field.empty()) {
      value(*set.join_outer);
      read(subject.entity, set.join_field, subject);
    }
    if (set.args.size() > 1) value(set.args[1]);
  }

  /// Records the reads of a row- or set-valued node and returns the path of its rows.
  Path rows(const Node& node) {
    switch (node.op) {
      case Op::Var: {
        auto it = frames_.find(node.level);
        return it != frames_.end() ? it->second : opaque(node.type.entity);
      }
      case Op::LetRef: {
        auto slot = static_cast<std::size_t>(node.slot);
        return slot < lets_.size() && lets_[slot] ? *lets_[slot] : opaque(node.type.entity);
      }
      case Op::Navigate: {
        Path from = rows(node.args[0]);
        read(node.entity, node.field, from);
        Path to = extended(std::move(from), {Step::Kind::Forward, node.entity, node.field, {}, {}}, node.type.entity);
        read(to.entity, "", to);
        return to;
      }
      case Op::EntitySet: {
        Path all{Path::Root::AllRows, node.entity, {}, {}};
        read(node.entity, "", all);
        return all;
      }
      case Op::Filter: return filter(node);
      default:
        for (const auto& arg : node.args) value(arg);
        return opaque(node.type.entity);
    }
  }

  Path filter(const Node& node) {
    const std::string& entity = node.entity;
    Path elements;
    if (!node.join_field.empty()) {
      const Node& outer = *node.join_outer;
      if (node.join_by_row) {
        // `field = x.id`: the rows linking to x.
        elements = extended(rows(outer.args[0]), {Step::Kind::Backward, entity, node.join_field, {}, {}}, entity);
      } else if (outer.op == Op::Field && !outer.args.empty() && is_rows(outer.args[0])) {
        // `field = x.other`: the rows whose key equals a field of x.
        Path from = rows(outer.args[0]);
        if (outer.field != "id") read(outer.entity, outer.field, from);
        elements = extended(std::move(from), {Step::Kind::KeyEq, entity, node.join_field, outer.entity, outer.field},
                            entity);
      } else {
        // A key that is not a field of a row (a constant, a value subject): the rows of the whole
        // table that have it.
        value(outer);
        elements = Path{outer.level == 0 ? Path::Root::AllRows : Path::Root::Opaque, entity, {}, {}};
      }
      read(entity, node.join_field, elements);
      read(entity, "", elements);
    } else {
      elements = rows(node.args[0]);
    }
    if (node.args.size() > 1) in_frame(node.frame_level, elements, node.args[1]);
    return elements;
  }

  /// Records the reads of `node` evaluated with the rows of `path` bound at `level`.
  void in_frame(int level, const Path& path, const Node& node) {
    std::optional<Path> saved;
    if (auto it = frames_.find(level); it != frames_.end()) saved = it->second;
    frames_[level] = path;
    value(node);
    if (saved) frames_[level] = *saved;
    else frames_.erase(level);
  }

  /// Records the reads of a node of any type.
  void value(const Node& node) {
    switch (node.op) {
      case Op::Var:
      case Op::LetRef:
      case Op::Navigate:
      case Op::EntitySet:
      case Op::Filter:
        if (is_rows(node)) rows(node);
        return;
      case Op::Field: {
        Path from = rows(node.args[0]);
        if (node.field != "id") read(node.entity, node.field, from);
        return;
      }
      case Op::Of: {
        Path elements = rows(node.args[0]);
        in_frame(node.frame_level, elements, node.args[1]);
        return;
      }
      default:
        for (const auto& arg : node.args) value(arg);
        if (node.join_outer) value(*node.join_outer);
        return;
    }
  }

  static Path opaque(const std::string& entity) { return Path{Path::Root::Opaque, entity, {}, {}}; }

  const dsl::CompiledRule& rule_;
  RuleDependencies deps_;
  std::map<int, Path> frames_;
  std::vector<std::optional<Path>> lets_;
};

std::string describe_path(const Path& path) {
  std::string out;
  switch (path.root) {
    case Path::Root::Subject: out = "subject"; break;
    case Path::Root::AllRows: out = "all " + path.entity; break;
    case Path::Root::Opaque: out = "opaque " + path.entity; break;
  }
  for (const auto& step : path.steps) {
    switch (step.kind) {
      case Step::Kind::Forward: out += " > " + step.entity + "." + step.field; break;
      case Step::Kind::Backward: out += " < " + step.entity + "." + step.field; break;
      case Step::Kind::KeyEq: out += " = " + step.entity + "." + step.field + "~" + step.key_entity + "." + step.key_field; break;
    }
  }
  return out;
}

}  // namespace

RuleDependencies analyse(const dsl::CompiledRule& rule) {
  RuleDependencies deps = Analyser(rule).run();
  std::vector<Read> unique;
  for (Read& read : deps.reads) {
    read.path.key = describe_path(read.path);
    bool seen = std::any_of(unique.begin(), unique.end(), [&](const Read& other) {
      return other.entity == read.entity && other.field == read.field && other.path.key == read.path.key;
    });
    if (!seen) unique.push_back(std::move(read));
  }
  deps.reads = std::move(unique);
  return deps;
}

Reach reach(const RuleDependencies& deps, const std::string& entity, const std::vector<std::string>& fields,
            bool whole_row, std::vector<const Path*>& paths) {
  paths.clear();
  for (const Read& read : deps.reads) {
    if (read.entity != entity) continue;
    if (!whole_row && (read.field.empty() || std::find(fields.begin(), fields.end(), read.field) == fields.end())) continue;
    if (deps.value_subjects || read.path.root != Path::Root::Subject) return Reach::All;
    bool seen = std::any_of(paths.begin(), paths.end(), [&](const Path* p) { return p->key == read.path.key; });
    if (!seen) paths.push_back(&read.path);
  }
  return paths.empty() ? Reach::None : Reach::Subjects;
}

std::string describe(const RuleDependencies& deps) {
  std::string out;
  for (const Read& read : deps.reads) {
    out += read.entity + "." + (read.field.empty() ? "*" : read.field) + " <- " + describe_path(read.path) + "\n";
  }
  return out;
}

}  // namespace rapport::engine::live
