#include "engine/live.hpp"

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "diag/suggest.hpp"
#include "engine/evaluator.hpp"
#include "engine/live_deps.hpp"
#include "engine/load/internal.hpp"

namespace rapport::engine {

bool ChangeEffect::ok() const {
  return std::none_of(problems.begin(), problems.end(),
                      [](const diag::Diagnostic& d) { return d.severity == diag::Severity::Error; });
}

namespace {

using model::FieldType;
using model::kMissingStr;
using model::kNoRow;
using model::StrId;

// ---------------------------------------------------------------------------------------------
// Checking changes

/// A field value converted to its column's type.
struct FieldValue {
  bool missing = true;
  double number = 0;                // Number, Bool, Timestamp, Date
  std::string text;                 // Text, Enum, Ref
  std::vector<std::string> items;   // TextList
};

struct CheckedField {
  std::string name;
  const model::FieldDef* def = nullptr;
  FieldValue value;
};

struct CheckedChange {
  RecordChange::Kind kind = RecordChange::Kind::Upsert;
  std::string entity;
  std::string id;
  std::vector<CheckedField> fields;
};

/// How a JSON value appears in a type error, as the loader writes it.
std::string got_text(const boost::json::value& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "a list";
  return load::detail::display_text(boost::json::serialize(value));
}

bool empty_string(const boost::json::value& value) { return value.is_string() && value.get_string().empty(); }

/// Converts `json` for a field of type `def.type` with the loader's rules (an empty string is a
/// missing value except for text; timestamps and dates as the loader parses them). On a wrong
/// type returns false with `got` describing what was there.
bool convert(const boost::json::value& json, const model::FieldDef& def, FieldValue& out, std::string& got) {
  namespace detail = load::detail;
  out = FieldValue{};
  if (json.is_null()) return true;
  got = got_text(json);
  switch (def.type) {
    case FieldType::Number:
      if (empty_string(json)) return true;
      if (!json.is_number()) return false;
      out.number = json.to_number<double>();
      break;
    case FieldType::Bool:
      if (empty_string(json)) return true;
      if (!json.is_bool()) return false;
      out.number = json.get_bool() ? 1.0 : 0.0;
      break;
    case FieldType::Timestamp:
    case FieldType::Date: {
      if (!json.is_string()) return false;
      std::string_view text = json.get_string();
      if (text.empty()) return true;
      bool ok = def.type == FieldType::Timestamp ? detail::parse_timestamp_value(text, out.number)
                                                 : detail::parse_date_value(text, out.number);
      if (!ok) return false;
      break;
    }
    case FieldType::Text:
    case FieldType::Enum:
    case FieldType::Ref:
      if (json.is_string()) {
        out.text = json.get_string();
      } else if (json.is_int64() || json.is_uint64()) {
        out.text = boost::json::serialize(json);  // numeric ids are ids too
      } else {
        return false;
      }
      if (out.text.empty() && def.type != FieldType::Text) return true;
      break;
    case FieldType::TextList:
      if (!json.is_array()) return false;
      for (const auto& item : json.get_array()) {
        if (!item.is_string()) {
          got = "a list containing " + got_text(item);
          return false;
        }
        out.items.emplace_back(item.get_string());
      }
      break;
  }
  out.missing = false;
  return true;
}

/// The live row of `id` in `table`, or kNoRow (unknown or deleted).
std::int32_t row_of(const model::Dataset& data, const model::Table& table, std::string_view id) {
  StrId s = data.strings.find(id);
  if (s == kMissingStr) return kNoRow;
  std::int32_t row = table.find_row(s);
  return row == kNoRow || table.is_deleted(static_cast<std::size_t>(row)) ? kNoRow : row;
}

diag::Diagnostic& problem(std::vector<diag::Diagnostic>& problems, diag::Severity severity, diag::Code code,
                          std::size_t index, const std::string& field, std::string message) {
  diag::Diagnostic d;
  d.severity = severity;
  d.code = code;
  d.where = "changes[" + std::to_string(index) + "]" + (field.empty() ? "" : ".fields." + field);
  d.message = "change " + std::to_string(index) + ": " + std::move(message);
  problems.push_back(std::move(d));
  return problems.back();
}

/// Checks `changes` against the data's schema; the ones without errors, converted.
std::vector<CheckedChange> check_changes(const model::Dataset& data, const std::vector<RecordChange>& changes,
                                         std::vector<diag::Diagnostic>& problems) {
  using diag::Code;
  using diag::Severity;
  std::vector<CheckedChange> checked;
  std::map<std::string, std::set<std::string>, std::less<>> created, deleted;  // earlier in this change set
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const RecordChange& change = changes[i];
    const model::EntityDef* def = data.schema.entity(change.entity);
    if (!def) {
      auto& d = problem(problems, Severity::Error, Code::LiveUnknownEntity, i, "", "unknown entity `" + change.entity + "`");
      if (auto near = diag::closest(change.entity, data.schema.entity_names())) d.help("did you mean `" + *near + "`?");
      continue;
    }
    if (change.id.empty()) {
      problem(problems, Severity::Error, Code::LiveMalformedChange, i, "", "a change to " + change.entity + " needs the record's id");
      continue;
    }
    const model::Table* table = data.table(change.entity);
    bool exists = (table && row_of(data, *table, change.id) != kNoRow && !deleted[change.entity].count(change.id)) ||
                  created[change.entity].count(change.id) > 0;
    CheckedChange out{change.kind, change.entity, change.id, {}};
    if (change.kind == RecordChange::Kind::Delete) {
      if (!exists) {
        problem(problems, Severity::Error, Code::LiveUnknownId, i, "", change.entity + " has no record `" + change.id + "` to delete");
        continue;
      }
      deleted[change.entity].insert(change.id);
      created[change.entity].erase(change.id);
      checked.push_back(std::move(out));
      continue;
    }
    bool ok = true;
    for (const auto& [key, json] : change.fields) {
      std::string name(key);
      if (name == "id") {
        if (!(json.is_string() && json.get_string() == change.id)) {
          problem(problems, Severity::Error, Code::LiveMalformedChange, i, name,
                  change.entity + ".id: a record's id can't change (delete the record and create another)");
          ok = false;
        }
        continue;
      }
      const model::FieldDef* field = def->field(name);
      if (!field) {
        auto& d = problem(problems, Severity::Error, Code::LiveUnknownField, i, name,
                          change.entity + " has no field `" + name + "`");
        if (auto near = diag::closest(name, def->field_names())) d.help("did you mean `" + *near + "`?");
        ok = false;
        continue;
      }
      CheckedField checked_field{name, field, {}};
      std::string got;
      if (!convert(json, *field, checked_field.value, got)) {
        problem(problems, Severity::Error, Code::LiveWrongType, i, name, load::detail::type_error_message(change.entity, *field, got))
            .help(std::string(load::detail::type_help(field->type)));
        ok = false;
        continue;
      }
      if (field->type == FieldType::Enum && !field->enum_values.empty() && !checked_field.value.missing &&
          !field->enum_rank(checked_field.value.text)) {
        std::string values;
        for (const auto& v : field->enum_values) values += (values.empty() ? "" : ", ") + v;
        problem(problems, Severity::Warning, Code::LiveBadEnumValue, i, name,
                change.entity + "." + name + ": \"" + load::detail::display_text(checked_field.value.text) +
                    "\" is not one of " + values);
      }
      out.fields.push_back(std::move(checked_field));
    }
    if (!ok) continue;
    if (!exists) created[change.entity].insert(change.id);
    checked.push_back(std::move(out));
  }
  for (auto& d : problems) {
    if (d.helps.size() == 1 && d.helps.front().empty()) d.helps.clear();
  }
  return checked;
}

// ---------------------------------------------------------------------------------------------
// Applying changes in place

/// Applies checked changes to a dataset in place. With `undo`, every edit is recorded so that
/// running the undo steps backwards gives the data back; `sessions` are told of each edit so the
/// indexes they keep follow it. Deleted rows are marked (model::Table::deleted) and lists are
/// replaced through Column::list_overrides: no other row moves, so row numbers, indexes and
/// run-level values of unchanged data stay valid. settle() makes both permanent for a new snapshot.
class Applier {
 public:
  Applier(model::Dataset& data, std::vector<SubjectEvaluator*> sessions, std::vector<std::function<void()>>* undo)
      : data_(data), sessions_(std::move(sessions)), undo_(undo) {}

  /// Applies one change; returns the row it concerns (kNoRow when its entity is not loaded).
  std::int32_t apply(const CheckedChange& change) {
    model::Table* table = data_.table_mut(change.entity);
    if (!table) return kNoRow;  // no rule reads this entity
    std::int32_t row = row_of(data_, *table, change.id);
    if (change.kind == RecordChange::Kind::Delete) {
      remove(*table, row);
      return row;
    }
    if (row == kNoRow) row = add(*table, change.id);
    for (const auto& field : change.fields) {
      if (model::Column* column = table->column_mut(field.name)) set(*table, *column, row, field.value);
    }
    return row;
  }

 private:
  void on_undo(std::function<void()> step) {
    if (undo_) undo_->push_back(std::move(step));
  }

  /// Rows of `entity` whose link `field` points at `target` (or, with kNoRow, names `id` but
  /// points at nothing).
  std::vector<std::int32_t> linking(const std::string& entity, const model::Column& column, std::int32_t target,
                                    StrId id) {
    std::vector<std::int32_t> rows;
    if (!sessions_.empty() && target != kNoRow) {
      auto found = sessions_.front()->rows_linking_to(entity, column.def.name, target);
      return {found.begin(), found.end()};
    }
    for (std::size_t r = 0; r < column.rows.size(); ++r) {
      if (column.rows[r] == target && column.strings[r] == id) rows.push_back(static_cast<std::int32_t>(r));
    }
    return rows;
  }

  /// Every link column pointing at `entity`.
  std::vector<std::pair<model::Table*, model::Column*>> links_to(const std::string& entity) {
    std::vector<std::pair<model::Table*, model::Column*>> out;
    for (auto& [name, table] : data_.tables) {
      for (auto& [field, column] : table.columns) {
        if (column.def.type == FieldType::Ref && column.def.ref_entity == entity) out.emplace_back(&table, &column);
      }
    }
    return out;
  }

  void relink(model::Table& table, model::Column& column, std::int32_t row, std::int32_t target) {
    auto r = static_cast<std::size_t>(row);
    std::int32_t before = column.rows[r];
    if (before == target) return;
    for (auto* s : sessions_) s->row_changed(table.entity, column.def.name, row, column.strings[r], column.strings[r], before, target);
    column.rows[r] = target;
    on_undo([&column, r, before] { column.rows[r] = before; });
  }

  std::int32_t add(model::Table& table, const std::string& id) {
    bool known = data_.strings.find(id) != kMissingStr;  // a new id can't be named by a link yet
    StrId sid = data_.strings.intern(id);
    std::size_t size = table.size();
    std::int32_t row = table.append_row(sid);
    on_undo([&table, size] { table.truncate(size); });
    for (auto* s : sessions_) s->row_added(table.entity, row);
    if (known) {
      // Links that named this id before it existed now lead to it.
      for (auto [from, column] : links_to(table.entity)) {
        for (std::int32_t r : linking(from->entity, *column, kNoRow, sid)) relink(*from, *column, r, row);
      }
    }
    return row;
  }

  void remove(model::Table& table, std::int32_t row) {
    for (auto* s : sessions_) s->row_deleted(table.entity, row);
    // Links to the row lead nowhere now (their text stays: a dangling reference, as in loaded data).
    for (auto [from, column] : links_to(table.entity)) {
      for (std::int32_t r : linking(from->entity, *column, row, kMissingStr)) relink(*from, *column, r, kNoRow);
    }
    bool none_before = table.deleted.empty();
    if (none_before) table.deleted.assign(table.size(), 0);
    table.deleted[static_cast<std::size_t>(row)] = 1;
    on_undo([&table, row, none_before] {
      if (none_before) table.deleted.clear();
      else table.deleted[static_cast<std::size_t>(row)] = 0;
    });
  }

  void set(model::Table& table, model::Column& column, std::int32_t row, const FieldValue& value) {
    auto r = static_cast<std::size_t>(row);
    const std::string& name = column.def.name;
    switch (column.def.type) {
      case FieldType::Number:
      case FieldType::Bool:
      case FieldType::Timestamp:
      case FieldType::Date: {
        double before = column.numbers[r];
        column.numbers[r] = value.missing ? model::kMissingNumber : value.number;
        on_undo([&column, r, before] { column.numbers[r] = before; });
        break;
      }
      case FieldType::Text:
      case FieldType::Enum:
      case FieldType::Ref: {
        StrId before = column.strings[r];
        StrId after = value.missing ? kMissingStr : data_.strings.intern(value.text);
        std::int32_t target_before = kNoRow, target_after = kNoRow;
        if (column.def.type == FieldType::Ref) {
          target_before = column.rows[r];
          const model::Table* target = data_.table(column.def.ref_entity);
          target_after = target && !value.missing ? row_of(data_, *target, value.text) : kNoRow;
        }
        for (auto* s : sessions_) s->row_changed(table.entity, name, row, before, after, target_before, target_after);
        column.strings[r] = after;
        if (column.def.type == FieldType::Ref) column.rows[r] = target_after;
        on_undo([&column, r, before, target_before] {
          column.strings[r] = before;
          if (column.def.type == FieldType::Ref) column.rows[r] = target_before;
        });
        break;
      }
      case FieldType::TextList: {
        std::optional<std::vector<StrId>> before;
        if (auto it = column.list_overrides.find(row); it != column.list_overrides.end()) before = it->second;
        std::uint8_t present_before = column.list_present[r];
        std::vector<StrId> items;
        for (const auto& item : value.items) items.push_back(data_.strings.intern(item));
        column.list_overrides[row] = std::move(items);
        column.list_present[r] = value.missing ? 0 : 1;
        on_undo([&column, row, before, present_before] {
          if (before) column.list_overrides[row] = *before;
          else column.list_overrides.erase(row);
          column.list_present[static_cast<std::size_t>(row)] = present_before;
        });
        break;
      }
    }
  }

  model::Dataset& data_;
  std::vector<SubjectEvaluator*> sessions_;
  std::vector<std::function<void()>>* undo_;
};

/// Makes in-place edits permanent: list overrides written into the compressed lists, deleted
/// rows removed (the rows after them move up; links are renumbered).
void settle(model::Dataset& data) {
  for (auto& [entity, table] : data.tables) {
    for (auto& [name, column] : table.columns) {
      if (column.def.type != FieldType::TextList || column.list_overrides.empty()) continue;
      std::vector<std::uint32_t> offsets{0};
      std::vector<StrId> items, scratch;
      for (std::size_t r = 0; r < table.size(); ++r) {
        auto list = column.list_at(r, scratch);
        items.insert(items.end(), list.begin(), list.end());
        offsets.push_back(static_cast<std::uint32_t>(items.size()));
      }
      column.list_offsets = std::move(offsets);
      column.list_items = std::move(items);
      column.list_overrides.clear();
      column.code_width = 0;  // the items are plain again
      std::vector<std::uint8_t>().swap(column.codes8);
      std::vector<std::uint16_t>().swap(column.codes16);
      std::vector<StrId>().swap(column.dictionary);
    }
  }
  std::map<std::string, std::vector<std::int32_t>> renumbered;  // entity -> new row of each old row
  for (auto& [entity, table] : data.tables) {
    if (std::none_of(table.deleted.begin(), table.deleted.end(), [](std::uint8_t d) { return d != 0; })) {
      table.deleted.clear();
      continue;
    }
    std::vector<std::int32_t> kept;
    auto& map = renumbered[entity];
    map.assign(table.size(), kNoRow);
    for (std::size_t r = 0; r < table.size(); ++r) {
      if (table.is_deleted(r)) continue;
      map[r] = static_cast<std::int32_t>(kept.size());
      kept.push_back(static_cast<std::int32_t>(r));
    }
    model::Table out;
    out.entity = table.entity;
    out.source_path = table.source_path;
    for (std::int32_t r : kept) {
      out.ids.push_back(table.ids[static_cast<std::size_t>(r)]);
      out.source_lines.push_back(table.source_lines[static_cast<std::size_t>(r)]);
    }
    for (auto& [name, column] : table.columns) {
      model::Column copy;
      copy.reset(column.def);
      std::vector<StrId> scratch;
      for (std::int32_t row : kept) {
        auto r = static_cast<std::size_t>(row);
        if (!column.numbers.empty()) copy.numbers.push_back(column.numbers[r]);
        if (!column.strings.empty()) copy.strings.push_back(column.strings[r]);
        if (!column.rows.empty()) copy.rows.push_back(column.rows[r]);
        if (column.def.type == FieldType::TextList) {
          auto list = column.list_at(r, scratch);
          copy.list_items.insert(copy.list_items.end(), list.begin(), list.end());
          copy.list_offsets.push_back(static_cast<std::uint32_t>(copy.list_items.size()));
          copy.list_present.push_back(column.list_present[r]);
        }
      }
      out.columns.emplace(name, std::move(copy));
    }
    table = std::move(out);
  }
  if (renumbered.empty()) return;
  for (auto& [entity, table] : data.tables) {
    for (auto& [name, column] : table.columns) {
      auto it = column.def.type == FieldType::Ref ? renumbered.find(column.def.ref_entity) : renumbered.end();
      if (it == renumbered.end()) continue;
      for (auto& target : column.rows) target = target == kNoRow ? kNoRow : it->second[static_cast<std::size_t>(target)];
    }
  }
}

std::string finding_key(std::string_view pack, std::string_view rule, std::string_view subject) {
  std::string key;
  key.reserve(pack.size() + rule.size() + subject.size() + 2);
  key.append(pack).append(1, '\x1f').append(rule).append(1, '\x1f').append(subject);
  return key;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The snapshot

namespace {

/// One enabled rule with what its evaluation depends on.
struct LiveRule {
  std::size_t pack = 0;
  const dsl::CompiledRule* rule = nullptr;
  live::RuleDependencies deps;
};

/// A private copy of the snapshot's data for one what_if at a time: changes are applied to it,
/// the affected subjects evaluated, and the changes undone. Why a copy and not an overlay of
/// changed values: the evaluator reads columns directly (column-at-a-time), so an overlay would
/// have to be consulted on every read of every column; a copy costs memory once per concurrent
/// caller (bounded: at most one per hardware thread), and applying and undoing a typical change is
/// a handful of writes. The evaluators kept here hold the indexes filters use and each rule's
/// run-level values, so a what_if does not rebuild them.
struct Scratch {
  model::Dataset data;
  std::vector<std::unique_ptr<SubjectEvaluator>> sessions;  // per pack
  std::unique_ptr<SubjectEvaluator> lookup;                 // indexes for mapping rows to subjects
};

}  // namespace

struct LiveSnapshot::State {
  std::vector<packs::ConfiguredPack> packs;
  std::unique_ptr<model::Dataset> data;
  double as_of = 0;
  std::vector<Finding> findings;
  std::vector<RuleSummary> rules;
  std::vector<LiveRule> live_rules;
  std::unordered_map<std::string, std::size_t> finding_at;  // finding_key -> index in findings
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> findings_of_rule;
  dsl::CompiledPack no_pack;  // the lookup evaluator's (it evaluates no rule)
  dsl::ParamValues no_params;

  std::mutex mutex;
  std::condition_variable idle_changed;
  std::vector<std::unique_ptr<Scratch>> idle;
  std::size_t scratches = 0;
  std::size_t max_scratches = std::max(2u, std::thread::hardware_concurrency());

  void index_findings();
  std::unique_ptr<Scratch> make_scratch();
  std::unique_ptr<Scratch> take_scratch();
  void give_back(std::unique_ptr<Scratch> scratch);
  /// Applies `changes` to the scratch copy, evaluates what they can affect, undoes them.
  ChangeEffect effect(const std::vector<CheckedChange>& changes, Scratch& scratch);
};

void LiveSnapshot::State::index_findings() {
  finding_at.clear();
  findings_of_rule.clear();
  finding_at.reserve(findings.size());
  for (std::size_t i = 0; i < findings.size(); ++i) {
    const Finding& f = findings[i];
    finding_at.emplace(finding_key(f.pack, f.rule, f.subject_id), i);
    findings_of_rule[{f.pack, f.rule}].push_back(i);
  }
}

std::unique_ptr<Scratch> LiveSnapshot::State::make_scratch() {
  auto scratch = std::make_unique<Scratch>();
  model::copy_dataset(*data, scratch->data);
  for (const auto& configured : packs) {
    scratch->sessions.push_back(
        std::make_unique<SubjectEvaluator>(configured.pack, configured.params, scratch->data, as_of));
  }
  scratch->lookup = std::make_unique<SubjectEvaluator>(no_pack, no_params, scratch->data, as_of);
  for (const auto& live_rule : live_rules) {
    scratch->sessions[live_rule.pack]->prepare(*live_rule.rule);
    for (const auto& read : live_rule.deps.reads) {
      for (const auto& step : read.path.steps) {
        if (step.kind == live::Step::Kind::Forward) scratch->lookup->rows_linking_to(step.entity, step.field, kNoRow);
        if (step.kind == live::Step::Kind::KeyEq) scratch->lookup->rows_with_key(step.key_entity, step.key_field, kMissingStr);
      }
    }
  }
  return scratch;
}

std::unique_ptr<Scratch> LiveSnapshot::State::take_scratch() {
  std::unique_lock lock(mutex);
  idle_changed.wait(lock, [&] { return !idle.empty() || scratches < max_scratches; });
  if (!idle.empty()) {
    auto scratch = std::move(idle.back());
    idle.pop_back();
    return scratch;
  }
  ++scratches;
  lock.unlock();
  return make_scratch();  // outside the lock: copying the data takes a while
}

void LiveSnapshot::State::give_back(std::unique_ptr<Scratch> scratch) {
  {
    std::lock_guard lock(mutex);
    idle.push_back(std::move(scratch));
  }
  idle_changed.notify_one();
}

namespace {

/// Maps rows of `path.entity` back along `path` to the subject rows that reach them.
void subjects_reaching(const live::Path& path, std::vector<std::int32_t> rows, const model::Dataset& data,
                       SubjectEvaluator& lookup, std::vector<std::int32_t>& subjects) {
  for (auto step = path.steps.rbegin(); step != path.steps.rend() && !rows.empty(); ++step) {
    std::vector<std::int32_t> previous;
    switch (step->kind) {
      case live::Step::Kind::Forward:  // rows are targets of step->entity.field
        for (std::int32_t r : rows) {
          auto from = lookup.rows_linking_to(step->entity, step->field, r);
          previous.insert(previous.end(), from.begin(), from.end());
        }
        break;
      case live::Step::Kind::Backward: {  // rows are rows of step->entity linking to the previous rows
        const model::Column* column = data.table(step->entity)->column(step->field);
        for (std::int32_t r : rows) {
          if (column && column->rows[static_cast<std::size_t>(r)] != kNoRow) previous.push_back(column->rows[static_cast<std::size_t>(r)]);
        }
        break;
      }
      case live::Step::Kind::KeyEq: {  // rows are rows of step->entity whose field equals key_entity.key_field
        const model::Table* table = data.table(step->entity);
        const model::Column* column = step->field == "id" ? nullptr : table->column(step->field);
        for (std::int32_t r : rows) {
          auto at = static_cast<std::size_t>(r);
          StrId key = step->field == "id" ? table->ids[at] : column ? column->strings[at] : kMissingStr;
          auto from = lookup.rows_with_key(step->key_entity, step->key_field, key);
          previous.insert(previous.end(), from.begin(), from.end());
        }
        break;
      }
    }
    std::sort(previous.begin(), previous.end());
    previous.erase(std::unique(previous.begin(), previous.end()), previous.end());
    rows = std::move(previous);
  }
  subjects.insert(subjects.end(), rows.begin(), rows.end());
}

/// One change as the dependency analysis sees it.
struct Touch {
  std::string entity;
  std::vector<std::string> fields;
  bool whole_row = false;  // added or deleted
  std::int32_t row_before = kNoRow;
  std::int32_t row_after = kNoRow;
};

/// Findings before and after for one rule, compared by subject.
void compare(std::vector<const Finding*> before, std::vector<Finding> after, ChangeEffect& effect) {
  std::unordered_map<std::string_view, const Finding*> old;
  for (const Finding* f : before) old.emplace(f->subject_id, f);
  for (auto& f : after) {
    auto it = old.find(f.subject_id);
    if (it == old.end()) {
      effect.created.push_back(std::move(f));
      continue;
    }
    bool same = it->second->severity == f.severity && it->second->message == f.message;
    old.erase(it);
    if (!same) effect.changed.push_back(std::move(f));
  }
  for (const Finding* f : before) {
    if (old.count(f->subject_id)) effect.resolved.push_back(*f);
  }
}

}  // namespace

ChangeEffect LiveSnapshot::State::effect(const std::vector<CheckedChange>& changes, Scratch& scratch) {
  ChangeEffect effect;
  model::Dataset& work = scratch.data;
  // What each change touches, as the rows are before the changes.
  std::vector<Touch> touches;
  std::map<std::pair<std::string, std::string>, std::size_t> touch_of;  // (entity, id) -> touch
  for (const auto& change : changes) {
    const model::Table* table = work.table(change.entity);
    if (!table) continue;
    auto key = std::make_pair(change.entity, change.id);
    auto [it, added] = touch_of.try_emplace(key, touches.size());
    if (added) {
      Touch touch;
      touch.entity = change.entity;
      touch.row_before = row_of(work, *table, change.id);
      touch.whole_row = touch.row_before == kNoRow;
      touches.push_back(touch);
    }
    Touch& touch = touches[it->second];
    if (change.kind == RecordChange::Kind::Delete) touch.whole_row = true;
    for (const auto& field : change.fields) touch.fields.push_back(field.name);
  }

  // Per rule: evaluated in full, or the subjects the touched rows reach before and after.
  std::vector<bool> full(live_rules.size(), false);
  std::vector<std::vector<std::int32_t>> subjects(live_rules.size());
  std::vector<std::vector<std::pair<std::size_t, std::vector<const live::Path*>>>> paths(live_rules.size());
  for (std::size_t k = 0; k < live_rules.size(); ++k) {
    for (std::size_t t = 0; t < touches.size(); ++t) {
      std::vector<const live::Path*> reached;
      live::Reach reach = live::reach(live_rules[k].deps, touches[t].entity, touches[t].fields, touches[t].whole_row, reached);
      if (reach == live::Reach::All) full[k] = true;
      if (reach == live::Reach::Subjects) paths[k].emplace_back(t, std::move(reached));
    }
  }
  auto map_back = [&](bool after) {
    for (std::size_t k = 0; k < live_rules.size(); ++k) {
      if (full[k]) continue;
      for (const auto& [t, reached] : paths[k]) {
        std::int32_t row = after ? touches[t].row_after : touches[t].row_before;
        if (row == kNoRow) continue;
        for (const live::Path* path : reached) subjects_reaching(*path, {row}, work, *scratch.lookup, subjects[k]);
      }
    }
  };
  map_back(false);

  std::vector<std::function<void()>> undo;
  std::vector<SubjectEvaluator*> told{scratch.lookup.get()};
  for (auto& session : scratch.sessions) told.push_back(session.get());
  Applier applier(work, told, &undo);
  for (const auto& change : changes) applier.apply(change);
  for (auto& touch : touches) {
    const model::Table* table = work.table(touch.entity);
    auto it = std::find_if(touch_of.begin(), touch_of.end(), [&](const auto& e) { return &touches[e.second] == &touch; });
    touch.row_after = row_of(work, *table, it->first.second);
  }
  map_back(true);

  for (std::size_t k = 0; k < live_rules.size(); ++k) {
    const LiveRule& live_rule = live_rules[k];
    const packs::ConfiguredPack& configured = packs[live_rule.pack];
    const dsl::CompiledRule& rule = *live_rule.rule;
    std::vector<const Finding*> before;
    std::vector<Finding> after;
    if (full[k]) {
      EvalOptions options;
      options.as_of = as_of;
      options.only_rules = {rule.id};
      EvalResult result = evaluate(configured.pack, configured.params, work, options);
      for (const auto& summary : result.rules) effect.subjects_evaluated += summary.subjects;
      if (auto it = findings_of_rule.find({configured.pack.name, rule.id}); it != findings_of_rule.end()) {
        for (std::size_t i : it->second) before.push_back(&findings[i]);
      }
      after = std::move(result.findings);
    } else {
      auto& rows = subjects[k];
      if (rows.empty()) continue;
      std::sort(rows.begin(), rows.end());
      rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
      const model::Table* table = work.table(rule.subject_entity);
      for (std::int32_t r : rows) {
        auto it = finding_at.find(finding_key(configured.pack.name, rule.id, work.strings.view(table->ids[static_cast<std::size_t>(r)])));
        if (it != finding_at.end()) before.push_back(&findings[it->second]);
      }
      std::erase_if(rows, [&](std::int32_t r) { return table->is_deleted(static_cast<std::size_t>(r)); });
      RuleSummary summary;
      scratch.sessions[live_rule.pack]->evaluate_rows(rule, rows, after, summary);
      effect.subjects_evaluated += rows.size();
    }
    compare(std::move(before), std::move(after), effect);
  }

  for (auto step = undo.rbegin(); step != undo.rend(); ++step) (*step)();
  for (auto* session : told) session->changes_reverted();
  sort_findings(effect.created);
  sort_findings(effect.resolved);
  sort_findings(effect.changed);
  return effect;
}

LiveSnapshot::LiveSnapshot() : state_(std::make_unique<State>()) {}
LiveSnapshot::~LiveSnapshot() = default;

std::shared_ptr<const LiveSnapshot> LiveSnapshot::build(std::vector<packs::ConfiguredPack> packs, model::Dataset data,
                                                        double as_of) {
  std::shared_ptr<LiveSnapshot> snapshot(new LiveSnapshot());
  State& s = *snapshot->state_;
  s.packs = std::move(packs);
  s.data = std::make_unique<model::Dataset>(std::move(data));
  s.as_of = as_of;
  for (const auto& [entity, table] : s.data->tables) (void)table.id_rows();  // built now: read by many threads later
  EvalOptions options;
  options.as_of = as_of;
  for (std::size_t p = 0; p < s.packs.size(); ++p) {
    const auto& configured = s.packs[p];
    EvalResult result = evaluate(configured.pack, configured.params, *s.data, options);
    s.findings.insert(s.findings.end(), std::make_move_iterator(result.findings.begin()),
                      std::make_move_iterator(result.findings.end()));
    s.rules.insert(s.rules.end(), result.rules.begin(), result.rules.end());
    for (const auto& rule : configured.pack.rules) {
      if (rule.enabled) s.live_rules.push_back({p, &rule, live::analyse(rule)});
    }
  }
  sort_findings(s.findings);
  s.index_findings();
  return snapshot;
}

const std::vector<Finding>& LiveSnapshot::findings() const { return state_->findings; }
const std::vector<RuleSummary>& LiveSnapshot::rules() const { return state_->rules; }
const model::Dataset& LiveSnapshot::data() const { return *state_->data; }
const std::vector<packs::ConfiguredPack>& LiveSnapshot::packs() const { return state_->packs; }
double LiveSnapshot::as_of() const { return state_->as_of; }

ChangeEffect LiveSnapshot::what_if(const std::vector<RecordChange>& changes) const {
  ChangeEffect effect;
  std::vector<CheckedChange> checked = check_changes(*state_->data, changes, effect.problems);
  if (!effect.ok()) return effect;
  std::unique_ptr<Scratch> scratch = state_->take_scratch();
  ChangeEffect result = state_->effect(checked, *scratch);
  state_->give_back(std::move(scratch));
  result.problems = std::move(effect.problems);
  return result;
}

std::shared_ptr<const LiveSnapshot> LiveSnapshot::with_changes(const std::vector<RecordChange>& changes,
                                                               ChangeEffect& effect) const {
  effect = ChangeEffect{};
  std::vector<CheckedChange> checked = check_changes(*state_->data, changes, effect.problems);
  if (!effect.ok()) return nullptr;
  const State& s = *state_;
  std::unique_ptr<Scratch> scratch = state_->take_scratch();
  ChangeEffect computed = state_->effect(checked, *scratch);
  state_->give_back(std::move(scratch));
  computed.problems = std::move(effect.problems);
  effect = std::move(computed);

  // The new data: a copy with the changes applied for good.
  model::Dataset data;
  model::copy_dataset(*s.data, data);
  Applier applier(data, {}, nullptr);
  for (const auto& change : checked) applier.apply(change);
  settle(data);

  std::shared_ptr<LiveSnapshot> next(new LiveSnapshot());
  State& n = *next->state_;
  n.packs = s.packs;
  n.data = std::make_unique<model::Dataset>(std::move(data));
  n.as_of = s.as_of;
  for (const auto& [entity, table] : n.data->tables) (void)table.id_rows();
  for (std::size_t p = 0; p < n.packs.size(); ++p) {
    for (const auto& rule : n.packs[p].pack.rules) {
      if (rule.enabled) n.live_rules.push_back({p, &rule, live::analyse(rule)});
    }
  }
  // Findings: the old ones, less those resolved or changed, plus those created or changed.
  std::set<std::string> gone;
  for (const auto* list : {&effect.resolved, &effect.changed}) {
    for (const auto& f : *list) gone.insert(finding_key(f.pack, f.rule, f.subject_id));
  }
  for (const auto& f : s.findings) {
    if (!gone.count(finding_key(f.pack, f.rule, f.subject_id))) n.findings.push_back(f);
  }
  n.findings.insert(n.findings.end(), effect.created.begin(), effect.created.end());
  n.findings.insert(n.findings.end(), effect.changed.begin(), effect.changed.end());
  sort_findings(n.findings);
  n.index_findings();
  // Per-rule counts: findings recounted; subjects and unknown stay those of the last full
  // evaluation (build() or at()).
  n.rules = s.rules;
  for (auto& summary : n.rules) {
    auto it = n.findings_of_rule.find({summary.pack, summary.rule});
    summary.findings = it == n.findings_of_rule.end() ? 0 : it->second.size();
  }
  return next;
}

void LiveSnapshot::warm_up(std::size_t callers) const {
  callers = std::min(callers, state_->max_scratches);
  std::vector<std::unique_ptr<Scratch>> taken;  // all taken at once, so that each is a new one
  while (taken.size() < callers) taken.push_back(state_->take_scratch());
  for (auto& scratch : taken) state_->give_back(std::move(scratch));
}

std::shared_ptr<const LiveSnapshot> LiveSnapshot::at(double as_of) const {
  model::Dataset data;
  model::copy_dataset(*state_->data, data);
  return build(state_->packs, std::move(data), as_of);
}

}  // namespace rapport::engine
