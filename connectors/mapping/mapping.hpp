#pragma once
// How a CRM's records become canonical records (../shared/crm-model.md): per entity, the vendor
// objects it is read from and, per canonical field, the vendor fields, enum value map and list
// separator. Defaults for Salesforce; a deployment's mapping.yaml overrides and adds fields.

#include <boost/json.hpp>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "diag/diagnostic.hpp"
#include "model/schema.hpp"

namespace rapport::mapping {

/// One canonical field and where its value comes from.
struct FieldRule {
  std::string target;             // canonical (or deployment) field name
  model::FieldType type = model::FieldType::Text;
  std::vector<std::string> from;  // vendor fields; the first non-null one gives the value
  std::optional<std::string> constant;  // a fixed value instead of `from`
  std::map<std::string, std::string> values;  // vendor value -> canonical value
  std::string split = ";";        // separator of list fields given as text
  std::vector<std::string> enum_values;  // allowed values of an Enum target
};

/// One vendor object (Salesforce sObject) feeding an entity.
struct ObjectRule {
  std::string object;  // "Account", "Task"
  std::vector<FieldRule> fields;
};

struct EntityRule {
  std::string entity;  // "accounts"
  std::vector<ObjectRule> objects;
};

struct Mapping {
  std::vector<EntityRule> entities;

  [[nodiscard]] const EntityRule* entity(std::string_view name) const;
  [[nodiscard]] EntityRule* entity_mut(std::string_view name);
  [[nodiscard]] std::vector<std::string> entity_names() const;
};

/// Salesforce -> canonical model for users, accounts, contacts, opportunities, activities
/// (Task and Event) and cases. docs/connectors.md lists every field.
Mapping salesforce_default();

/// Applies a mapping file (YAML) onto `mapping`. Reports every mistake with its position;
/// returns false when there were errors (the mapping is then partly applied).
bool apply_mapping_file(const std::string& path, Mapping& mapping, diag::DiagnosticSink& sink);

/// The vendor fields to request for one object, each once, in mapping order.
std::vector<std::string> source_fields(const ObjectRule& object);

/// A vendor record that cannot be mapped (a value of the wrong type, an enum value with no mapping).
class MappingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The canonical record for one vendor record: every mapped field in mapping order, null when
/// the vendor has no value. Throws MappingError naming the object, the record id and the field.
boost::json::object map_record(const ObjectRule& object, const boost::json::object& record);

}  // namespace rapport::mapping
