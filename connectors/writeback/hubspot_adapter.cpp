// HubSpot CRM v3: objects by id (GET ?properties=, PATCH {"properties":..}); tasks keyed by a
// unique-value property, read with ?idProperty= and upserted through batch/upsert, then linked to
// their record with the v4 default association (PUT, idempotent).

#include <boost/json.hpp>

#include "connectors/http/form.hpp"
#include "connectors/http/redact.hpp"
#include "connectors/writeback/vendor.hpp"

namespace rapport::writeback {

namespace json = boost::json;

namespace {

class HubspotAdapter : public CrmAdapter {
 public:
  HubspotAdapter(const source::SourceConfig& config, auth::AuthenticatedClient& client, std::string key_field)
      : client_(client), base_(base_url(config.instance)), key_field_(std::move(key_field)) {}

  [[nodiscard]] std::string unwritable(const std::string& object, const std::string& field) const override {
    if (object == "owners") return "HubSpot owners (users) have no properties to write";
    if (field.starts_with("associations.")) return "`" + field + "` is an association, not a property";
    for (const char* member : {"id", "createdAt", "updatedAt", "archived"}) {
      if (field == member) return "`" + field + "` is read-only";
    }
    return "";
  }

  std::optional<FieldValues> read(const std::string& object, const std::string& id,
                                  const std::vector<std::string>& fields) override {
    std::string url = object_url(object, id) + "?properties=";
    for (std::size_t i = 0; i < fields.size(); ++i) url += (i ? "," : "") + http::percent_encode(fields[i]);
    std::optional<json::object> record = get(url);
    if (!record) return std::nullopt;
    const json::value* properties = record->if_contains("properties");
    FieldValues values;
    for (const std::string& field : fields) {
      values[field] = properties && properties->is_object() ? value_text(properties->as_object().if_contains(field)) : std::nullopt;
    }
    return values;
  }

  void write(const std::string& object, const std::string& id, const FieldValues& values) override {
    json::object properties;
    for (const auto& [field, value] : values) properties[field] = value ? json::value(*value) : json::value("");
    send(http::Method::Patch, object_url(object, id), json::object{{"properties", std::move(properties)}});
  }

  bool task_exists(const TaskSpec& task) override {
    std::string url = object_url("tasks", task.key) + "?idProperty=" + http::percent_encode(key_field_) +
                      "&properties=" + http::percent_encode(key_field_);
    if (!task.regarding_object.empty()) url += "&associations=" + http::percent_encode(task.regarding_object);
    std::optional<json::object> found = get(url);
    if (!found) return false;
    if (task.regarding_object.empty()) return true;
    // A task whose association was not made yet (the run stopped in between) is not done.
    const json::value* associations = found->if_contains("associations");
    const json::value* links = associations && associations->is_object() ? associations->as_object().if_contains(task.regarding_object) : nullptr;
    const json::value* results = links && links->is_object() ? links->as_object().if_contains("results") : nullptr;
    if (!results || !results->is_array()) return false;
    for (const json::value& link : results->as_array()) {
      if (link.is_object() && value_text(link.as_object().if_contains("id")) == task.regarding_id) return true;
    }
    return false;
  }

  bool create_task(const TaskSpec& task) override {
    json::object properties;
    properties["hs_task_subject"] = task.subject;
    properties["hs_task_body"] = task.body;
    properties["hs_task_status"] = "NOT_STARTED";
    properties["hs_task_priority"] = task.high_priority ? "HIGH" : "MEDIUM";
    properties["hs_timestamp"] = task.due + "T00:00:00Z";
    if (task.owner) properties["hubspot_owner_id"] = *task.owner;
    json::object input{{"idProperty", key_field_}, {"id", task.key}, {"properties", std::move(properties)}};
    json::object body{{"inputs", json::array{std::move(input)}}};
    const std::string upsert_url = base_ + "/crm/v3/objects/tasks/batch/upsert";
    json::object answer = send(http::Method::Post, upsert_url, body);
    const json::value* results = answer.if_contains("results");
    const json::value* first = results && results->is_array() && !results->as_array().empty() ? &results->as_array()[0] : nullptr;
    std::optional<std::string> task_id = first && first->is_object() ? value_text(first->as_object().if_contains("id")) : std::nullopt;
    if (!task_id) throw ResponseError("POST " + http::redact_url(upsert_url) + ": the upsert answered without the task's id");
    if (!task.regarding_object.empty()) {
      send(http::Method::Put, base_ + "/crm/v4/objects/tasks/" + http::percent_encode(*task_id) + "/associations/default/" +
                                  http::percent_encode(task.regarding_object) + "/" + http::percent_encode(task.regarding_id),
           std::nullopt);
    }
    return true;
  }

 private:
  std::string object_url(const std::string& object, const std::string& id) const {
    return base_ + "/crm/v3/objects/" + http::percent_encode(object) + "/" + http::percent_encode(id);
  }

  std::optional<json::object> get(const std::string& url) {
    http::Request request;
    request.url = url;
    request.headers.add("Accept", "application/json");
    return get_record(client_, request);
  }

  /// A write that is safe to repeat (it sets values, upserts on a key or links two records).
  json::object send(http::Method method, const std::string& url, const std::optional<json::object>& body) {
    http::Request request = json_write(method, url, body ? &*body : nullptr);
    http::Response response = client_.perform(request);
    if (response.body.empty()) return {};
    return response_object(request, response);
  }

  auth::AuthenticatedClient& client_;
  std::string base_;
  std::string key_field_;
};

}  // namespace

std::unique_ptr<CrmAdapter> make_hubspot_adapter(const source::SourceConfig& config, auth::AuthenticatedClient& client,
                                                 std::string task_key_field) {
  return std::make_unique<HubspotAdapter>(config, client, std::move(task_key_field));
}

}  // namespace rapport::writeback
