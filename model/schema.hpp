#pragma once
// The canonical CRM model (v1, ../shared/crm-model.md) as data, plus fields a deployment adds.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::model {

/// How a field's values are stored and typed.
enum class FieldType {
  Text,       // free text
  Number,     // double
  Bool,
  Timestamp,  // ISO 8601 UTC, stored as seconds since the epoch
  Date,       // YYYY-MM-DD, stored as seconds since the epoch at 00:00Z
  Enum,       // one of a fixed set of strings, possibly ordered
  Ref,        // the id of a row of another entity (`*_id`)
  TextList,   // JSON array of strings; `;`-separated in CSV
};

std::string_view field_type_name(FieldType type);

struct FieldDef {
  std::string name;
  FieldType type = FieldType::Text;
  std::vector<std::string> enum_values;  // in order, for Enum
  bool ordered = false;                  // Enum values compare with < and >
  std::string ref_entity;                // for Ref: the target entity (plural name)
  bool nullable = true;                  // the model documents the field as optional (may be missing)
  bool declared = true;                  // false when discovered in the data, not in model v1
  std::string meaning;

  /// Rank of an enum value in declaration order, or nullopt when it is not a value.
  [[nodiscard]] std::optional<int> enum_rank(std::string_view value) const;
  /// The navigation name of a link: `owner_id` -> `owner`.
  [[nodiscard]] std::string link_name() const;
};

struct EntityDef {
  std::string name;      // plural, as in file names: "accounts"
  std::string singular;  // "account"
  std::vector<FieldDef> fields;
  bool declared = true;  // false for entities found only in the data (e.g. teams)

  [[nodiscard]] const FieldDef* field(std::string_view field_name) const;
  /// The link field whose navigation name is `link` (`owner` -> `owner_id`), if any.
  [[nodiscard]] const FieldDef* link(std::string_view link_name) const;
  [[nodiscard]] std::vector<std::string> field_names() const;
};

/// A set of entities. Starts as model v1; data discovery may add fields and entities.
class Schema {
 public:
  /// Model v1 exactly as crm-model.md defines it.
  static const Schema& canonical();

  [[nodiscard]] const EntityDef* entity(std::string_view name) const;
  EntityDef* entity_mut(std::string_view name);
  [[nodiscard]] const std::vector<EntityDef>& entities() const { return entities_; }
  [[nodiscard]] std::vector<std::string> entity_names() const;
  /// The entity whose singular name is `singular` ("account" -> accounts).
  [[nodiscard]] const EntityDef* entity_by_singular(std::string_view singular) const;

  /// Adds an entity (discovered in the data); returns the existing one if already there.
  EntityDef& add_entity(std::string name);
  /// Adds a field discovered in the data unless the entity already has it.
  void add_field(std::string_view entity_name, FieldDef field);
  /// Gives discovered `x_id` fields a link target when an entity named like `x` exists.
  void resolve_discovered_links();

 private:
  std::vector<EntityDef> entities_;
};

/// "accounts" -> "account", "opportunities" -> "opportunity", "cases" -> "case".
std::string singular_of(std::string_view plural);

}  // namespace rapport::model
