#include "model/schema.hpp"

namespace rapport::model {

std::string_view field_type_name(FieldType type) {
  switch (type) {
    case FieldType::Text: return "text";
    case FieldType::Number: return "number";
    case FieldType::Bool: return "bool";
    case FieldType::Timestamp: return "timestamp";
    case FieldType::Date: return "date";
    case FieldType::Enum: return "enum";
    case FieldType::Ref: return "reference";
    case FieldType::TextList: return "list of text";
  }
  return "text";
}

std::optional<int> FieldDef::enum_rank(std::string_view value) const {
  for (std::size_t i = 0; i < enum_values.size(); ++i) {
    if (enum_values[i] == value) return static_cast<int>(i);
  }
  return std::nullopt;
}

std::string FieldDef::link_name() const {
  if (name.size() > 3 && name.ends_with("_id")) return name.substr(0, name.size() - 3);
  return name;
}

const FieldDef* EntityDef::field(std::string_view field_name) const {
  for (const auto& f : fields) {
    if (f.name == field_name) return &f;
  }
  return nullptr;
}

const FieldDef* EntityDef::link(std::string_view link_name) const {
  for (const auto& f : fields) {
    if (f.type == FieldType::Ref && !f.ref_entity.empty() && f.link_name() == link_name) return &f;
  }
  return nullptr;
}

std::vector<std::string> EntityDef::field_names() const {
  std::vector<std::string> names;
  for (const auto& f : fields) names.push_back(f.name);
  return names;
}

std::string singular_of(std::string_view plural) {
  std::string s(plural);
  if (s.ends_with("ies")) return s.substr(0, s.size() - 3) + "y";
  if (s.ends_with("sses")) return s.substr(0, s.size() - 2);
  if (s.ends_with("s") && s.size() > 1) return s.substr(0, s.size() - 1);
  return s;
}

namespace {

FieldDef text(std::string name, bool nullable = true) {
  FieldDef f;
  f.name = std::move(name);
  f.nullable = nullable;
  return f;
}
FieldDef typed(std::string name, FieldType type) {
  FieldDef f;
  f.name = std::move(name);
  f.type = type;
  return f;
}
FieldDef enumeration(std::string name, std::vector<std::string> values, bool ordered) {
  FieldDef f;
  f.name = std::move(name);
  f.type = FieldType::Enum;
  f.enum_values = std::move(values);
  f.ordered = ordered;
  return f;
}
FieldDef ref(std::string name, std::string target) {
  FieldDef f;
  f.name = std::move(name);
  f.type = FieldType::Ref;
  f.ref_entity = std::move(target);
  return f;
}
EntityDef entity(std::string name, std::vector<FieldDef> fields) {
  EntityDef e;
  e.singular = singular_of(name);
  e.name = std::move(name);
  e.fields.push_back(text("id", false));
  for (auto& f : fields) e.fields.push_back(std::move(f));
  return e;
}

Schema build_canonical() {
  using T = FieldType;
  const std::vector<std::string> service_tiers = {"basic", "standard", "premium", "enterprise"};
  Schema schema;
  auto add = [&schema](EntityDef def) {
    EntityDef& e = schema.add_entity(def.name);
    e = std::move(def);
  };
  add(entity("users", {text("name"), text("email"),
                       enumeration("role", {"account_manager", "sales", "support", "engineer", "executive", "telesales"}, false),
                       ref("manager_id", "users"), text("team"), text("region"), typed("active", T::Bool),
                       typed("capacity_hours_week", T::Number)}));
  add(entity("accounts", {text("name"), ref("owner_id", "users"),
                          enumeration("tier", {"strategic", "key", "growth", "standard"}, false), text("industry"),
                          text("region"), text("country"), typed("annual_revenue", T::Number),
                          enumeration("criticality", {"low", "medium", "high", "mission_critical"}, true),
                          typed("created_at", T::Timestamp)}));
  add(entity("contacts", {text("name"), text("email"), ref("account_id", "accounts"),
                          enumeration("role", {"executive", "decision_maker", "purchasing", "finance", "technical", "end_user"}, false),
                          typed("last_contacted_at", T::Timestamp)}));
  add(entity("opportunities", {text("name"), ref("account_id", "accounts"), ref("owner_id", "users"),
                               enumeration("kind", {"new", "upsell", "renewal"}, false),
                               enumeration("stage", {"prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"}, true),
                               typed("amount", T::Number), typed("discount_pct", T::Number),
                               enumeration("service_tier", service_tiers, true), typed("promised_features", T::TextList),
                               typed("created_at", T::Timestamp), typed("close_date", T::Date)}));
  add(entity("activities", {ref("account_id", "accounts"), ref("owner_id", "users"), ref("opportunity_id", "opportunities"),
                            ref("contact_id", "contacts"),
                            enumeration("type", {"meeting", "call", "email", "visit", "task"}, false), text("subject"),
                            typed("topics", T::TextList), typed("on_site", T::Bool), typed("started_at", T::Timestamp),
                            typed("duration_minutes", T::Number)}));
  add(entity("contracts", {ref("account_id", "accounts"), enumeration("service_tier", service_tiers, true),
                           typed("sla_response_hours", T::Number), typed("annual_value", T::Number),
                           typed("promised_features", T::TextList), typed("start_date", T::Date), typed("end_date", T::Date)}));
  add(entity("cases", {ref("account_id", "accounts"), ref("contract_id", "contracts"), ref("assignee_id", "users"),
                       enumeration("priority", {"low", "normal", "high", "urgent"}, true), typed("opened_at", T::Timestamp),
                       typed("first_response_at", T::Timestamp), typed("resolved_at", T::Timestamp),
                       typed("effort_hours", T::Number), typed("csat", T::Number)}));
  add(entity("surveys", {ref("account_id", "accounts"), ref("contact_id", "contacts"), typed("answered_at", T::Timestamp),
                         typed("nps", T::Number), typed("emotions", T::TextList)}));
  add(entity("capabilities", {text("name"), enumeration("status", {"available", "beta", "planned", "retired"}, false)}));
  // Fields the model documents as legitimately missing ("null = nobody owns it", "optional",
  // "may be null", "null when not rated"); the checker warns about unguarded comparisons on them.
  const std::vector<std::pair<std::string, std::string>> optional_fields = {
      {"users", "manager_id"},          {"accounts", "owner_id"},         {"contacts", "last_contacted_at"},
      {"activities", "opportunity_id"}, {"activities", "contact_id"},     {"cases", "contract_id"},
      {"cases", "first_response_at"},   {"cases", "resolved_at"},         {"cases", "csat"}};
  for (auto& e : schema.entities()) {
    EntityDef* def = schema.entity_mut(e.name);
    for (auto& f : def->fields) {
      f.nullable = false;
      for (const auto& [entity_name, field_name] : optional_fields) {
        if (entity_name == e.name && field_name == f.name) f.nullable = true;
      }
    }
  }
  return schema;
}

}  // namespace

const Schema& Schema::canonical() {
  static const Schema schema = build_canonical();
  return schema;
}

const EntityDef* Schema::entity(std::string_view name) const {
  for (const auto& e : entities_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

EntityDef* Schema::entity_mut(std::string_view name) {
  for (auto& e : entities_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

const EntityDef* Schema::entity_by_singular(std::string_view singular) const {
  for (const auto& e : entities_) {
    if (e.singular == singular) return &e;
  }
  return nullptr;
}

std::vector<std::string> Schema::entity_names() const {
  std::vector<std::string> names;
  for (const auto& e : entities_) names.push_back(e.name);
  return names;
}

EntityDef& Schema::add_entity(std::string name) {
  if (EntityDef* existing = entity_mut(name)) return *existing;
  EntityDef e;
  e.singular = singular_of(name);
  e.name = std::move(name);
  e.declared = false;
  e.fields.push_back(text("id", false));
  entities_.push_back(std::move(e));
  return entities_.back();
}

void Schema::add_field(std::string_view entity_name, FieldDef field) {
  EntityDef* e = entity_mut(entity_name);
  if (!e || e->field(field.name)) return;
  field.declared = false;
  e->fields.push_back(std::move(field));
}

void Schema::resolve_discovered_links() {
  for (auto& e : entities_) {
    for (auto& f : e.fields) {
      if (f.declared || !f.name.ends_with("_id") || f.name.size() <= 3) continue;
      std::string stem = f.link_name();
      for (const auto& target : entities_) {
        if (target.singular == stem) {
          f.type = FieldType::Ref;
          f.ref_entity = target.name;
        }
      }
    }
  }
}

}  // namespace rapport::model
