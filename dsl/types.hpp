#pragma once
// The static types of the rule language.

#include <memory>
#include <string>

#include "model/schema.hpp"

namespace rapport::dsl {

enum class Kind {
  Error,      // a mistake was already reported; suppresses follow-on errors
  Bool,
  Number,
  Duration,   // seconds
  Date,       // seconds at 00:00Z
  Timestamp,  // seconds
  Text,
  Enum,       // a value of an enum field (enum_field says which)
  Row,        // one row of `entity`
  Set,        // rows of `entity`
  List,       // values of `element`
};

/// How a number reads: a count prints as an integer, a percent as "12%".
enum class Unit { None, Count, Percent };

struct Type {
  Kind kind = Kind::Error;
  Unit unit = Unit::None;
  std::string entity;                       // Row, Set; for Enum the owning entity
  const model::FieldDef* enum_field = nullptr;  // Enum (or List of Enum through element)
  std::shared_ptr<Type> element;            // List

  static Type error() { return {}; }
  static Type of(Kind kind, Unit unit = Unit::None) {
    Type t;
    t.kind = kind;
    t.unit = unit;
    return t;
  }
  static Type row(std::string entity);
  static Type set(std::string entity);
  static Type list(Type element);
  static Type enumeration(std::string entity, const model::FieldDef* field);

  [[nodiscard]] bool is_error() const { return kind == Kind::Error; }
  [[nodiscard]] bool is_scalar() const { return kind != Kind::Row && kind != Kind::Set && kind != Kind::List && kind != Kind::Error; }
  [[nodiscard]] bool is_textual() const { return kind == Kind::Text || kind == Kind::Enum; }
  [[nodiscard]] bool is_timeish() const { return kind == Kind::Date || kind == Kind::Timestamp; }
  /// Stored as a double at run time (Bool, Number, Duration, Date, Timestamp).
  [[nodiscard]] bool is_numeric_storage() const {
    return kind == Kind::Bool || kind == Kind::Number || kind == Kind::Duration || is_timeish();
  }
};

/// For messages: "number", "duration", "list of text", "set of accounts", "accounts.tier".
std::string describe(const Type& type);

/// The type of a model field's values.
Type field_type(const model::EntityDef& entity, const model::FieldDef& field);

}  // namespace rapport::dsl
