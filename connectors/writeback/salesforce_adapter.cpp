// Salesforce REST: sObject rows by id (GET ?fields=, PATCH) and tasks upserted on an external id
// field (GET and PATCH /sobjects/Task/{field}/{key}).

#include <boost/json.hpp>

#include "connectors/http/form.hpp"
#include "connectors/writeback/vendor.hpp"

namespace rapport::writeback {

namespace json = boost::json;

namespace {

class SalesforceAdapter : public CrmAdapter {
 public:
  SalesforceAdapter(const source::SourceConfig& config, auth::AuthenticatedClient& client, std::string key_field)
      : client_(client), base_(base_url(config.instance) + "/services/data/" + config.api_version), key_field_(std::move(key_field)) {}

  [[nodiscard]] std::string unwritable(const std::string&, const std::string& field) const override {
    if (field.find('.') != std::string::npos) return "`" + field + "` is a relationship path, not a field of the record";
    for (const char* read_only : {"Id", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"}) {
      if (field == read_only) return "`" + field + "` is read-only";
    }
    return "";
  }

  std::optional<FieldValues> read(const std::string& object, const std::string& id,
                                  const std::vector<std::string>& fields) override {
    std::string url = row_url(object, id) + "?fields=";
    for (std::size_t i = 0; i < fields.size(); ++i) url += (i ? "," : "") + http::percent_encode(fields[i]);
    std::optional<json::object> row = get(url);
    if (!row) return std::nullopt;
    FieldValues values;
    for (const std::string& field : fields) values[field] = value_text(row->if_contains(field));
    return values;
  }

  void write(const std::string& object, const std::string& id, const FieldValues& values) override {
    json::object body;
    for (const auto& [field, value] : values) body[field] = value ? json::value(*value) : json::value(nullptr);
    patch(row_url(object, id), body);
  }

  bool task_exists(const TaskSpec& task) override { return get(task_url(task.key) + "?fields=Id").has_value(); }

  bool create_task(const TaskSpec& task) override {
    json::object body;
    body["Subject"] = task.subject.substr(0, 255);
    body["Description"] = task.body;
    body["Priority"] = task.high_priority ? "High" : "Normal";
    body["Status"] = "Not Started";
    body["ActivityDate"] = task.due;
    if (task.owner) body["OwnerId"] = *task.owner;
    if (task.regarding_object == "Contact" || task.regarding_object == "Lead") body["WhoId"] = task.regarding_id;
    else if (!task.regarding_object.empty()) body["WhatId"] = task.regarding_id;
    patch(task_url(task.key), body);  // 201 created, 200 or 204 updated: an upsert on the key
    return true;
  }

 private:
  std::string row_url(const std::string& object, const std::string& id) const {
    return base_ + "/sobjects/" + http::percent_encode(object) + "/" + http::percent_encode(id);
  }
  std::string task_url(const std::string& key) const {
    return base_ + "/sobjects/Task/" + http::percent_encode(key_field_) + "/" + http::percent_encode(key);
  }

  /// The record at `url`, nullopt on 404.
  std::optional<json::object> get(const std::string& url) {
    http::Request request;
    request.url = url;
    request.headers.add("Accept", "application/json");
    return get_record(client_, request);
  }

  void patch(const std::string& url, const json::object& body) {
    client_.perform(json_write(http::Method::Patch, url, &body));
  }

  auth::AuthenticatedClient& client_;
  std::string base_;
  std::string key_field_;
};

}  // namespace

std::unique_ptr<CrmAdapter> make_salesforce_adapter(const source::SourceConfig& config, auth::AuthenticatedClient& client,
                                                    std::string task_key_field) {
  return std::make_unique<SalesforceAdapter>(config, client, std::move(task_key_field));
}

}  // namespace rapport::writeback
