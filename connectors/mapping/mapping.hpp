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
  /// vendor value -> canonical value. A key `field=value` applies only to that vendor field (it
  /// wins over a bare `value`); numbers and booleans are looked up as their JSON text (`3`,
  /// `true`). A value mapped to "" counts as no value: the next field of `from` is tried.
  std::map<std::string, std::string> values;
  std::string split = ";";        // separator of list fields given as text
  /// Set: the text of every non-null `from` field, joined with this separator (HubSpot's
  /// firstname + lastname), instead of the first non-null one.
  std::optional<std::string> join;
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

/// Dynamics 365 (Dataverse Web API) -> canonical model for users (systemusers), accounts,
/// contacts, opportunities, activities (phonecalls, appointments, tasks) and cases (incidents).
/// docs/connectors.md lists every column.
Mapping dynamics_default();

/// HubSpot CRM v3 -> canonical model for users (owners), accounts (companies), contacts,
/// opportunities (deals), activities (calls, meetings, tasks, emails) and cases (tickets).
/// Associations are vendor fields named `associations.<object type>`. docs/connectors.md lists
/// every property.
Mapping hubspot_default();

/// Building blocks of the vendor defaults: a rule for `entity.target` read from `from` (type and
/// enum values taken from the canonical model), and one giving it a fixed value.
FieldRule default_rule(std::string_view entity, std::string target, std::vector<std::string> from,
                       std::map<std::string, std::string> values = {});
FieldRule default_constant(std::string_view entity, std::string target, std::string value);

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
