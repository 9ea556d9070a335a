#include "connectors/mapping/mapping.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "connectors/mapping/yaml_support.hpp"
#include "connectors/salesforce/query.hpp"
#include "diag/suggest.hpp"

namespace rapport::mapping {

namespace json = boost::json;
using connectors::quote;
using connectors::span_of;
using diag::Code;

namespace {

const model::FieldDef* canonical_field(std::string_view entity, std::string_view field) {
  const model::EntityDef* e = model::Schema::canonical().entity(entity);
  return e ? e->field(field) : nullptr;
}

FieldRule rule(std::string_view entity, std::string target, std::vector<std::string> from,
               std::map<std::string, std::string> values = {}) {
  FieldRule r;
  r.target = std::move(target);
  r.from = std::move(from);
  r.values = std::move(values);
  if (const model::FieldDef* def = canonical_field(entity, r.target)) {
    r.type = def->type;
    r.enum_values = def->enum_values;
  }
  return r;
}

FieldRule constant(std::string_view entity, std::string target, std::string value) {
  FieldRule r = rule(entity, std::move(target), {});
  r.constant = std::move(value);
  return r;
}

std::optional<model::FieldType> parse_type(std::string_view name) {
  if (name == "text") return model::FieldType::Text;
  if (name == "number") return model::FieldType::Number;
  if (name == "bool") return model::FieldType::Bool;
  if (name == "timestamp") return model::FieldType::Timestamp;
  if (name == "date") return model::FieldType::Date;
  if (name == "list") return model::FieldType::TextList;
  return std::nullopt;
}

std::string normalise_enum(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' || c == '-' || c == '/') out += '_';
    else out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

/// The vendor's id of a record: the field the canonical `id` is read from.
std::string record_id(const ObjectRule& object, const json::object& record) {
  for (const FieldRule& rule : object.fields) {
    if (rule.target != "id" || rule.from.empty()) continue;
    const json::value* id = record.if_contains(rule.from.front());
    if (id && id->is_string()) return std::string(id->as_string());
  }
  return "(no Id)";
}

std::string show(const json::value& value) { return json::serialize(value); }

}  // namespace

const EntityRule* Mapping::entity(std::string_view name) const {
  for (const auto& e : entities) {
    if (e.entity == name) return &e;
  }
  return nullptr;
}

EntityRule* Mapping::entity_mut(std::string_view name) {
  for (auto& e : entities) {
    if (e.entity == name) return &e;
  }
  return nullptr;
}

std::vector<std::string> Mapping::entity_names() const {
  std::vector<std::string> names;
  for (const auto& e : entities) names.push_back(e.entity);
  return names;
}

FieldRule default_rule(std::string_view entity, std::string target, std::vector<std::string> from,
                       std::map<std::string, std::string> values) {
  return rule(entity, std::move(target), std::move(from), std::move(values));
}

FieldRule default_constant(std::string_view entity, std::string target, std::string value) {
  return constant(entity, std::move(target), std::move(value));
}

Mapping salesforce_default() {
  const std::map<std::string, std::string> stages = {
      {"Prospecting", "prospecting"},        {"Qualification", "qualification"},
      {"Needs Analysis", "qualification"},   {"Value Proposition", "proposal"},
      {"Id. Decision Makers", "qualification"}, {"Perception Analysis", "proposal"},
      {"Proposal/Price Quote", "proposal"},  {"Negotiation/Review", "negotiation"},
      {"Closed Won", "closed_won"},          {"Closed Lost", "closed_lost"}};
  const std::map<std::string, std::string> priorities = {
      {"Low", "low"}, {"Medium", "normal"}, {"High", "high"}, {"Critical", "urgent"}};
  const std::map<std::string, std::string> task_types = {
      {"Task", "task"}, {"Call", "call"}, {"Email", "email"}, {"ListEmail", "email"}};

  Mapping m;
  m.entities.push_back({"users", {{"User", {rule("users", "id", {"Id"}), rule("users", "name", {"Name"}),
                                            rule("users", "email", {"Email"}), rule("users", "active", {"IsActive"}),
                                            rule("users", "manager_id", {"ManagerId"})}}}});
  m.entities.push_back(
      {"accounts",
       {{"Account",
         {rule("accounts", "id", {"Id"}), rule("accounts", "name", {"Name"}), rule("accounts", "owner_id", {"OwnerId"}),
          rule("accounts", "industry", {"Industry"}), rule("accounts", "annual_revenue", {"AnnualRevenue"}),
          rule("accounts", "country", {"BillingCountry"}), rule("accounts", "created_at", {"CreatedDate"})}}}});
  m.entities.push_back(
      {"contacts",
       {{"Contact",
         {rule("contacts", "id", {"Id"}), rule("contacts", "name", {"Name"}), rule("contacts", "email", {"Email"}),
          rule("contacts", "account_id", {"AccountId"}),
          rule("contacts", "last_contacted_at", {"LastActivityDate"})}}}});
  m.entities.push_back(
      {"opportunities",
       {{"Opportunity",
         {rule("opportunities", "id", {"Id"}), rule("opportunities", "name", {"Name"}),
          rule("opportunities", "account_id", {"AccountId"}), rule("opportunities", "owner_id", {"OwnerId"}),
          rule("opportunities", "stage", {"StageName"}, stages), rule("opportunities", "amount", {"Amount"}),
          rule("opportunities", "close_date", {"CloseDate"}),
          rule("opportunities", "created_at", {"CreatedDate"})}}}});
  m.entities.push_back(
      {"activities",
       {{"Task",
         {rule("activities", "id", {"Id"}), rule("activities", "account_id", {"AccountId"}),
          rule("activities", "owner_id", {"OwnerId"}), rule("activities", "contact_id", {"WhoId"}),
          rule("activities", "type", {"TaskSubtype"}, task_types), rule("activities", "subject", {"Subject"}),
          rule("activities", "started_at", {"ActivityDate"})}},
        {"Event",
         {rule("activities", "id", {"Id"}), rule("activities", "account_id", {"AccountId"}),
          rule("activities", "owner_id", {"OwnerId"}), rule("activities", "contact_id", {"WhoId"}),
          constant("activities", "type", "meeting"), rule("activities", "subject", {"Subject"}),
          rule("activities", "started_at", {"StartDateTime"}),
          rule("activities", "duration_minutes", {"DurationInMinutes"})}}}});
  m.entities.push_back(
      {"cases",
       {{"Case",
         {rule("cases", "id", {"Id"}), rule("cases", "account_id", {"AccountId"}),
          rule("cases", "assignee_id", {"OwnerId"}), rule("cases", "priority", {"Priority"}, priorities),
          rule("cases", "opened_at", {"CreatedDate"}), rule("cases", "resolved_at", {"ClosedDate"})}}}});
  return m;
}

namespace {

/// Reads one `field: ...` entry of a mapping file into `out` (a copy of the current rule or a new one).
bool read_field(const std::string& entity, const YAML::Node& key, const YAML::Node& node, const diag::SourceFilePtr& file,
                FieldRule& out, bool is_new, diag::DiagnosticSink& sink) {
  const std::string target = key.Scalar();
  bool ok = true;
  auto read_from = [&](const YAML::Node& from) {
    std::vector<std::string> fields;
    if (from.IsScalar()) {
      fields.push_back(from.Scalar());
    } else if (from.IsSequence() && from.size() > 0) {
      for (const auto& item : from) {
        auto text = connectors::scalar_text(item, file, "a vendor field name", sink);
        if (!text) return false;
        fields.push_back(*text);
      }
    } else {
      sink.error(Code::ParamOverrideType, file, span_of(from, *file),
                 "`from` must be a vendor field name or a list of them");
      return false;
    }
    out.from = std::move(fields);
    out.constant.reset();
    return true;
  };
  if (node.IsScalar()) return read_from(node);
  if (!node.IsMap()) {
    sink.error(Code::ParamOverrideType, file, span_of(node, *file),
               "the mapping of " + quote(target) + " must be a vendor field name or a map with `from`");
    return false;
  }
  if (!connectors::check_keys(node, file, {"from", "const", "values", "split", "join", "type"}, "a field mapping", sink)) {
    ok = false;
  }
  if (YAML::Node type = node["type"]) {
    auto text = connectors::scalar_text(type, file, "`type`", sink);
    auto parsed = text ? parse_type(*text) : std::nullopt;
    if (text && !parsed) {
      auto& d = sink.error(Code::UnknownType, file, span_of(type, *file), "unknown field type " + quote(*text));
      if (auto s = diag::closest(*text, {"text", "number", "bool", "timestamp", "date", "list"})) {
        d.help("did you mean " + quote(*s) + "?");
      } else {
        d.help("field types: text, number, bool, timestamp, date, list");
      }
    }
    if (!parsed) {
      ok = false;
    } else if (!is_new || canonical_field(entity, target)) {
      sink.error(Code::ParamOverrideType, file, span_of(type, *file),
                 quote(target) + " is a field of the canonical model; its type is fixed");
      ok = false;
    } else {
      out.type = *parsed;
    }
  }
  if (YAML::Node from = node["from"]) ok = read_from(from) && ok;
  if (YAML::Node value = node["const"]) {
    if (auto text = connectors::scalar_text(value, file, "`const`", sink)) {
      out.constant = *text;
      out.from.clear();
    } else {
      ok = false;
    }
  }
  if (YAML::Node split = node["split"]) {
    auto text = connectors::scalar_text(split, file, "`split`", sink);
    if (text && !text->empty()) out.split = *text;
    else ok = false;
  }
  if (YAML::Node join = node["join"]) {
    if (auto text = connectors::scalar_text(join, file, "`join`", sink)) out.join = *text;
    else ok = false;
  }
  if (YAML::Node values = node["values"]) {
    if (!values.IsMap()) {
      sink.error(Code::ParamOverrideType, file, span_of(values, *file),
                 "`values` must map vendor values to canonical values");
      ok = false;
    } else {
      for (const auto& entry : values) {
        auto to = connectors::scalar_text(entry.second, file, "a canonical value", sink);
        if (!to) {
          ok = false;
          continue;
        }
        if (!to->empty() && !out.enum_values.empty() &&
            std::find(out.enum_values.begin(), out.enum_values.end(), *to) == out.enum_values.end()) {
          auto& d = sink.error(Code::UnknownEnumValue, file, span_of(entry.second, *file),
                               quote(*to) + " is not a value of " + entity + "." + target);
          if (auto s = diag::closest(*to, out.enum_values)) d.help("did you mean " + quote(*s) + "?");
          std::string list;
          for (const auto& v : out.enum_values) list += (list.empty() ? "" : ", ") + v;
          d.note("values of " + entity + "." + target + ": " + list);
          ok = false;
          continue;
        }
        out.values[entry.first.Scalar()] = *to;
      }
    }
  }
  if (out.from.empty() && !out.constant) {
    sink.error(Code::MissingClause, file, span_of(key, *file), quote(target) + " needs `from` or `const`");
    ok = false;
  }
  return ok;
}

}  // namespace

bool apply_mapping_file(const std::string& path, Mapping& mapping, diag::DiagnosticSink& sink) {
  diag::SourceFilePtr file;
  auto root = connectors::load_yaml(path, file, sink);
  if (!root) return false;
  if (root->IsNull()) return true;
  if (!root->IsMap()) {
    sink.error(Code::ParamOverrideType, file, span_of(*root, *file), "a mapping file is a map with `objects`");
    return false;
  }
  bool ok = connectors::check_keys(*root, file, {"objects"}, "the mapping file", sink);
  YAML::Node objects = (*root)["objects"];
  if (!objects) return ok;
  if (!objects.IsMap()) {
    sink.error(Code::ParamOverrideType, file, span_of(objects, *file), "`objects` must map entity names to fields");
    return false;
  }
  for (const auto& entry : objects) {
    const std::string entity = entry.first.Scalar();
    EntityRule* rules = mapping.entity_mut(entity);
    if (!rules) {
      auto& d = sink.error(Code::UnknownEntity, file, span_of(entry.first, *file),
                           quote(entity) + " is not an entity this connector maps");
      if (auto s = diag::closest(entity, mapping.entity_names())) d.help("did you mean " + quote(*s) + "?");
      ok = false;
      continue;
    }
    const YAML::Node& body = entry.second;
    if (!body.IsMap()) {
      sink.error(Code::ParamOverrideType, file, span_of(body, *file), "the mapping of " + quote(entity) + " must be a map with `fields`");
      ok = false;
      continue;
    }
    if (!connectors::check_keys(body, file, {"fields"}, "the mapping of " + quote(entity), sink)) ok = false;
    YAML::Node fields = body["fields"];
    if (!fields) continue;
    if (!fields.IsMap()) {
      sink.error(Code::ParamOverrideType, file, span_of(fields, *file), "`fields` must map canonical fields to vendor fields");
      ok = false;
      continue;
    }
    const model::EntityDef* def = model::Schema::canonical().entity(entity);
    for (const auto& field : fields) {
      const std::string target = field.first.Scalar();
      const bool canonical = def && def->field(target);
      const bool declares_type = field.second.IsMap() && field.second["type"];
      if (!canonical && !declares_type) {
        auto& d = sink.error(Code::UnknownField, file, span_of(field.first, *file),
                             quote(target) + " is not a field of " + entity + " in the canonical model");
        if (auto s = diag::closest(target, def ? def->field_names() : std::vector<std::string>{})) {
          d.help("did you mean " + quote(*s) + "?");
        }
        d.help("to add a deployment field, give its `type` (text, number, bool, timestamp, date, list)");
        ok = false;
        continue;
      }
      for (ObjectRule& object : rules->objects) {
        auto existing = std::find_if(object.fields.begin(), object.fields.end(),
                                     [&](const FieldRule& r) { return r.target == target; });
        if (field.second.IsNull()) {  // `field: ~` drops a default mapping
          if (existing != object.fields.end()) object.fields.erase(existing);
          continue;
        }
        const bool is_new = existing == object.fields.end();
        FieldRule updated = is_new ? rule(entity, target, {}) : *existing;
        diag::DiagnosticSink local;
        bool field_ok = read_field(entity, field.first, field.second, file, updated, is_new, local);
        if (&object == &rules->objects.front()) sink.absorb(std::move(local));  // report once per field
        if (!field_ok) {
          ok = false;
          continue;
        }
        if (is_new) object.fields.push_back(std::move(updated));
        else *existing = std::move(updated);
      }
    }
  }
  return ok;
}

std::vector<std::string> source_fields(const ObjectRule& object) {
  std::vector<std::string> fields;
  for (const FieldRule& rule : object.fields) {
    for (const std::string& from : rule.from) {
      if (std::find(fields.begin(), fields.end(), from) == fields.end()) fields.push_back(from);
    }
  }
  return fields;
}

namespace {

/// The canonical value `rule.values` gives a vendor field's value (`field=value` first), if any.
const std::string* mapped_value(const FieldRule& rule, std::string_view field, const json::value& raw) {
  if (rule.values.empty()) return nullptr;
  std::string text;
  if (raw.is_string()) text = std::string(raw.as_string());
  else if (raw.is_number() || raw.is_bool()) text = show(raw);
  else return nullptr;
  auto mapped = rule.values.find(std::string(field) + "=" + text);
  if (mapped == rule.values.end()) mapped = rule.values.find(text);
  return mapped != rule.values.end() ? &mapped->second : nullptr;
}

json::value convert(const ObjectRule& object, const FieldRule& rule, const json::object& record, std::string_view field,
                    const json::value& raw) {
  auto fail = [&](const std::string& why) -> MappingError {
    return MappingError(object.object + " " + record_id(object, record) + ": " + rule.target + ": " + why);
  };
  json::value value = raw;
  if (const std::string* mapped = mapped_value(rule, field, raw)) value = json::string(*mapped);
  switch (rule.type) {
    case model::FieldType::Text:
    case model::FieldType::Ref:
      if (value.is_string()) return value;
      if (value.is_number() || value.is_bool()) return json::string(show(value));
      throw fail("expected text, got " + show(value));
    case model::FieldType::Enum: {
      const std::string unmapped = "the value " + show(raw) + " has no canonical value; map it under `values` in the mapping file";
      if (value.is_number() || value.is_bool()) throw fail(unmapped);  // a choice (option set) number
      if (!value.is_string()) throw fail("expected a picklist value, got " + show(value));
      std::string text(value.as_string());
      auto is_value = [&](const std::string& v) {
        return std::find(rule.enum_values.begin(), rule.enum_values.end(), v) != rule.enum_values.end();
      };
      if (is_value(text)) return json::string(text);
      if (std::string n = normalise_enum(text); is_value(n)) return json::string(n);
      throw fail(unmapped);
    }
    case model::FieldType::Number: {
      std::optional<double> number;
      if (value.is_double()) number = value.as_double();
      else if (value.is_number()) return value;
      if (value.is_string()) {  // HubSpot sends every number as text
        try {
          std::size_t used = 0;
          std::string text(value.as_string());
          double parsed = std::stod(text, &used);
          if (used == text.size()) number = parsed;
        } catch (const std::exception&) {
        }
      }
      if (!number) throw fail("expected a number, got " + show(value));
      // 250000.0 is written as 250000, not 2.5E5
      if (double d = *number; d == static_cast<double>(static_cast<std::int64_t>(d)) && d > -9.0e15 && d < 9.0e15) {
        return json::value(static_cast<std::int64_t>(d));
      }
      return json::value(*number);
    }
    case model::FieldType::Bool:
      if (value.is_bool()) return value;
      if (value.is_string() && (value.as_string() == "true" || value.as_string() == "false")) {
        return json::value(value.as_string() == "true");
      }
      throw fail("expected true or false, got " + show(value));
    case model::FieldType::Timestamp:
      if (value.is_string()) {
        if (auto ts = salesforce::to_utc_timestamp(std::string_view(value.as_string()))) return json::string(*ts);
      }
      throw fail("expected a date-time, got " + show(value));
    case model::FieldType::Date:
      if (value.is_string()) {
        std::string_view text(value.as_string());
        if (auto ts = salesforce::to_utc_timestamp(text); ts && text.size() >= 10) {
          return json::string(std::string(text.substr(0, 10)));
        }
      }
      throw fail("expected a date, got " + show(value));
    case model::FieldType::TextList: {
      json::array items;
      if (value.is_array()) {
        for (const auto& item : value.as_array()) {
          if (!item.is_string()) throw fail("expected a list of text, got " + show(value));
          items.push_back(item);
        }
        return items;
      }
      if (!value.is_string()) throw fail("expected a list of text, got " + show(value));
      std::string_view text(value.as_string());
      while (true) {
        std::size_t at = text.find(rule.split);
        std::string_view item = text.substr(0, at);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty()) {
          std::string s(item);
          auto mapped = rule.values.find(s);
          items.push_back(json::string(mapped != rule.values.end() ? mapped->second : s));
        }
        if (at == std::string_view::npos) break;
        text.remove_prefix(at + rule.split.size());
      }
      return items;
    }
  }
  return value;
}

}  // namespace

json::object map_record(const ObjectRule& object, const json::object& record) {
  json::object out;
  for (const FieldRule& rule : object.fields) {
    if (rule.constant) {
      out[rule.target] = convert(object, rule, record, "", json::string(*rule.constant));
      continue;
    }
    if (rule.join) {
      std::string joined;
      for (const std::string& from : rule.from) {
        const json::value* v = record.if_contains(from);
        if (!v || v->is_null()) continue;
        std::string text = v->is_string() ? std::string(v->as_string()) : show(*v);
        if (!text.empty()) joined += (joined.empty() ? "" : *rule.join) + text;
      }
      out[rule.target] = joined.empty() ? json::value(nullptr) : convert(object, rule, record, "", json::string(joined));
      continue;
    }
    json::value value(nullptr);
    for (const std::string& from : rule.from) {
      const json::value* v = record.if_contains(from);
      if (!v || v->is_null()) continue;
      if (const std::string* mapped = mapped_value(rule, from, *v); mapped && mapped->empty()) continue;
      value = convert(object, rule, record, from, *v);
      break;
    }
    out[rule.target] = std::move(value);
  }
  return out;
}

}  // namespace rapport::mapping
