// Dataverse Web API: rows by key (GET ?$select=, PATCH with If-Match: * so a missing row is never
// created), lookups written as `nav@odata.bind`, tasks created under an alternate key with
// If-None-Match: * so an existing task is never touched (412).

#include <boost/json.hpp>

#include "connectors/dynamics/query.hpp"
#include "connectors/http/form.hpp"
#include "connectors/writeback/vendor.hpp"

namespace rapport::writeback {

namespace json = boost::json;

namespace {

/// The entity set of a table: account -> accounts, opportunity -> opportunities.
std::string entity_set(const std::string& table) {
  if (table.ends_with('y')) return table.substr(0, table.size() - 1) + "ies";
  return table + "s";
}

/// The table of an entity set: accounts -> account, opportunities -> opportunity.
std::string table_of(const std::string& set) {
  if (set.ends_with("ies")) return set.substr(0, set.size() - 3) + "y";
  return set.ends_with('s') ? set.substr(0, set.size() - 1) : set;
}

/// `_ownerid_value:systemuser` -> {ownerid, systemuser}; nullopt for anything but a typed lookup.
std::optional<std::pair<std::string, std::string>> typed_lookup(const std::string& field) {
  std::size_t colon = field.find(':');
  if (colon == std::string::npos || !field.starts_with('_')) return std::nullopt;
  std::string column = field.substr(0, colon);
  if (!column.ends_with("_value")) return std::nullopt;
  return std::make_pair(column.substr(1, column.size() - 1 - 6), field.substr(colon + 1));
}

class DynamicsAdapter : public CrmAdapter {
 public:
  DynamicsAdapter(const source::SourceConfig& config, auth::AuthenticatedClient& client, std::string key_field)
      : client_(client), base_(base_url(config.instance) + "/api/data/" + config.api_version), key_field_(std::move(key_field)) {}

  [[nodiscard]] std::string unwritable(const std::string&, const std::string& field) const override {
    if (field.find('@') != std::string::npos) return "`" + field + "` is an annotation, not a column";
    if (field.starts_with('_') && field.ends_with("_value")) {
      return "`" + field + "` is a lookup without its table: name it `" + field + ":TABLE` in the mapping to write it";
    }
    if (field.find(':') != std::string::npos && !typed_lookup(field)) return "`" + field + "` is not a column or a typed lookup";
    return "";
  }

  std::optional<FieldValues> read(const std::string& object, const std::string& id,
                                  const std::vector<std::string>& fields) override {
    dynamics::Selection selection = dynamics::select_fields(fields);
    std::string url = row_url(object, id) + "?$select=";
    for (std::size_t i = 0; i < selection.columns.size(); ++i) url += (i ? "," : "") + http::percent_encode(selection.columns[i]);
    std::optional<json::object> row = get(url, dynamics::query_headers(selection, 0));
    if (!row) return std::nullopt;
    dynamics::resolve_lookups(*row, selection, url);
    FieldValues values;
    for (const std::string& field : fields) values[field] = value_text(row->if_contains(field));
    return values;
  }

  void write(const std::string& object, const std::string& id, const FieldValues& values) override {
    json::object body;
    for (const auto& [field, value] : values) {
      if (auto lookup = typed_lookup(field)) {
        if (!value) throw std::invalid_argument("clearing the lookup `" + field + "` is not supported");
        body[lookup->first + "@odata.bind"] = "/" + entity_set(lookup->second) + "(" + *value + ")";
      } else {
        body[field] = value ? json::value(*value) : json::value(nullptr);
      }
    }
    patch(row_url(object, id), body, "If-Match");  // update only: never create a row that is gone
  }

  bool task_exists(const TaskSpec& task) override {
    return get(task_url(task.key) + "?$select=activityid", dynamics::query_headers({}, 0)).has_value();
  }

  bool create_task(const TaskSpec& task) override {
    json::object body;
    body["subject"] = task.subject.substr(0, 200);
    body["description"] = task.body;
    body["prioritycode"] = task.high_priority ? 2 : 1;
    body["scheduledend"] = task.due + "T00:00:00Z";
    if (task.owner) body["ownerid@odata.bind"] = "/systemusers(" + *task.owner + ")";
    if (!task.regarding_object.empty()) {
      body["regardingobjectid_" + table_of(task.regarding_object) + "_task@odata.bind"] =
          "/" + task.regarding_object + "(" + task.regarding_id + ")";
    }
    return patch(task_url(task.key), body, "If-None-Match");  // create only: 412 when the key exists
  }

 private:
  std::string row_url(const std::string& object, const std::string& id) const {
    return base_ + "/" + http::percent_encode(object) + "(" + http::percent_encode(id) + ")";
  }
  std::string task_url(const std::string& key) const {
    return base_ + "/tasks(" + http::percent_encode(key_field_) + "='" + http::percent_encode(key) + "')";
  }

  std::optional<json::object> get(const std::string& url, http::Headers headers) {
    http::Request request;
    request.url = url;
    request.headers = std::move(headers);
    return get_record(client_, request);
  }

  /// A PATCH with `condition: *`; false when the condition failed (412).
  bool patch(const std::string& url, const json::object& body, const char* condition) {
    http::Request request;
    request.method = http::Method::Patch;
    request.url = url;
    request.headers = dynamics::query_headers({}, 0);
    request.headers.add("Content-Type", "application/json");
    request.headers.add(condition, "*");
    request.body = json::serialize(body);
    request.idempotent = true;  // sets values, or creates under a key that refuses a second create
    http::Response response = client_.send(request);
    if (response.status == 412 && std::string_view(condition) == "If-None-Match") return false;
    if (response.status >= 400) throw http::status_error(request, response);
    return true;
  }

  auth::AuthenticatedClient& client_;
  std::string base_;
  std::string key_field_;
};

}  // namespace

std::unique_ptr<CrmAdapter> make_dynamics_adapter(const source::SourceConfig& config, auth::AuthenticatedClient& client,
                                                  std::string task_key_field) {
  return std::make_unique<DynamicsAdapter>(config, client, std::move(task_key_field));
}

}  // namespace rapport::writeback
