#include "connectors/writeback/vendor.hpp"

#include <stdexcept>

#include "connectors/http/error.hpp"
#include "connectors/http/redact.hpp"

namespace rapport::writeback {

std::string default_task_key_field(source::Kind kind) {
  switch (kind) {
    case source::Kind::Salesforce: return "Rapport_Key__c";
    case source::Kind::Hubspot: return "rapport_key";
    case source::Kind::Dynamics: return "new_rapportkey";
    case source::Kind::Files: break;
  }
  return "";
}

std::unique_ptr<CrmAdapter> make_adapter(const source::SourceConfig& config, auth::AuthenticatedClient& client,
                                         std::string task_key_field) {
  switch (config.kind) {
    case source::Kind::Salesforce: return make_salesforce_adapter(config, client, std::move(task_key_field));
    case source::Kind::Hubspot: return make_hubspot_adapter(config, client, std::move(task_key_field));
    case source::Kind::Dynamics: return make_dynamics_adapter(config, client, std::move(task_key_field));
    case source::Kind::Files: break;
  }
  throw std::invalid_argument("a files source can't be written back to");
}

boost::json::object response_object(const http::Request& request, const http::Response& response) {
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(response.body, ec);
  if (ec || !parsed.is_object()) {
    throw ResponseError(std::string(http::method_name(request.method)) + " " + http::redact_url(request.url) +
                        ": the response is not a JSON object");
  }
  return std::move(parsed.as_object());
}

std::optional<std::string> value_text(const boost::json::value* value) {
  if (!value || value->is_null()) return std::nullopt;
  if (value->is_string()) {
    if (value->as_string().empty()) return std::nullopt;
    return std::string(value->as_string());
  }
  return boost::json::serialize(*value);
}

std::optional<boost::json::object> get_record(auth::AuthenticatedClient& client, const http::Request& request) {
  http::Response response = client.send(request);
  if (response.status == 404) return std::nullopt;
  if (response.status >= 400) throw http::status_error(request, response);
  return response_object(request, response);
}

http::Request json_write(http::Method method, std::string url, const boost::json::object* body) {
  http::Request request;
  request.method = method;
  request.url = std::move(url);
  request.headers.add("Accept", "application/json");
  if (body) {
    request.headers.add("Content-Type", "application/json");
    request.body = boost::json::serialize(*body);
  }
  request.idempotent = true;
  return request;
}

std::string base_url(std::string_view url) {
  while (url.ends_with('/')) url.remove_suffix(1);
  return std::string(url);
}

}  // namespace rapport::writeback
