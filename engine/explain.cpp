#include "engine/explain.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <set>

#include "diag/render.hpp"
#include "diag/suggest.hpp"
#include "engine/evaluator.hpp"
#include "engine/format.hpp"
#include "engine/vector.hpp"
#include "model/time.hpp"

namespace rapport::engine {

namespace {

using dsl::CompareMode;
using dsl::CompareOp;
using dsl::Function;
using dsl::Node;
using dsl::Op;
using dsl::Unit;
using model::kMissingStr;
using model::kNoRow;

constexpr std::size_t kMaxRecordFields = 4;  // fields of a `where` shown per listed record

// ---------------------------------------------------------------------------------------------
// Values

std::string json_number(double value) {
  if (std::isnan(value)) return "null";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6f", value);
  std::string s = buffer;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string json_string(std::string_view text) { return "\"" + diag::json_escape(text) + "\""; }

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

/// "151 accounts", "1 account", "no accounts".
std::string count_of(std::size_t count, const std::string& entity) {
  if (count == 0) return "no " + entity;
  if (count == 1) return "1 " + model::singular_of(entity);
  return std::to_string(count) + " " + entity;
}

std::string plural(std::size_t count, const std::string& one, const std::string& many) {
  return std::to_string(count) + " " + (count == 1 ? one : many);
}

/// A record as people name it: `acc-00000012 "Kestrel AB"`, or the id alone.
std::string record_label(const model::Dataset& data, const std::string& entity, std::int32_t row) {
  const model::Table* table = data.table(entity);
  if (!table || row == kNoRow) return "missing";
  std::string label = model::id_of(data, *table, static_cast<std::size_t>(row));
  if (const model::StrId name = model::name_at(data, *table, static_cast<std::size_t>(row)); name != kMissingStr) {
    label += " " + quoted(data.strings.view(name));
  }
  return label;
}

/// A duration for people: days from two days up (`78.6d`), else as the language writes it (`6.5h`).
std::string duration_text(double seconds) {
  double days = seconds / model::kSecondsPerDay;
  if (std::fabs(days) < 2) return model::format_duration(seconds);
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, std::fabs(days - std::round(days)) < 0.05 ? "%.0fd" : "%.1fd", days);
  return buffer;
}

struct Scalar {
  dsl::Kind kind = dsl::Kind::Number;
  Unit unit = Unit::None;
  std::string entity;  // Row
  double number = std::nan("");
  std::string_view text;
  bool text_missing = true;
  std::int32_t row = kNoRow;
};

ShownValue show_scalar(const Scalar& s, const model::Dataset& data) {
  using dsl::Kind;
  ShownValue out;
  bool missing = false;
  switch (s.kind) {
    case Kind::Bool:
    case Kind::Number:
    case Kind::Duration:
    case Kind::Date:
    case Kind::Timestamp: missing = std::isnan(s.number); break;
    case Kind::Text:
    case Kind::Enum: missing = s.text_missing; break;
    case Kind::Row: missing = s.row == kNoRow; break;
    default: missing = true; break;
  }
  if (missing) return {"missing", "null"};
  switch (s.kind) {
    case Kind::Bool:
      out.text = s.number != 0 ? "true" : "false";
      out.json = out.text;
      break;
    case Kind::Number:
      out.text = format_number(s.number, s.unit);
      out.json = json_number(s.number);
      break;
    case Kind::Duration:
      out.text = duration_text(s.number);
      out.json = json_string(model::format_duration(s.number));
      break;
    case Kind::Date:
      out.text = model::format_date(s.number);
      out.json = json_string(out.text);
      break;
    case Kind::Timestamp:
      out.text = model::format_timestamp(s.number);
      out.json = json_string(out.text);
      break;
    case Kind::Text:
    case Kind::Enum:
      out.text = quoted(s.text);
      out.json = json_string(s.text);
      break;
    case Kind::Row: {
      out.text = record_label(data, s.entity, s.row);
      const model::Table* table = data.table(s.entity);
      out.json = table ? json_string(model::id_of(data, *table, static_cast<std::size_t>(s.row))) : "null";
      break;
    }
    default: break;
  }
  return out;
}

/// Element `k` of the storage of `v` (a scalar lane or a list element) as a Scalar.
Scalar element_at(const Vec& v, Kind kind, std::size_t k, const dsl::Type& type, const model::Dataset& data) {
  Scalar s;
  s.kind = kind;
  s.unit = type.unit;
  s.entity = type.entity;
  switch (storage_of(kind)) {
    case Storage::Number: s.number = v.num[k]; break;
    case Storage::String:
      s.text_missing = v.str[k] == kMissingStr;
      if (!s.text_missing) s.text = data.strings.view(v.str[k]);
      break;
    case Storage::Row: s.row = v.row[k]; break;
  }
  return s;
}

bool lane_missing(const Vec& v, std::size_t lane = 0) {
  if (v.kind == Kind::Set) return false;
  if (v.kind == Kind::List) return v.list_missing(lane);
  std::size_t i = v.at(lane);
  switch (storage_of(v.kind)) {
    case Storage::Number: return std::isnan(v.num[i]);
    case Storage::String: return v.str[i] == kMissingStr;
    case Storage::Row: return v.row[i] == kNoRow;
  }
  return true;
}

Truth truth_of(const Vec& v) {
  double x = v.num[v.at(0)];
  if (std::isnan(x)) return Truth::Unknown;
  return x == 1.0 ? Truth::True : Truth::False;
}

std::string truth_name(Truth t) {
  switch (t) {
    case Truth::True: return "true";
    case Truth::False: return "false";
    case Truth::Unknown: return "unknown";
  }
  return "unknown";
}

std::string compare_symbol(CompareOp op) {
  switch (op) {
    case CompareOp::Eq: return "=";
    case CompareOp::Ne: return "!=";
    case CompareOp::Lt: return "<";
    case CompareOp::Le: return "<=";
    case CompareOp::Gt: return ">";
    case CompareOp::Ge: return ">=";
  }
  return "?";
}

std::string function_name(Function f) {
  switch (f) {
    case Function::Count: return "count";
    case Function::Sum: return "sum";
    case Function::Avg: return "avg";
    case Function::Min: return "min";
    case Function::Max: return "max";
    case Function::Distinct: return "distinct";
    case Function::Stddev: return "stddev";
    case Function::Spread: return "spread";
    case Function::Exists: return "exists";
    case Function::PercentileRank: return "percentile_rank";
    case Function::Rank: return "rank";
    case Function::Abs: return "abs";
    case Function::Round: return "round";
    case Function::IfMissing: return "if_missing";
    case Function::Hours: return "hours";
    case Function::Days: return "days";
    case Function::Weeks: return "weeks";
    case Function::Percent: return "percent";
    case Function::Lower: return "lower";
    case Function::Upper: return "upper";
    case Function::Length: return "length";
    case Function::Date: return "date";
  }
  return "?";
}

/// Digits without leading zeros in every run: `usr-123` and `usr-000123` look alike.
std::string without_leading_zeros(std::string_view text) {
  std::string out;
  bool in_digits = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool digit = c >= '0' && c <= '9';
    if (digit && !in_digits && c == '0' && i + 1 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '9') continue;
    in_digits = digit;
    out += c;
  }
  return out;
}

/// The closest of `candidates` to `word`: a zero-padding difference first, then spelling.
std::optional<std::string> suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  std::string bare = without_leading_zeros(word);
  for (const auto& candidate : candidates) {
    if (candidate != word && without_leading_zeros(candidate) == bare) return candidate;
  }
  return diag::closest(word, candidates);
}

// ---------------------------------------------------------------------------------------------
// Building an explanation

class Explainer {
 public:
  Explainer(const dsl::CompiledPack& pack, const dsl::ParamValues& params, model::Dataset& data,
            const dsl::CompiledRule& rule, const ExplainOptions& options)
      : pack_(pack), params_(params), data_(data), rule_(rule), options_(options),
        probe_(pack, params, data, rule, options.as_of) {}

  std::optional<Explanation> run(std::string_view subject, ExplainError& error);

 private:
  using Eval = std::function<Vec(const Node&)>;

  std::string text_of(diag::Span span) const;
  std::string text_of(const Node& node) const { return text_of(node.span); }
  [[nodiscard]] Eval subject_eval() {
    return [this](const Node& node) { return probe_.eval(node); };
  }
  [[nodiscard]] Eval row_eval(std::int32_t row) {
    return [this, row](const Node& node) { return probe_.eval_rows(node, 1, {row}); };
  }

  ShownValue show(const Vec& v, const dsl::Type& type, std::size_t lane = 0, std::optional<Unit> unit = {}) const;
  ShownValue show_constant(const dsl::Value& value, const dsl::Type& type) const;
  ShownRecord record(const std::string& entity, std::int32_t row) const;

  bool find_row_subject(std::string_view subject, std::int32_t& row, ExplainError& error) const;
  void select_rows(Explanation& e, std::int32_t row);
  bool select_value(Explanation& e, std::string_view subject, ExplainError& error);
  std::string where_text(const Node& filter) const;
  ShownCondition where_condition(const Node& filter, std::int32_t row, const Eval& eval);
  ShownCondition join_part(const Node& filter, std::int32_t row);

  ShownCondition condition(const Node& node, const Eval& eval, bool list_sets);
  void test(const Node& node, const Eval& eval, ShownCondition& c);
  std::string why_missing(const Node& node, const Eval& eval);
  std::string why_unknown(const Node& node, const Eval& eval);

  ShownLet let(std::size_t slot);
  std::string steps(const Node& node);
  void collect_sets(const Node& node, std::vector<ShownSet>& out);
  ShownSet list_rows(const std::string& entity, const Vec& set, const Node* filter);
  void add_fields(std::vector<ShownRecord>& records, const std::vector<std::int32_t>& rows, const Node* filter);
  ShownSet filter_set(const Node& node);
  ShownSet of_set(const Node& node);
  std::vector<ShownParam> used_params() const;

  const dsl::CompiledPack& pack_;
  const dsl::ParamValues& params_;
  model::Dataset& data_;
  const dsl::CompiledRule& rule_;
  const ExplainOptions& options_;
  SubjectProbe probe_;
};

std::string Explainer::text_of(diag::Span span) const { return pack_.text_of(span); }

ShownValue Explainer::show(const Vec& v, const dsl::Type& type, std::size_t lane, std::optional<Unit> unit) const {
  std::size_t i = v.at(lane);
  if (v.kind == Kind::Set) {
    std::size_t count = v.off[i + 1] - v.off[i];
    return {count_of(count, type.entity), std::to_string(count)};
  }
  if (v.kind == Kind::List) {
    if (v.list_missing(lane)) return {"missing", "null"};
    dsl::Type element = type.element ? *type.element : dsl::Type::of(v.element);
    std::string text = "[", json = "[";
    std::size_t b = v.off[i], e = v.off[i + 1];
    for (std::size_t k = b; k < e && k - b < options_.max_records; ++k) {
      ShownValue item = show_scalar(element_at(v, v.element, k, element, data_), data_);
      if (k > b) {
        text += ", ";
        json += ", ";
      }
      text += item.text;
      json += item.json;
    }
    if (e - b > options_.max_records) {
      text += (options_.max_records ? ", … " : "… ") + std::to_string(e - b - options_.max_records) + " more";
    }
    return {text + "]", json + "]"};
  }
  Scalar s = element_at(v, v.kind, i, type, data_);
  if (unit) s.unit = *unit;
  return show_scalar(s, data_);
}

ShownValue Explainer::show_constant(const dsl::Value& value, const dsl::Type& type) const {
  if (value.kind == Kind::List) {
    if (value.missing) return {"missing", "null"};
    dsl::Type element = type.element ? *type.element : dsl::Type::of(Kind::Text);
    std::string text = "[", json = "[";
    for (std::size_t k = 0; k < value.items.size(); ++k) {
      ShownValue item = show_constant(value.items[k], element);
      text += (k ? ", " : "") + item.text;
      json += (k ? ", " : "") + item.json;
    }
    return {text + "]", json + "]"};
  }
  Scalar s;
  s.kind = value.kind;
  s.unit = type.unit;
  s.number = value.missing ? std::nan("") : value.number;
  s.text = value.text;
  s.text_missing = value.missing;
  return show_scalar(s, data_);
}

ShownRecord Explainer::record(const std::string& entity, std::int32_t row) const {
  ShownRecord r;
  const model::Table* table = data_.table(entity);
  if (!table || row == kNoRow) return r;
  r.id = model::id_of(data_, *table, static_cast<std::size_t>(row));
  if (const model::StrId name = model::name_at(data_, *table, static_cast<std::size_t>(row)); name != kMissingStr) {
    r.name = std::string(data_.strings.view(name));
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// The subject

std::optional<Explanation> Explainer::run(std::string_view subject, ExplainError& error) {
  Explanation e;
  e.pack = pack_.name;
  e.pack_version = pack_.version;
  e.rule = rule_.id;
  e.title = rule_.title;
  e.severity = rule_.severity;
  e.enabled = rule_.enabled;
  e.as_of = model::format_timestamp(options_.as_of);
  e.subject_entity = rule_.subject_entity;
  e.subject_var = rule_.subject_var;
  e.value_subject = rule_.subject_kind == dsl::SubjectKind::Values;
  e.selection.expression = "for each " + rule_.subject_var + " in " + text_of(rule_.subject);

  if (!e.value_subject) {
    std::int32_t row = kNoRow;
    if (!find_row_subject(subject, row, error)) return std::nullopt;
    select_rows(e, row);
  } else if (!select_value(e, subject, error)) {
    return std::nullopt;
  }

  if (e.included) {
    for (std::size_t slot = 0; slot < rule_.lets.size(); ++slot) e.lets.push_back(let(slot));
    e.when = condition(rule_.when, subject_eval(), true);
    for (const auto& escalation : rule_.escalations) {
      e.escalations.push_back({escalation.severity, condition(escalation.condition, subject_eval(), true)});
    }
    double when = probe_.when();
    e.outcome = std::isnan(when) ? Outcome::Unknown : when == 1.0 ? Outcome::Finding : Outcome::NoFinding;
    e.finding = probe_.finding();
  }
  e.params = used_params();
  return e;
}

bool Explainer::find_row_subject(std::string_view subject, std::int32_t& row, ExplainError& error) const {
  const std::string& entity = rule_.subject_entity;
  const model::Table* table = data_.table(entity);
  if (!table) {
    error.message = "no " + entity + " records are loaded, so there is no subject " + quoted(subject);
    return false;
  }
  model::StrId id = data_.strings.find(subject);
  row = id == kMissingStr ? kNoRow : table->find_row(id);
  if (row != kNoRow) return true;
  // A name works too, when exactly one record has it.
  std::vector<std::int32_t> named;
  if (const model::Column* column = table->column("name")) {
    const model::TextValues names(data_, *column);
    model::StrId name = data_.strings.find(subject);
    for (std::size_t r = 0; name != kMissingStr && r < names.size(); ++r) {
      if (names[r] == name) named.push_back(static_cast<std::int32_t>(r));
    }
  }
  if (named.size() == 1) {
    row = named.front();
    return true;
  }
  if (named.size() > 1) {
    error.message = std::to_string(named.size()) + " " + entity + " records are named " + quoted(subject) +
                    "; name one by its id";
    std::string ids;
    for (std::size_t k = 0; k < named.size() && k < 10; ++k) {
      ids += (k ? ", " : "") + model::id_of(data_, *table, static_cast<std::size_t>(named[k]));
    }
    error.helps.push_back("their ids: " + ids + (named.size() > 10 ? ", …" : ""));
    return false;
  }
  error.message = "no " + entity + " record has the id " + quoted(subject) + " (rule " + rule_.id + " looks at " +
                  entity + ")";
  std::vector<std::string> ids;
  ids.reserve(table->size());
  for (std::size_t r = 0; r < table->size(); ++r) ids.push_back(model::id_of(data_, *table, r));
  if (auto close = suggestion(subject, ids)) error.helps.push_back("did you mean " + quoted(*close) + "?");
  return false;
}

void Explainer::select_rows(Explanation& e, std::int32_t row) {
  ShownRecord r = record(e.subject_entity, row);
  e.subject_id = r.id;
  e.subject_name = r.name;
  Vec var;
  var.kind = Kind::Row;
  var.lanes = 1;
  var.row = {row};
  probe_.focus(var);
  const Vec& subjects = probe_.subjects();
  e.included = std::find(subjects.row.begin() + subjects.begin(0), subjects.row.begin() + subjects.end(0), row) !=
               subjects.row.begin() + subjects.end(0);
  if (rule_.subject.op == Op::Filter) {
    e.selection.where_expression = where_text(rule_.subject);
    e.selection.where = where_condition(rule_.subject, row, subject_eval());
  }
}

/// The first `of` in the subject's list expression: `team of users where ...`.
const Node* first_of(const Node& node) {
  if (node.op == Op::Of) return &node;
  for (const auto& arg : node.args) {
    if (const Node* found = first_of(arg)) return found;
  }
  return nullptr;
}

bool Explainer::select_value(Explanation& e, std::string_view subject, ExplainError& error) {
  const Vec& subjects = probe_.subjects();
  dsl::Type element = rule_.subject_type;
  std::vector<std::string> values;
  for (std::size_t k = subjects.begin(0); k < subjects.end(0); ++k) {
    Vec one;
    one.kind = subjects.element;
    one.lanes = 1;
    switch (storage_of(subjects.element)) {
      case Storage::Number: one.num = {subjects.num[k]}; break;
      case Storage::String: one.str = {subjects.str[k]}; break;
      case Storage::Row: one.row = {subjects.row[k]}; break;
    }
    std::string text = format_lane(one, element, 0, data_);
    if (text == subject) {
      e.subject_value = show(one, element);
      e.included = true;
      probe_.focus(one);
      return true;
    }
    values.push_back(std::move(text));
  }
  // Not a subject: rows may still have the value, and the `where` leaves them out.
  const Node* of = first_of(rule_.subject);
  std::vector<std::string> all_values = values;
  if (of && of->args[0].level == 0 && of->frame_level == 1) {
    const Node& set = of->args[0];
    const Node* filter = set.op == Op::Filter ? &set : nullptr;
    Vec base = probe_.eval(filter ? filter->args[0] : set);
    std::vector<std::int32_t> rows(base.row.begin() + base.begin(0), base.row.begin() + base.end(0));
    Vec per_row = probe_.eval_rows(of->args[1], 1, rows);
    std::vector<std::int32_t> having;
    std::set<std::string> seen(values.begin(), values.end());
    for (std::size_t k = 0; k < rows.size(); ++k) {
      std::string text = format_lane(per_row, of->args[1].type, k, data_);
      if (text == subject) having.push_back(rows[k]);
      else if (text != "missing" && seen.insert(text).second) all_values.push_back(text);
    }
    if (!having.empty()) {
      e.included = false;
      std::size_t at = static_cast<std::size_t>(std::find(rows.begin(), rows.end(), having.front()) - rows.begin());
      e.subject_value = show(per_row, of->args[1].type, at);
      e.selection.rows_count = having.size();
      e.selection.value_expression = text_of(of->args[1]);
      if (filter) e.selection.where_expression = where_text(*filter);
      for (std::size_t k = 0; k < having.size() && k < options_.max_records; ++k) {
        ShownExcludedRow excluded;
        excluded.record = record(set.entity, having[k]);
        if (filter) excluded.where = where_condition(*filter, having[k], row_eval(having[k]));
        e.selection.rows.push_back(std::move(excluded));
      }
      return true;
    }
  }
  std::string source = of ? text_of(of->args[1]) + " of " + of->entity : text_of(rule_.subject);
  error.message = "no " + (of ? of->entity + " record has " + quoted(subject) + " as its " + text_of(of->args[1])
                               : "subject " + quoted(subject)) +
                  " (rule " + rule_.id + " looks at each " + source + ")";
  if (auto close = suggestion(subject, all_values)) error.helps.push_back("did you mean " + quoted(*close) + "?");
  if (!values.empty() && values.size() <= 12) {
    std::string list;
    for (std::size_t k = 0; k < values.size(); ++k) list += (k ? ", " : "") + values[k];
    error.helps.push_back("the rule's subjects are: " + list);
  }
  return false;
}

std::string Explainer::where_text(const Node& filter) const {
  std::string whole = text_of(filter);
  std::string base = text_of(filter.args[0]);
  std::size_t at = whole.find(" where ", std::min(base.size(), whole.size()));
  return at == std::string::npos ? "" : whole.substr(at + 7);
}

void flatten(const Node& node, Op op, std::vector<const Node*>& out) {
  if (node.op == op) {
    for (const auto& arg : node.args) flatten(arg, op, out);
  } else {
    out.push_back(&node);
  }
}

/// The span of the join term `inner = outer` (or `outer = inner`) a filter's join key came from,
/// found around the outer side's span; empty when the source doesn't read that way.
diag::Span join_term_span(const std::string& source, const Node& filter) {
  auto is_name = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '`';
  };
  auto ends_with_field = [&](std::size_t begin, std::size_t end) {
    std::string_view name(source.data() + begin, end - begin);
    return name.size() >= filter.join_field.size() &&
           name.substr(name.size() - filter.join_field.size()) == filter.join_field &&
           (name.size() == filter.join_field.size() || name[name.size() - filter.join_field.size() - 1] == '.');
  };
  const diag::Span outer = filter.join_outer->span;
  // inner = outer
  std::size_t at = outer.begin;
  while (at > 0 && source[at - 1] == ' ') --at;
  if (at > 0 && source[at - 1] == '=' && (at < 2 || (source[at - 2] != '!' && source[at - 2] != '<' && source[at - 2] != '>'))) {
    std::size_t end = at - 1;
    while (end > 0 && source[end - 1] == ' ') --end;
    std::size_t begin = end;
    while (begin > 0 && is_name(source[begin - 1])) --begin;
    if (begin < end && ends_with_field(begin, end)) return {static_cast<std::uint32_t>(begin), outer.end};
  }
  // outer = inner
  at = outer.end;
  while (at < source.size() && source[at] == ' ') ++at;
  if (at + 1 < source.size() && source[at] == '=' && source[at + 1] != '=') {
    std::size_t begin = at + 1;
    while (begin < source.size() && source[begin] == ' ') ++begin;
    std::size_t end = begin;
    while (end < source.size() && is_name(source[end])) ++end;
    if (begin < end && ends_with_field(begin, end)) return {outer.begin, static_cast<std::uint32_t>(end)};
  }
  return {};
}

ShownCondition Explainer::join_part(const Node& filter, std::int32_t row) {
  ShownCondition c;
  diag::Span written = pack_.source ? join_term_span(pack_.source->text(), filter) : diag::Span{};
  c.expression = written.empty() ? filter.join_field + " = " + text_of(*filter.join_outer) : text_of(written);
  c.op = "=";
  const model::Table* table = data_.table(filter.entity);
  Scalar inner;
  inner.kind = Kind::Text;
  model::StrId value = kMissingStr;
  if (table && row != kNoRow) {
    if (filter.join_field == "id") value = table->ids[row];
    else if (const model::Column* column = table->column(filter.join_field)) value = model::TextValues(data_, *column)[row];
  }
  inner.text_missing = value == kMissingStr;
  if (!inner.text_missing) inner.text = data_.strings.view(value);
  c.left = show_scalar(inner, data_);
  Vec outer = probe_.eval(*filter.join_outer);
  c.right = show(outer, filter.join_outer->type);
  c.test = c.left->text + " = " + c.right->text;
  model::StrId other = outer.str.empty() ? kMissingStr : outer.str[outer.at(0)];
  if (value == kMissingStr || other == kMissingStr) {
    c.result = Truth::Unknown;
    c.reason = (value == kMissingStr ? filter.join_field : text_of(*filter.join_outer)) + " is missing";
  } else {
    c.result = value == other ? Truth::True : Truth::False;
  }
  return c;
}

ShownCondition Explainer::where_condition(const Node& filter, std::int32_t row, const Eval& eval) {
  std::vector<ShownCondition> parts;
  if (filter.args[0].op == Op::Filter) {
    ShownCondition inner = where_condition(filter.args[0], row, eval);
    if (inner.kind == ShownCondition::Kind::All) {
      for (auto& part : inner.parts) parts.push_back(std::move(part));
    } else {
      parts.push_back(std::move(inner));
    }
  }
  // The checker took the join key out of the terms and reordered them: put them back in the
  // order written.
  std::vector<std::pair<std::uint32_t, ShownCondition>> terms;
  if (!filter.join_field.empty() && !filter.join_by_row) {
    diag::Span written = pack_.source ? join_term_span(pack_.source->text(), filter) : diag::Span{};
    terms.emplace_back(written.empty() ? filter.join_outer->span.begin : written.begin, join_part(filter, row));
  }
  if (filter.args.size() > 1) {
    std::vector<const Node*> nodes;
    flatten(filter.args[1], Op::And, nodes);
    for (const Node* node : nodes) terms.emplace_back(node->span.begin, condition(*node, eval, false));
  }
  std::stable_sort(terms.begin(), terms.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& term : terms) parts.push_back(std::move(term.second));
  if (parts.size() == 1) return std::move(parts.front());
  ShownCondition all;
  all.kind = ShownCondition::Kind::All;
  all.expression = where_text(filter);
  bool any_false = false, any_unknown = false;
  for (const auto& part : parts) {
    any_false = any_false || part.result == Truth::False;
    any_unknown = any_unknown || part.result == Truth::Unknown;
  }
  all.result = any_false ? Truth::False : any_unknown ? Truth::Unknown : Truth::True;
  all.parts = std::move(parts);
  return all;
}

// ---------------------------------------------------------------------------------------------
// Conditions

/// `(a or b)` -> `a or b`, when the outer parentheses enclose the whole text.
std::string without_outer_parens(std::string text) {
  while (text.size() >= 2 && text.front() == '(' && text.back() == ')') {
    int depth = 0;
    char quote = 0;
    bool encloses = true;
    for (std::size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (quote) {
        if (c == '\\') ++i;
        else if (c == quote) quote = 0;
        continue;
      }
      if (c == '"' || c == '\'') quote = c;
      else if (c == '(') ++depth;
      else if (c == ')' && --depth == 0 && i + 1 < text.size()) encloses = false;
    }
    if (!encloses) break;
    text = text.substr(1, text.size() - 2);
  }
  return text;
}

ShownCondition Explainer::condition(const Node& node, const Eval& eval, bool list_sets) {
  ShownCondition c;
  c.expression = without_outer_parens(text_of(node));
  c.result = truth_of(eval(node));
  if (node.op == Op::And || node.op == Op::Or) {
    c.kind = node.op == Op::And ? ShownCondition::Kind::All : ShownCondition::Kind::Any;
    std::vector<const Node*> parts;
    flatten(node, node.op, parts);
    for (const Node* part : parts) c.parts.push_back(condition(*part, eval, list_sets));
    return c;
  }
  if (node.op == Op::Not) {
    const Node& inner = node.args[0];
    if (inner.op == Op::And || inner.op == Op::Or || inner.op == Op::Not) {
      c.kind = ShownCondition::Kind::Not;
      c.parts.push_back(condition(inner, eval, list_sets));
      return c;
    }
    ShownCondition t = condition(inner, eval, list_sets);
    if (t.test.empty()) {
      // `not manager.active`: "not true → false"; a missing value needs no "not unknown".
      c.test = t.result == Truth::Unknown ? "" : "not " + truth_name(t.result);
    } else {
      c.test = "not (" + t.test + ")";
    }
    c.op = "not";
    c.reason = t.reason;
    c.sets = std::move(t.sets);
    return c;
  }
  test(node, eval, c);
  if (c.result == Truth::Unknown) c.reason = why_unknown(node, eval);
  if (list_sets) {
    for (const auto& arg : node.args) collect_sets(arg, c.sets);
  }
  return c;
}

/// A percent, or a percent scaled by a literal (`2 * breach_rate_max`) or added to one.
bool percent_like(const Node& node) {
  if (node.type.kind != Kind::Number) return false;
  if (node.type.unit == Unit::Percent) return true;
  if (node.op == Op::Mul || node.op == Op::Div) {
    const Node& a = node.args[0];
    const Node& b = node.args[1];
    return (percent_like(a) && b.op == Op::Const) || (node.op == Op::Mul && a.op == Op::Const && percent_like(b));
  }
  if (node.op == Op::Add || node.op == Op::Sub) return percent_like(node.args[0]) && percent_like(node.args[1]);
  return false;
}

void Explainer::test(const Node& node, const Eval& eval, ShownCondition& c) {
  auto operands = [&](std::optional<Unit> unit = {}) {
    c.left = show(eval(node.args[0]), node.args[0].type, 0, unit);
    c.right = show(eval(node.args[1]), node.args[1].type, 0, unit);
  };
  switch (node.op) {
    case Op::Compare: {
      const dsl::Type& a = node.args[0].type;
      const dsl::Type& b = node.args[1].type;
      std::optional<Unit> unit;
      // A rate compared with a percent reads as two percents: 26% > 10%, not 0.26 > 10%.
      if (a.kind == Kind::Number && b.kind == Kind::Number && (percent_like(node.args[0]) || percent_like(node.args[1]))) {
        unit = Unit::Percent;
      }
      operands(unit);
      c.op = compare_symbol(node.compare);
      c.test = c.left->text + " " + c.op + " " + c.right->text;
      if (node.compare_mode == CompareMode::EnumRank) {
        const model::EntityDef* entity = data_.schema.entity(node.entity);
        const model::FieldDef* field = entity ? entity->field(node.field) : nullptr;
        if (field && !field->enum_values.empty()) {
          std::string order;
          for (std::size_t k = 0; k < field->enum_values.size(); ++k) order += (k ? " < " : "") + field->enum_values[k];
          c.test += " (in the order " + order + ")";
        }
      }
      return;
    }
    case Op::In:
    case Op::NotIn:
    case Op::Has:
    case Op::HasAny:
    case Op::HasAll: {
      operands();
      c.op = node.op == Op::In ? "in" : node.op == Op::NotIn ? "not in" : node.op == Op::Has ? "has"
                                                                                              : node.op == Op::HasAny ? "has any" : "has all";
      c.test = c.left->text + " " + c.op + " " + c.right->text;
      return;
    }
    case Op::IsMissing:
    case Op::IsNotMissing: {
      Vec value = eval(node.args[0]);
      c.left = show(value, node.args[0].type);
      c.op = node.op == Op::IsMissing ? "is missing" : "is not missing";
      c.test = lane_missing(value) ? "it is missing" : "it is " + c.left->text;
      return;
    }
    case Op::WithinLast:
    case Op::WithinNext: {
      Vec when = eval(node.args[0]);
      Vec span = eval(node.args[1]);
      c.left = show(when, node.args[0].type);
      c.right = show(span, node.args[1].type);
      c.op = node.op == Op::WithinLast ? "within last" : "within next";
      c.test = c.left->text + " " + c.op + " " + c.right->text;
      double d = span.num[span.at(0)];
      if (!std::isnan(d)) {
        double now = options_.as_of;
        double from = node.op == Op::WithinLast ? now - d : now;
        double to = node.op == Op::WithinLast ? now : now + d;
        auto point = [&](double t) {
          bool midnight = std::fmod(t, model::kSecondsPerDay) == 0;
          return node.args[0].type.kind == Kind::Date && midnight ? model::format_date(t) : model::format_timestamp(t);
        };
        c.test += " (" + point(from) + " to " + point(to) + ")";
      }
      return;
    }
    default:
      return;  // a plain yes/no value: its result says it all
  }
}

std::string Explainer::why_unknown(const Node& node, const Eval& eval) {
  std::vector<std::string> reasons;
  bool leaf = true;
  switch (node.op) {
    case Op::Compare:
    case Op::In:
    case Op::NotIn:
    case Op::Has:
    case Op::HasAny:
    case Op::HasAll:
    case Op::WithinLast:
    case Op::WithinNext:
      leaf = false;
      for (const auto& arg : node.args) {
        if (arg.level <= 1 && lane_missing(eval(arg))) {
          std::string reason = why_missing(arg, eval);
          if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) reasons.push_back(reason);
        }
      }
      break;
    default: break;
  }
  if (leaf) return why_missing(node, eval);
  std::string out;
  for (std::size_t k = 0; k < reasons.size(); ++k) out += (k ? "; " : "") + reasons[k];
  return out;
}

std::string Explainer::why_missing(const Node& node, const Eval& eval) {
  const std::string text = text_of(node);
  auto missing = [&](const Node& n) { return n.level <= 1 && lane_missing(eval(n)); };
  switch (node.op) {
    case Op::Field:
      if (missing(node.args[0])) return why_missing(node.args[0], eval);
      return text + " is missing";
    case Op::Navigate: {
      if (missing(node.args[0])) return why_missing(node.args[0], eval);
      Vec from = eval(node.args[0]);
      std::int32_t row = from.row.empty() ? kNoRow : from.row[from.at(0)];
      const model::Table* table = data_.table(node.entity);
      const model::Column* link = table ? table->column(node.field) : nullptr;
      const model::StrId id = link && row != kNoRow ? model::TextValues(data_, *link)[row] : kMissingStr;
      if (id != kMissingStr) {
        return text + " is missing: no " + link->def.ref_entity + " record has the id " + quoted(data_.strings.view(id)) +
               " (" + node.field + ")";
      }
      return text + " is missing";
    }
    case Op::LetRef: return rule_.lets[node.slot].name + " is missing";
    case Op::Div: {
      Vec divisor = eval(node.args[1]);
      if (!lane_missing(divisor) && divisor.num[divisor.at(0)] == 0) {
        return text + " is missing: it divides by " + text_of(node.args[1]) + ", which is 0";
      }
      break;
    }
    case Op::Call: {
      bool aggregate = node.args.size() == 1 && (node.function == Function::Min || node.function == Function::Max ||
                                                  node.function == Function::Avg || node.function == Function::Stddev ||
                                                  node.function == Function::Spread);
      bool ranks = node.function == Function::PercentileRank || node.function == Function::Rank;
      if (ranks && missing(node.args[0])) return why_missing(node.args[0], eval);
      if (aggregate || ranks) {
        const Node& list = node.args[aggregate ? 0 : 1];
        if (missing(list)) return why_missing(list, eval);
        if (list.op == Op::Of && list.level <= 1) {
          Vec rows = eval(list.args[0]);
          bool empty = rows.end(0) == rows.begin(0);
          const Node& set = list.args[0];
          if (empty) {
            return text + " is missing: " +
                   (set.op == Op::Filter || set.op == Op::EntitySet ? "there are no " + text_of(set)
                                                                    : text_of(set) + " is empty");
          }
          return text + " is missing: " + text_of(list.args[1]) + " is missing for every one of the " +
                 count_of(rows.end(0) - rows.begin(0), list.entity);
        }
        Vec items = eval(list);
        return text + " is missing: " + text_of(list) +
               (items.end(0) == items.begin(0) ? " is empty" : " has only missing values");
      }
      break;
    }
    default: break;
  }
  for (const auto& arg : node.args) {
    if (missing(arg)) return why_missing(arg, eval);
  }
  return text + " is missing";
}

// ---------------------------------------------------------------------------------------------
// Lets and the records behind them

ShownLet Explainer::let(std::size_t slot) {
  const dsl::Let& let = rule_.lets[slot];
  const Vec& value = probe_.let(slot);
  ShownLet out;
  out.name = let.name;
  out.expression = without_outer_parens(text_of(let.value));
  out.value = show(value, let.value.type);
  if (value.kind == Kind::Set) {
    out.count = value.end(0) - value.begin(0);
    out.records = list_rows(let.value.type.entity, value, let.value.op == Op::Filter ? &let.value : nullptr);
  } else if (value.kind == Kind::List && !value.list_missing(0)) {
    out.count = value.end(0) - value.begin(0);
  }
  if (lane_missing(value)) {
    out.reason = why_missing(let.value, subject_eval());
    const std::string prefix = out.expression + " is missing: ";
    if (out.reason.rfind(prefix, 0) == 0) out.reason = out.reason.substr(prefix.size());
    if (out.reason == out.expression + " is missing") out.reason.clear();
  }
  out.steps = steps(let.value);
  if (out.steps == out.value.text) out.steps.clear();
  if (let.value.op == Op::Filter) {
    // The let is the set: its records are listed above; look inside its base only.
    collect_sets(let.value.args[0], out.sets);
  } else {
    collect_sets(let.value, out.sets);
  }
  return out;
}

std::string Explainer::steps(const Node& node) {
  auto value = [&](const Node& n) { return show(probe_.eval(n), n.type).text; };
  switch (node.op) {
    case Op::Add: return value(node.args[0]) + " + " + value(node.args[1]);
    case Op::Sub: return value(node.args[0]) + " - " + value(node.args[1]);
    case Op::Mul: return value(node.args[0]) + " * " + value(node.args[1]);
    case Op::Div: return value(node.args[0]) + " / " + value(node.args[1]);
    case Op::ParamKeyed: return pack_.params[node.slot].name + "[" + value(node.args[0]) + "]";
    case Op::Call: {
      std::string args;
      for (std::size_t k = 0; k < node.args.size(); ++k) {
        const Node& arg = node.args[k];
        std::string shown;
        if (arg.type.kind == Kind::Set || arg.type.kind == Kind::List) {
          Vec v = probe_.eval(arg);
          if (arg.type.kind == Kind::Set || (node.function != Function::PercentileRank && node.function != Function::Rank)) {
            return "";  // an aggregate: the sets below show what went in
          }
          shown = v.list_missing(0) ? "missing" : plural(v.end(0) - v.begin(0), "value", "values");
        } else {
          shown = value(arg);
        }
        args += (k ? ", " : "") + shown;
      }
      return function_name(node.function) + "(" + args + ")";
    }
    default: return "";
  }
}

void Explainer::collect_sets(const Node& node, std::vector<ShownSet>& out) {
  if (node.level > 1) return;
  switch (node.op) {
    case Op::Filter: out.push_back(filter_set(node)); return;
    case Op::Of: out.push_back(of_set(node)); return;
    case Op::LetRef:
    case Op::EntitySet:
    case Op::Const:
    case Op::Param:
      return;
    default:
      for (const auto& arg : node.args) collect_sets(arg, out);
  }
}

/// Follows navigation down to the row variable of frame `level`: `c.assignee.team` -> c.
bool reads_row(const Node& node, int level) {
  if (node.op == Op::Var) return node.level == level && node.type.kind == Kind::Row;
  if (node.op == Op::Navigate) return reads_row(node.args[0], level);
  return false;
}

/// What a `where` reads from the filtered row, in the order written: its fields (not its join
/// key, nor fields compared for equality with an outer value: those are the same for every
/// record), then computed operands of its comparisons (`first_response_at - opened_at`).
void row_values(const Node& node, const Node& filter, std::vector<const Node*>& fields,
                std::vector<const Node*>& computed) {
  if (node.op == Op::Filter || node.op == Op::Of) return;  // another row's scope
  const int level = filter.frame_level;
  if (node.op == Op::Compare && node.compare == CompareOp::Eq) {
    for (int side = 0; side < 2; ++side) {
      if (node.args[side].op == Op::Field && reads_row(node.args[side].args[0], level) && node.args[1 - side].level < level) {
        return;
      }
    }
  }
  if (node.op == Op::Field && reads_row(node.args[0], level)) {
    bool join_key = node.args[0].op == Op::Var && node.field == filter.join_field;
    bool shown = node.field == "id" || (node.field == "name" && node.args[0].op == Op::Var);
    if (!join_key && !shown) fields.push_back(&node);
    return;
  }
  if (node.op == Op::Compare || node.op == Op::WithinLast || node.op == Op::WithinNext) {
    for (const auto& side : node.args) {
      bool compound = side.op != Op::Field && side.op != Op::Const && side.op != Op::Param && side.op != Op::Var &&
                      side.op != Op::LetRef && side.op != Op::Navigate;
      if (compound && side.level == level && side.type.is_scalar()) computed.push_back(&side);
    }
  }
  for (const auto& arg : node.args) row_values(arg, filter, fields, computed);
}

ShownSet Explainer::list_rows(const std::string& entity, const Vec& set, const Node* filter) {
  ShownSet out;
  out.entity = entity;
  std::size_t b = set.begin(0), e = set.end(0);
  out.count = e - b;
  std::vector<std::int32_t> rows(set.row.begin() + b, set.row.begin() + b + std::min(out.count, options_.max_records));
  for (std::int32_t row : rows) out.records.push_back(record(entity, row));
  add_fields(out.records, rows, filter);
  return out;
}

void Explainer::add_fields(std::vector<ShownRecord>& records, const std::vector<std::int32_t>& rows, const Node* filter) {
  if (!filter || filter->op != Op::Filter || filter->args.size() < 2 || filter->frame_level > 2 || rows.empty()) return;
  std::vector<const Node*> fields, computed;
  row_values(filter->args[1], *filter, fields, computed);
  fields.insert(fields.end(), computed.begin(), computed.end());
  std::set<std::string> labels;
  for (const Node* field : fields) {
    std::string label = text_of(*field);
    if (!labels.insert(label).second) continue;
    if (labels.size() > kMaxRecordFields) break;
    Vec values = probe_.eval_rows(*field, filter->frame_level, rows);
    for (std::size_t k = 0; k < rows.size(); ++k) records[k].fields.emplace_back(label, show(values, field->type, k));
  }
}

ShownSet Explainer::filter_set(const Node& node) {
  Vec set = probe_.eval(node);
  if (node.level == 0) {
    ShownSet out;
    out.expression = text_of(node);
    out.entity = node.entity;
    out.count = set.end(0) - set.begin(0);
    out.same_for_every_subject = true;
    return out;
  }
  ShownSet out = list_rows(node.entity, set, &node);
  out.expression = text_of(node);
  return out;
}

ShownSet Explainer::of_set(const Node& node) {
  ShownSet out;
  out.expression = text_of(node.args[0]);
  out.value_expression = text_of(node.args[1]);
  out.entity = node.entity;
  Vec set = probe_.eval(node.args[0]);
  std::size_t b = set.begin(0);
  out.count = set.end(0) - b;
  if (node.level == 0) {
    out.same_for_every_subject = true;
    return out;
  }
  Vec values = probe_.eval(node);
  dsl::Type element = node.type.element ? *node.type.element : dsl::Type::of(values.element);
  std::size_t vb = values.begin(0);
  std::vector<std::int32_t> rows;
  for (std::size_t k = 0; k < out.count && k < options_.max_records; ++k) {
    rows.push_back(set.row[b + k]);
    ShownRecord r = record(node.entity, set.row[b + k]);
    r.value = show_scalar(element_at(values, values.element, vb + k, element, data_), data_);
    out.records.push_back(std::move(r));
  }
  add_fields(out.records, rows, &node.args[0]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parameters

void param_slots(const Node& node, std::set<int>& slots) {
  if (node.op == Op::Param || node.op == Op::ParamKeyed) slots.insert(node.slot);
  for (const auto& arg : node.args) param_slots(arg, slots);
  if (node.join_outer) param_slots(*node.join_outer, slots);
}

std::vector<ShownParam> Explainer::used_params() const {
  std::set<int> slots;
  param_slots(rule_.subject, slots);
  for (const auto& let : rule_.lets) param_slots(let.value, slots);
  param_slots(rule_.when, slots);
  for (const auto& escalation : rule_.escalations) param_slots(escalation.condition, slots);
  for (const auto* texts : {&rule_.messages, &rule_.remedies}) {
    for (const auto& text : *texts) {
      if (text.condition) param_slots(*text.condition, slots);
      for (const auto& part : text.parts) {
        if (part.is_expr) param_slots(part.expr, slots);
      }
    }
  }
  std::vector<ShownParam> out;
  for (int slot : slots) {
    const dsl::ParamDecl& decl = pack_.params[slot];
    ShownParam p;
    p.name = decl.name;
    p.origin = slot < static_cast<int>(params_.origin.size()) ? params_.origin[slot] : "default";
    ShownValue fallback = show_constant(params_.values[slot], decl.type);
    if (decl.is_keyed()) {
      p.by = decl.by_entity + "." + decl.by_field;
      std::string text, keys;
      for (const auto& [key, value] : params_.keyed[slot]) {
        ShownValue v = show_constant(value, decl.type);
        text += (text.empty() ? "" : ", ") + key + " " + v.text;
        keys += (keys.empty() ? "" : ", ") + json_string(key) + ": " + v.json;
      }
      p.value.text = text.empty() ? fallback.text + " for every " + decl.by_field
                                  : text + "; any other " + decl.by_field + " " + fallback.text;
      p.value.json = "{\"default\": " + fallback.json + ", \"keys\": {" + keys + "}}";
    } else {
      p.value = fallback;
    }
    out.push_back(std::move(p));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Text

struct Painter {
  bool color = false;
  [[nodiscard]] std::string paint(const std::string& text, const char* code) const {
    return color ? std::string("\x1b[") + code + "m" + text + "\x1b[0m" : text;
  }
  [[nodiscard]] std::string bold(const std::string& text) const { return paint(text, "1"); }
  [[nodiscard]] std::string dim(const std::string& text) const { return paint(text, "2"); }
  [[nodiscard]] std::string truth(Truth t) const {
    switch (t) {
      case Truth::True: return paint("true", "32");
      case Truth::False: return paint("false", "31");
      case Truth::Unknown: return paint("unknown", "33");
    }
    return "unknown";
  }
};

std::string indent(int n) { return std::string(static_cast<std::size_t>(n), ' '); }

/// "both parts are true", "1 of 3 parts is false", ...
std::string group_summary(const ShownCondition& c) {
  std::size_t n = c.parts.size(), yes = 0, no = 0, unknown = 0;
  for (const auto& part : c.parts) {
    yes += part.result == Truth::True;
    no += part.result == Truth::False;
    unknown += part.result == Truth::Unknown;
  }
  auto of_n = [&](std::size_t k, const char* what) {
    return std::to_string(k) + " of " + std::to_string(n) + " parts " + (k == 1 ? "is " : "are ") + what;
  };
  if (c.kind == ShownCondition::Kind::Not) {
    return c.result == Truth::Unknown ? "the part below is unknown"
                                      : std::string("the part below is ") + (c.result == Truth::True ? "false" : "true");
  }
  if (c.kind == ShownCondition::Kind::All) {
    if (c.result == Truth::True) return n == 2 ? "both parts are true" : "all " + std::to_string(n) + " parts are true";
    if (c.result == Truth::False) return of_n(no, "false") + (n == 1 ? "" : ", and all must be true");
    return "no part is false, but " + of_n(unknown, "unknown");
  }
  if (c.result == Truth::True) return of_n(yes, "true") + (n == 2 && yes == 1 ? ", and one is enough" : "");
  if (c.result == Truth::False) return n == 2 ? "neither part is true" : "none of the " + std::to_string(n) + " parts is true";
  return "no part is true, and " + of_n(unknown, "unknown");
}

void render_records(std::string& out, const ShownSet& set, int depth, const Painter& p) {
  // Columns: id, name, the `of` value, the fields; each padded to its widest cell.
  std::vector<std::array<std::string, 4>> rows;
  std::array<std::size_t, 4> width{};
  for (const auto& r : set.records) {
    std::array<std::string, 4> cells{r.id, r.name.empty() ? "" : quoted(r.name), r.value ? r.value->text : "", ""};
    for (std::size_t k = 0; k < r.fields.size(); ++k) cells[3] += (k ? ", " : "") + r.fields[k].first + ": " + r.fields[k].second.text;
    for (std::size_t c = 0; c < cells.size(); ++c) width[c] = std::max<std::size_t>(width[c], diag::count_code_points(cells[c]));
    rows.push_back(std::move(cells));
  }
  for (const auto& cells : rows) {
    std::string line = indent(depth);
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (!width[c]) continue;
      line += cells[c] + indent(static_cast<int>(width[c] - diag::count_code_points(cells[c])) + 2);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  if (set.count > set.records.size() && !set.records.empty()) {
    out += indent(depth) + p.dim("… and " + std::to_string(set.count - set.records.size()) + " more") + "\n";
  }
}

void render_set(std::string& out, const ShownSet& set, int depth, const Painter& p) {
  std::string header;
  if (set.same_for_every_subject) {
    header = (set.value_expression.empty() ? "" : set.value_expression + " of ") + count_of(set.count, set.entity) +
             " (" + set.expression + "), the same for every subject";
    out += indent(depth) + header + "\n";
    return;
  }
  header = (set.value_expression.empty() ? "" : set.value_expression + " of ") + count_of(set.count, set.entity);
  if (!set.expression.empty()) header += " (" + set.expression + ")";
  out += indent(depth) + header + (set.records.empty() ? "" : ":") + "\n";
  render_records(out, set, depth + 2, p);
}

std::string test_line(const ShownCondition& c, const Painter& p) {
  std::string line = c.test.empty() ? "→ " : c.test + " → ";
  line += p.truth(c.result);
  if (c.result == Truth::Unknown && !c.reason.empty()) line += " — " + c.reason;
  return line;
}

void render_condition(std::string& out, const ShownCondition& c, int depth, const Painter& p) {
  if (c.kind == ShownCondition::Kind::Test) {
    out += indent(depth) + test_line(c, p) + "\n";
    for (const auto& set : c.sets) render_set(out, set, depth, p);
    return;
  }
  out += indent(depth) + "→ " + p.truth(c.result) + ": " + group_summary(c) + "\n";
  for (const auto& part : c.parts) {
    out += indent(depth) + part.expression + "\n";
    render_condition(out, part, depth + 4, p);
  }
}

/// A `where` that leaves a subject out: its parts, without repeating the verdict.
void render_where(std::string& out, const ShownCondition& where, int depth, const Painter& p) {
  if (where.kind == ShownCondition::Kind::All) {
    for (const auto& part : where.parts) {
      out += indent(depth) + part.expression + "\n";
      render_condition(out, part, depth + 4, p);
    }
    return;
  }
  out += indent(depth) + where.expression + "\n";
  render_condition(out, where, depth + 4, p);
}

std::string subject_words(const Explanation& e) {
  return e.value_subject ? e.subject_var + " " + e.subject_value.text : "this " + model::singular_of(e.subject_entity);
}

}  // namespace

std::optional<Explanation> explain(const dsl::CompiledPack& pack, const dsl::ParamValues& params, model::Dataset& data,
                                   const dsl::CompiledRule& rule, std::string_view subject,
                                   const ExplainOptions& options, ExplainError& error) {
  Explainer explainer(pack, params, data, rule, options);
  return explainer.run(subject, error);
}

std::string render_explanation_text(const Explanation& e, bool color) {
  Painter p{color};
  std::string out;
  out += p.bold(e.rule) + (e.title.empty() ? "" : " — " + e.title) + "   (" + e.pack + "@" + e.pack_version + ", " +
         std::string(dsl::severity_name(e.severity)) + ")\n";
  if (e.value_subject) {
    out += "subject: " + e.subject_var + " " + e.subject_value.text + " (a value from " + e.subject_entity + ")\n";
  } else {
    out += "subject: " + e.subject_entity + " " + e.subject_id + (e.subject_name.empty() ? "" : " " + quoted(e.subject_name)) + "\n";
  }
  out += "as of:   " + e.as_of + "\n";
  if (!e.enabled) out += p.paint("note: this rule is disabled, so `check` does not run it; explained anyway", "33") + "\n";

  out += "\n" + e.selection.expression + "\n";
  const std::string what = subject_words(e);
  if (e.included) {
    out += "    → " + p.paint("included", "32") + ": " + what + " is one of the rule's subjects\n";
  } else if (e.selection.where) {
    const ShownCondition& where = *e.selection.where;
    out += "    → " + p.paint("left out", "33") + ": the `where` is " + p.truth(where.result) + " for " + what +
           (where.result == Truth::Unknown ? " (data is missing), and the rule looks only at subjects for which it is true"
                                           : "") +
           "\n";
    render_where(out, where, 4, p);
  } else {
    std::string having = e.selection.rows_count == 1
                             ? "the only " + model::singular_of(e.subject_entity) + " with " + e.selection.value_expression +
                                   " " + e.subject_value.text + " does not pass"
                             : "none of the " + std::to_string(e.selection.rows_count) + " " + e.subject_entity + " with " +
                                   e.selection.value_expression + " " + e.subject_value.text + " passes";
    out += "    → " + p.paint("left out", "33") + ": " + having + " the `where` (" + e.selection.where_expression + ")\n";
    for (const auto& row : e.selection.rows) {
      out += "    " + row.record.id + (row.record.name.empty() ? "" : " " + quoted(row.record.name)) + "\n";
      render_where(out, row.where, 8, p);
    }
    if (e.selection.rows_count > e.selection.rows.size()) {
      out += "    " + p.dim("… and " + std::to_string(e.selection.rows_count - e.selection.rows.size()) + " more") + "\n";
    }
  }

  for (const auto& let : e.lets) {
    out += "\n" + p.bold("let " + let.name) + " = " + let.expression + "\n";
    std::string value = "    = " + (let.steps.empty() ? "" : let.steps + " = ") + let.value.text;
    if (let.count && let.value.text.rfind('[', 0) == 0) {
      value += *let.count ? "  (" + plural(*let.count, "item", "items") + ")" : "  (empty)";
    }
    if (!let.reason.empty()) value += " — " + let.reason;
    out += value + (let.records && !let.records->records.empty() ? ":" : "") + "\n";
    if (let.records) render_records(out, *let.records, 6, p);
    for (const auto& set : let.sets) render_set(out, set, 4, p);
  }

  if (e.when) {
    out += "\n" + p.bold("when") + " " + e.when->expression + "\n";
    render_condition(out, *e.when, 4, p);
  }
  for (const auto& escalation : e.escalations) {
    out += "\n" + p.bold("escalate to " + std::string(dsl::severity_name(escalation.severity))) + " when " +
           escalation.condition.expression + "\n";
    render_condition(out, escalation.condition, 4, p);
    if (escalation.condition.result == Truth::True && e.outcome != Outcome::Finding) {
      out += "    " + p.dim("(it would raise a finding to " + std::string(dsl::severity_name(escalation.severity)) +
                          ", but there is no finding)") + "\n";
    }
  }

  out += "\n";
  switch (e.outcome) {
    case Outcome::Finding: {
      const Finding& f = *e.finding;
      out += p.bold("result: ") + p.paint("FINDING", "1;31") + ", severity " + std::string(dsl::severity_name(f.severity));
      if (f.severity != f.base_severity) out += " (escalated from " + std::string(dsl::severity_name(f.base_severity)) + ")";
      out += "\n  message: " + f.message + "\n";
      if (!f.remedy.empty()) out += "  remedy:  " + f.remedy + "\n";
      break;
    }
    case Outcome::NoFinding:
      out += p.bold("result: ") + p.paint("no finding", "32") + " — the `when` condition is false for " + what + "\n";
      break;
    case Outcome::Unknown:
      out += p.bold("result: ") + p.paint("no finding", "33") + " — the `when` condition is unknown because data is missing;\n" +
             "  `check` counts " + what + " among the subjects that could not be judged\n";
      break;
    case Outcome::NotASubject:
      out += p.bold("result: ") + "no finding — the rule does not look at " + what + "\n";
      break;
  }
  if (!e.params.empty()) {
    out += "\nparameters:\n";
    for (const auto& param : e.params) {
      out += "  " + param.name + (param.by.empty() ? "" : " (by " + param.by + ")") + " = " + param.value.text + "   " +
             p.dim("(" + param.origin + ")") + "\n";
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON

namespace {

/// A JSON value being built: a preformatted scalar, an object or an array.
class Json {
 public:
  static Json raw(std::string text) {
    Json j;
    j.raw_ = std::move(text);
    return j;
  }
  static Json string(std::string_view text) { return raw(json_string(text)); }
  static Json object() {
    Json j;
    j.kind_ = Kind::Object;
    return j;
  }
  static Json array() {
    Json j;
    j.kind_ = Kind::Array;
    return j;
  }
  Json& set(std::string key, Json value) {
    members_.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  Json& push(Json value) {
    members_.emplace_back("", std::move(value));
    return *this;
  }
  /// Two-space indentation; objects and arrays that fit on one short line stay on one line.
  [[nodiscard]] std::string dump(int depth = 0) const {
    if (kind_ == Kind::Raw) return raw_;
    const char* open = kind_ == Kind::Object ? "{" : "[";
    const char* close = kind_ == Kind::Object ? "}" : "]";
    if (members_.empty()) return std::string(open) + close;
    std::string flat = flat_dump();
    if (!flat.empty() && flat.size() + static_cast<std::size_t>(depth) * 2 <= 110) return flat;
    std::string out = std::string(open) + "\n";
    for (std::size_t k = 0; k < members_.size(); ++k) {
      out += indent((depth + 1) * 2);
      if (kind_ == Kind::Object) out += json_string(members_[k].first) + ": ";
      out += members_[k].second.dump(depth + 1) + (k + 1 < members_.size() ? ",\n" : "\n");
    }
    return out + indent(depth * 2) + close;
  }

 private:
  enum class Kind { Raw, Object, Array };
  /// One line, or empty when a member is itself too big.
  [[nodiscard]] std::string flat_dump() const {
    if (kind_ == Kind::Raw) return raw_;
    std::string out = kind_ == Kind::Object ? "{" : "[";
    for (std::size_t k = 0; k < members_.size(); ++k) {
      std::string member = members_[k].second.flat_dump();
      if (member.empty() || member.size() > 110) return "";
      out += (k ? ", " : "") + (kind_ == Kind::Object ? json_string(members_[k].first) + ": " : "") + member;
    }
    return out + (kind_ == Kind::Object ? "}" : "]");
  }
  Kind kind_ = Kind::Raw;
  std::string raw_;
  std::vector<std::pair<std::string, Json>> members_;
};

Json truth_json(Truth t) { return Json::raw(t == Truth::True ? "true" : t == Truth::False ? "false" : "null"); }

Json record_json(const ShownRecord& r) {
  Json j = Json::object();
  j.set("id", Json::string(r.id));
  if (!r.name.empty()) j.set("name", Json::string(r.name));
  if (!r.fields.empty()) {
    Json fields = Json::object();
    for (const auto& [name, value] : r.fields) fields.set(name, Json::raw(value.json));
    j.set("fields", std::move(fields));
  }
  if (r.value) j.set("value", Json::raw(r.value->json));
  return j;
}

Json records_json(const std::vector<ShownRecord>& records) {
  Json j = Json::array();
  for (const auto& r : records) j.push(record_json(r));
  return j;
}

Json set_json(const ShownSet& s) {
  Json j = Json::object();
  j.set("expression", Json::string(s.expression));
  if (!s.value_expression.empty()) j.set("value_expression", Json::string(s.value_expression));
  j.set("entity", Json::string(s.entity));
  j.set("count", Json::raw(std::to_string(s.count)));
  j.set("same_for_every_subject", Json::raw(s.same_for_every_subject ? "true" : "false"));
  if (!s.same_for_every_subject) j.set("records", records_json(s.records));
  return j;
}

Json condition_json(const ShownCondition& c) {
  Json j = Json::object();
  j.set("expression", Json::string(c.expression));
  const char* kind = c.kind == ShownCondition::Kind::All   ? "all"
                     : c.kind == ShownCondition::Kind::Any ? "any"
                     : c.kind == ShownCondition::Kind::Not ? "not"
                                                           : "test";
  j.set("kind", Json::string(kind));
  j.set("result", truth_json(c.result));
  if (c.kind == ShownCondition::Kind::Test) {
    if (!c.op.empty()) j.set("operator", Json::string(c.op));
    if (c.left) j.set("left", Json::raw(c.left->json));
    if (c.right) j.set("right", Json::raw(c.right->json));
    if (!c.test.empty()) j.set("test", Json::string(c.test));
  }
  if (!c.reason.empty()) j.set("reason", Json::string(c.reason));
  if (!c.parts.empty()) {
    Json parts = Json::array();
    for (const auto& part : c.parts) parts.push(condition_json(part));
    j.set("parts", std::move(parts));
  }
  if (!c.sets.empty()) {
    Json sets = Json::array();
    for (const auto& s : c.sets) sets.push(set_json(s));
    j.set("sets", std::move(sets));
  }
  return j;
}

}  // namespace

std::string render_explanation_json(const Explanation& e) {
  Json root = Json::object();
  root.set("schema", Json::string("rapport.explain/1"));
  root.set("as_of", Json::string(e.as_of));
  root.set("pack", Json::object().set("name", Json::string(e.pack)).set("version", Json::string(e.pack_version)));
  root.set("rule", Json::string(e.rule));
  root.set("title", Json::string(e.title));
  root.set("severity", Json::string(dsl::severity_name(e.severity)));
  root.set("enabled", Json::raw(e.enabled ? "true" : "false"));

  Json subject = Json::object();
  subject.set("entity", Json::string(e.subject_entity));
  subject.set("variable", Json::string(e.subject_var));
  if (e.value_subject) {
    subject.set("value", Json::raw(e.subject_value.json));
  } else {
    subject.set("id", Json::string(e.subject_id));
    if (!e.subject_name.empty()) subject.set("name", Json::string(e.subject_name));
  }
  root.set("subject", std::move(subject));
  root.set("included", Json::raw(e.included ? "true" : "false"));

  Json selection = Json::object();
  selection.set("expression", Json::string(e.selection.expression));
  if (!e.selection.where_expression.empty()) selection.set("where", Json::string(e.selection.where_expression));
  if (e.selection.where) selection.set("condition", condition_json(*e.selection.where));
  if (e.value_subject && !e.included) {
    selection.set("value_expression", Json::string(e.selection.value_expression));
    selection.set("rows_with_value", Json::raw(std::to_string(e.selection.rows_count)));
    Json rows = Json::array();
    for (const auto& row : e.selection.rows) {
      Json r = record_json(row.record);
      r.set("condition", condition_json(row.where));
      rows.push(std::move(r));
    }
    selection.set("rows", std::move(rows));
  }
  root.set("selection", std::move(selection));

  Json lets = Json::array();
  for (const auto& let : e.lets) {
    Json j = Json::object();
    j.set("name", Json::string(let.name));
    j.set("expression", Json::string(let.expression));
    j.set("value", Json::raw(let.value.json));
    j.set("text", Json::string(let.value.text));
    if (let.count) j.set("count", Json::raw(std::to_string(*let.count)));
    if (!let.steps.empty()) j.set("steps", Json::string(let.steps));
    if (!let.reason.empty()) j.set("reason", Json::string(let.reason));
    if (let.records) j.set("records", records_json(let.records->records));
    if (!let.sets.empty()) {
      Json sets = Json::array();
      for (const auto& s : let.sets) sets.push(set_json(s));
      j.set("sets", std::move(sets));
    }
    lets.push(std::move(j));
  }
  root.set("lets", std::move(lets));
  root.set("when", e.when ? condition_json(*e.when) : Json::raw("null"));
  Json escalations = Json::array();
  for (const auto& escalation : e.escalations) {
    Json j = Json::object();
    j.set("severity", Json::string(dsl::severity_name(escalation.severity)));
    j.set("applies", Json::raw(e.outcome == Outcome::Finding && escalation.condition.result == Truth::True ? "true" : "false"));
    j.set("condition", condition_json(escalation.condition));
    escalations.push(std::move(j));
  }
  root.set("escalations", std::move(escalations));
  const char* outcome = e.outcome == Outcome::Finding     ? "finding"
                        : e.outcome == Outcome::NoFinding ? "no_finding"
                        : e.outcome == Outcome::Unknown   ? "unknown"
                                                          : "not_a_subject";
  root.set("result", Json::string(outcome));
  if (e.finding) {
    Json f = Json::object();
    f.set("severity", Json::string(dsl::severity_name(e.finding->severity)));
    f.set("base_severity", Json::string(dsl::severity_name(e.finding->base_severity)));
    f.set("message", Json::string(e.finding->message.str()));
    f.set("remedy", Json::string(e.finding->remedy.str()));
    f.set("fingerprint", Json::string(e.finding->fingerprint()));
    root.set("finding", std::move(f));
  } else {
    root.set("finding", Json::raw("null"));
  }
  Json params = Json::array();
  for (const auto& param : e.params) {
    Json j = Json::object();
    j.set("name", Json::string(param.name));
    if (!param.by.empty()) j.set("by", Json::string(param.by));
    j.set("value", Json::raw(param.value.json));
    j.set("origin", Json::string(param.origin));
    params.push(std::move(j));
  }
  root.set("params", std::move(params));
  return root.dump() + "\n";
}

}  // namespace rapport::engine
