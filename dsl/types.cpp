#include "dsl/types.hpp"

namespace rapport::dsl {

Type Type::row(std::string entity) {
  Type t = of(Kind::Row);
  t.entity = std::move(entity);
  return t;
}

Type Type::set(std::string entity) {
  Type t = of(Kind::Set);
  t.entity = std::move(entity);
  return t;
}

Type Type::list(Type element) {
  Type t = of(Kind::List);
  t.element = std::make_shared<Type>(std::move(element));
  return t;
}

Type Type::enumeration(std::string entity, const model::FieldDef* field) {
  Type t = of(Kind::Enum);
  t.entity = std::move(entity);
  t.enum_field = field;
  return t;
}

std::string describe(const Type& type) {
  switch (type.kind) {
    case Kind::Error: return "an invalid expression";
    case Kind::Bool: return "bool";
    case Kind::Number:
      return type.unit == Unit::Count ? "count" : type.unit == Unit::Percent ? "percent" : "number";
    case Kind::Duration: return "duration";
    case Kind::Date: return "date";
    case Kind::Timestamp: return "timestamp";
    case Kind::Text: return "text";
    case Kind::Enum:
      return type.enum_field ? type.entity + "." + type.enum_field->name + " (enum)" : "enum";
    case Kind::Row: return "one row of " + type.entity;
    case Kind::Set: return "a set of " + type.entity;
    case Kind::List: return "list of " + (type.element ? describe(*type.element) : std::string("values"));
  }
  return "value";
}

Type field_type(const model::EntityDef& entity, const model::FieldDef& field) {
  using model::FieldType;
  switch (field.type) {
    case FieldType::Text: return Type::of(Kind::Text);
    case FieldType::Number: return Type::of(Kind::Number);
    case FieldType::Bool: return Type::of(Kind::Bool);
    case FieldType::Timestamp: return Type::of(Kind::Timestamp);
    case FieldType::Date: return Type::of(Kind::Date);
    case FieldType::Enum: return Type::enumeration(entity.name, &field);
    case FieldType::Ref: return Type::of(Kind::Text);  // the raw id; navigation goes through link_name()
    case FieldType::TextList: return Type::list(Type::of(Kind::Text));
  }
  return Type::of(Kind::Text);
}

}  // namespace rapport::dsl
