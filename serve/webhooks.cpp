#include "serve/webhooks.hpp"

#include <algorithm>
#include <set>

#include "connectors/dynamics/query.hpp"
#include "model/time.hpp"

namespace rapport::serve {

namespace json = boost::json;

namespace {

struct Target {
  const mapping::EntityRule* entity = nullptr;
  const mapping::ObjectRule* object = nullptr;
};

/// The entity and object rule reading vendor object `object` (as `match` says), or nulls.
template <typename Match>
Target find_object(const mapping::Mapping& mapping, Match match) {
  for (const auto& entity : mapping.entities) {
    for (const auto& object : entity.objects) {
      if (match(object.object)) return {&entity, &object};
    }
  }
  return {};
}

/// The vendor field holding the record id.
std::string id_field(const mapping::ObjectRule& object) {
  for (const auto& rule : object.fields) {
    if (rule.target == "id" && !rule.from.empty()) return rule.from.front();
  }
  return "id";
}

/// The canonical fields a partial vendor record sets: the mapping's conversion of the record,
/// keeping only the fields fed by a vendor field the record has (and, for a new record, the
/// mapping's constants).
json::object canonical_fields(const mapping::ObjectRule& object, const json::object& vendor, bool created) {
  json::object mapped = mapping::map_record(object, vendor);
  json::object out;
  for (const auto& rule : object.fields) {
    if (rule.target == "id") continue;
    bool fed = rule.constant ? created
                             : std::any_of(rule.from.begin(), rule.from.end(), [&](const std::string& f) { return vendor.contains(f); });
    if (fed) out[rule.target] = mapped[rule.target];
  }
  return out;
}

engine::RecordChange upsert(const Target& target, const std::string& id, const json::object& vendor, bool created,
                            const std::string& where) {
  json::object record = vendor;
  record[id_field(*target.object)] = id;
  engine::RecordChange change;
  change.entity = target.entity->entity;
  change.id = id;
  try {
    change.fields = canonical_fields(*target.object, record, created);
  } catch (const mapping::MappingError& e) {
    throw WebhookError(where, e.what());
  }
  return change;
}

engine::RecordChange removal(const Target& target, const std::string& id) {
  engine::RecordChange change;
  change.kind = engine::RecordChange::Kind::Delete;
  change.entity = target.entity->entity;
  change.id = id;
  return change;
}

const json::object& object_at(const json::value& value, const std::string& where) {
  if (!value.is_object()) throw WebhookError(where, where + " must be a JSON object");
  return value.as_object();
}

/// A member as text (strings as they are, numbers in full); `required` members must be there.
std::string text_member(const json::object& object, std::string_view name, const std::string& where, bool required = true) {
  const json::value* v = object.if_contains(name);
  if (!v || v->is_null()) {
    if (required) throw WebhookError(where + "." + std::string(name), where + " has no `" + std::string(name) + "`");
    return "";
  }
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  throw WebhookError(where + "." + std::string(name), where + "." + std::string(name) + " must be text or an integer");
}

/// HubSpot object type of a subscription prefix: company -> companies.
std::string hubspot_object(std::string_view prefix) {
  if (prefix == "company") return "companies";
  if (prefix == "contact") return "contacts";
  if (prefix == "deal") return "deals";
  if (prefix == "ticket") return "tickets";
  return std::string(prefix) + "s";
}

}  // namespace

WebhookBatch parse_hubspot(const json::value& body, const mapping::Mapping& mapping) {
  if (!body.is_array()) throw WebhookError("(body)", "a HubSpot webhook body is an array of events");
  WebhookBatch batch;
  std::size_t index = 0;
  for (const json::value& item : body.as_array()) {
    const std::string where = "events[" + std::to_string(index++) + "]";
    const json::object& event = object_at(item, where);
    ++batch.events;
    const std::string type = text_member(event, "subscriptionType", where);
    const std::string object_id = text_member(event, "objectId", where);
    batch.event_ids.push_back("hubspot:" + text_member(event, "eventId", where));
    const std::size_t dot = type.find('.');
    if (dot == std::string::npos) throw WebhookError(where + ".subscriptionType", "subscriptionType `" + type + "` is not OBJECT.EVENT");
    const std::string object = hubspot_object(type.substr(0, dot));
    const std::string kind = type.substr(dot + 1);
    Target target = find_object(mapping, [&](const std::string& name) { return name == object; });
    if (!target.object) {
      ++batch.ignored;
      continue;
    }
    if (kind == "deletion") {
      batch.changes.push_back(removal(target, object_id));
    } else if (kind == "creation") {
      batch.changes.push_back(upsert(target, object_id, {}, true, where));
    } else if (kind == "propertyChange") {
      json::object vendor;
      vendor[text_member(event, "propertyName", where)] =
          event.contains("propertyValue") ? event.at("propertyValue") : json::value(nullptr);
      engine::RecordChange change = upsert(target, object_id, vendor, false, where);
      if (change.fields.empty()) ++batch.ignored;
      else batch.changes.push_back(std::move(change));
    } else {
      ++batch.ignored;  // associationChange, merge, restore: not read
    }
  }
  return batch;
}

namespace {

/// Dataverse's JSON form of one attribute value as the Web API would give it: references become
/// `_name_value` ids, option sets and money their Value, /Date(ms)/ a UTC timestamp.
void dataverse_attribute(json::object& vendor, const std::string& key, const json::value& value) {
  if (value.is_object()) {
    const json::object& o = value.as_object();
    if (const json::value* id = o.if_contains("Id"); id && o.contains("LogicalName")) {
      // As the Web API gives a lookup: its id and the table it refers to.
      vendor["_" + key + "_value"] = *id;
      vendor["_" + key + "_value@" + std::string(dynamics::kLookupLogicalName)] = o.at("LogicalName");
      return;
    }
    if (const json::value* v = o.if_contains("Value")) {
      vendor[key] = *v;
      return;
    }
  }
  if (value.is_string()) {
    std::string_view s = value.as_string();
    if (s.rfind("/Date(", 0) == 0 && s.size() > 8 && s.substr(s.size() - 2) == ")/") {
      try {
        double millis = std::stod(std::string(s.substr(6, s.size() - 8)));
        vendor[key] = model::format_timestamp(millis / 1000.0);
        return;
      } catch (const std::exception&) {
      }
    }
  }
  vendor[key] = value;
}

/// The entity set of a table's logical name: account -> accounts, opportunity -> opportunities.
bool entity_set_of(std::string_view set, std::string_view logical) {
  std::string name(logical);
  if (set == name + "s" || set == name + "es") return true;
  return !name.empty() && name.back() == 'y' && set == name.substr(0, name.size() - 1) + "ies";
}

}  // namespace

WebhookBatch parse_dynamics(const json::value& body, const mapping::Mapping& mapping) {
  const json::object& context = object_at(body, "(body)");
  WebhookBatch batch;
  batch.events = 1;
  const std::string message = text_member(context, "MessageName", "RemoteExecutionContext");
  const std::string logical = text_member(context, "PrimaryEntityName", "RemoteExecutionContext");
  const std::string id = text_member(context, "PrimaryEntityId", "RemoteExecutionContext");
  std::string delivery = text_member(context, "RequestId", "RemoteExecutionContext", false);
  if (delivery.empty()) delivery = text_member(context, "OperationId", "RemoteExecutionContext", false);
  if (!delivery.empty()) batch.event_ids.push_back("dynamics:" + delivery);
  Target target = find_object(mapping, [&](const std::string& set) { return entity_set_of(set, logical); });
  if (!target.object) {
    batch.ignored = 1;
    return batch;
  }
  json::object vendor;
  const json::value* parameters = context.if_contains("InputParameters");
  if (parameters && !parameters->is_array()) throw WebhookError("InputParameters", "InputParameters must be a list of {key, value}");
  if (parameters) {
    std::size_t index = 0;
    for (const json::value& item : parameters->as_array()) {
      const std::string where = "InputParameters[" + std::to_string(index++) + "]";
      const json::object& parameter = object_at(item, where);
      const std::string key = text_member(parameter, "key", where);
      const json::value* value = parameter.if_contains("value");
      if (key == "Target" && value && value->is_object() && value->as_object().contains("Attributes")) {
        const json::value& attributes = value->as_object().at("Attributes");
        if (!attributes.is_array()) throw WebhookError(where + ".value.Attributes", "Attributes must be a list of {key, value}");
        std::size_t a = 0;
        for (const json::value& attribute : attributes.as_array()) {
          const std::string at = where + ".value.Attributes[" + std::to_string(a++) + "]";
          const json::object& pair = object_at(attribute, at);
          const json::value* v = pair.if_contains("value");
          dataverse_attribute(vendor, text_member(pair, "key", at), v ? *v : json::value(nullptr));
        }
      } else if (key == "Assignee" && value) {
        dataverse_attribute(vendor, "ownerid", *value);
      }
    }
  }
  // Typed lookups (`_ownerid_value:systemuser`) resolve as they do for a fetch.
  dynamics::Selection selection = dynamics::select_fields(mapping::source_fields(*target.object));
  std::erase_if(selection.lookups, [&](const dynamics::TypedLookup& l) { return !vendor.contains(l.column); });
  try {
    dynamics::resolve_lookups(vendor, selection, "the webhook's RemoteExecutionContext");
  } catch (const dynamics::QueryFormatError& e) {
    throw WebhookError("InputParameters", e.what());
  }
  if (message == "Delete") {
    batch.changes.push_back(removal(target, id));
  } else if (message == "Create" || message == "Update" || message == "Assign") {
    engine::RecordChange change = upsert(target, id, vendor, message == "Create", "InputParameters");
    if (change.fields.empty() && message != "Create") batch.ignored = 1;
    else batch.changes.push_back(std::move(change));
  } else {
    batch.ignored = 1;
  }
  return batch;
}

WebhookBatch parse_salesforce(const json::value& body, const mapping::Mapping& mapping) {
  std::vector<const json::value*> events;
  if (body.is_array()) {
    for (const auto& e : body.as_array()) events.push_back(&e);
  } else if (body.is_object() && body.as_object().contains("events")) {
    const json::value& list = body.as_object().at("events");
    if (!list.is_array()) throw WebhookError("events", "`events` must be a list of change events");
    for (const auto& e : list.as_array()) events.push_back(&e);
  } else {
    events.push_back(&body);
  }
  WebhookBatch batch;
  std::size_t index = 0;
  for (const json::value* item : events) {
    const std::string where = "events[" + std::to_string(index++) + "]";
    const json::object& outer = object_at(*item, where);
    ++batch.events;
    // The streaming API wraps the event in `data`; Pub/Sub bridges send it bare.
    const json::object& event = outer.contains("data") ? object_at(outer.at("data"), where + ".data") : outer;
    if (!event.contains("payload")) throw WebhookError(where + ".payload", where + " has no `payload`");
    const json::object& payload = object_at(event.at("payload"), where + ".payload");
    if (!payload.contains("ChangeEventHeader")) {
      throw WebhookError(where + ".payload.ChangeEventHeader", where + ".payload has no `ChangeEventHeader`");
    }
    const std::string at = where + ".payload.ChangeEventHeader";
    const json::object& header = object_at(payload.at("ChangeEventHeader"), at);
    const std::string entity = text_member(header, "entityName", at);
    const std::string change_type = text_member(header, "changeType", at);
    std::string replay;
    if (const json::value* meta = event.if_contains("event"); meta && meta->is_object()) {
      replay = text_member(meta->as_object(), "replayId", where + ".event", false);
    }
    if (replay.empty()) {
      replay = text_member(header, "transactionKey", at, false) + ":" + text_member(header, "sequenceNumber", at, false);
    }
    if (replay != ":") batch.event_ids.push_back("salesforce:" + replay);
    const json::value* ids = header.if_contains("recordIds");
    if (!ids || !ids->is_array() || ids->as_array().empty()) throw WebhookError(at + ".recordIds", at + ".recordIds must list the changed records");
    Target target = find_object(mapping, [&](const std::string& name) { return name == entity; });
    if (!target.object) {
      ++batch.ignored;
      continue;
    }
    json::object vendor;
    for (const auto& [key, value] : payload) {
      if (key != "ChangeEventHeader") vendor[key] = value;
    }
    for (const json::value& id : ids->as_array()) {
      if (!id.is_string()) throw WebhookError(at + ".recordIds", "record ids must be text");
      const std::string record_id(id.as_string());
      if (change_type == "DELETE" || change_type == "GAP_DELETE") {
        batch.changes.push_back(removal(target, record_id));
      } else if (change_type == "CREATE" || change_type == "UPDATE" || change_type == "UNDELETE" || change_type == "GAP_CREATE" ||
                 change_type == "GAP_UPDATE" || change_type == "GAP_UNDELETE") {
        engine::RecordChange change = upsert(target, record_id, vendor, change_type.find("CREATE") != std::string::npos, where + ".payload");
        if (change.fields.empty() && change_type.find("UPDATE") != std::string::npos) ++batch.ignored;
        else batch.changes.push_back(std::move(change));
      } else {
        ++batch.ignored;
      }
    }
  }
  return batch;
}

}  // namespace rapport::serve
