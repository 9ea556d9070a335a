#pragma once
// One small adapter per CRM: read a few fields of one record, set fields of one record, find and
// create a task by its external key. The vendor-neutral apply() decides what to write; an
// adapter only knows its vendor's URLs and bodies (docs/connectors.md, "Write-back").

#include <boost/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "connectors/auth/authenticated_client.hpp"
#include "connectors/source/source_config.hpp"

namespace rapport::writeback {

/// Field values of one record as the CRM has them: vendor field (as the mapping names it) ->
/// text, nullopt when empty.
using FieldValues = std::map<std::string, std::optional<std::string>>;

/// A task to create for a finding, in vendor terms.
struct TaskSpec {
  std::string key;  // the finding's fingerprint: the task's external id
  std::string subject, body;
  bool high_priority = false;
  std::string due;  // YYYY-MM-DD
  std::optional<std::string> owner;  // the vendor user the task is for; nullopt: the API user
  std::string regarding_object;      // the vendor object of the finding's record; "" for none
  std::string regarding_id;
};

/// Where tasks keep their key, per vendor (Salesforce Rapport_Key__c, HubSpot rapport_key,
/// Dynamics new_rapportkey unless the user names another).
std::string default_task_key_field(source::Kind kind);

class CrmAdapter {
 public:
  virtual ~CrmAdapter() = default;

  /// Why `field` of `object` can't be written ("" when it can): read-only members, associations,
  /// annotations, lookups whose table the mapping doesn't name.
  [[nodiscard]] virtual std::string unwritable(const std::string& object, const std::string& field) const = 0;
  /// `fields` of one record; nullopt when there is no such record. Throws http::HttpError.
  virtual std::optional<FieldValues> read(const std::string& object, const std::string& id,
                                          const std::vector<std::string>& fields) = 0;
  /// Sets fields of one record: one PATCH, safe to repeat. Throws http::HttpError.
  virtual void write(const std::string& object, const std::string& id, const FieldValues& values) = 0;
  /// True when the task's key exists (and, where the task is linked to its record separately,
  /// the link too). Throws http::HttpError.
  virtual bool task_exists(const TaskSpec& task) = 0;
  /// Creates the task under its key with a request that is safe to repeat (an upsert on the key,
  /// or a create that refuses an existing key); false when the key turned out to exist already.
  virtual bool create_task(const TaskSpec& task) = 0;
};

/// The adapter of a Salesforce, HubSpot or Dynamics source. `client` must outlive it.
std::unique_ptr<CrmAdapter> make_adapter(const source::SourceConfig& config, auth::AuthenticatedClient& client,
                                         std::string task_key_field);

/// Adapters of each vendor (vendor.cpp dispatches to them).
std::unique_ptr<CrmAdapter> make_salesforce_adapter(const source::SourceConfig& config, auth::AuthenticatedClient& client,
                                                    std::string task_key_field);
std::unique_ptr<CrmAdapter> make_hubspot_adapter(const source::SourceConfig& config, auth::AuthenticatedClient& client,
                                                 std::string task_key_field);
std::unique_ptr<CrmAdapter> make_dynamics_adapter(const source::SourceConfig& config, auth::AuthenticatedClient& client,
                                                  std::string task_key_field);

/// A CRM answer that is not what its API documents (not JSON, no id). The text names the method
/// and the redacted URL.
class ResponseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Shared by the adapters: the JSON object of a response body; throws ResponseError otherwise.
boost::json::object response_object(const http::Request& request, const http::Response& response);
/// Shared by the adapters: a JSON value as FieldValues text (strings as they are, numbers and
/// booleans as JSON, null and "" as nullopt).
std::optional<std::string> value_text(const boost::json::value* value);
/// Shared by the adapters: GETs one record. Its JSON object, or nullopt when the CRM answers 404;
/// any other failure throws (http::HttpError, ResponseError).
std::optional<boost::json::object> get_record(auth::AuthenticatedClient& client, const http::Request& request);
/// Shared by the adapters: a write with a JSON body (none when `body` is null) that is safe to
/// repeat — it sets values, upserts on a key or links two records.
http::Request json_write(http::Method method, std::string url, const boost::json::object* body);
/// The URL without trailing slashes.
std::string base_url(std::string_view url);

}  // namespace rapport::writeback
