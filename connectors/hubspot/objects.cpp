#include "connectors/hubspot/objects.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "connectors/http/form.hpp"
#include "connectors/http/redact.hpp"
#include "model/time.hpp"

namespace rapport::hubspot {

namespace json = boost::json;

namespace {

constexpr std::string_view kAssociationPrefix = "associations.";

bool is_record_member(std::string_view field) {
  return field == "id" || field == "createdAt" || field == "updatedAt" || field == "archived";
}

std::string trim_slash(std::string_view url) {
  while (url.ends_with('/')) url.remove_suffix(1);
  return std::string(url);
}

/// `a,b,c`, each name percent-encoded (the commas separate, as the API expects).
std::string comma_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ",") + http::percent_encode(name);
  return out;
}

void add_unique(std::vector<std::string>& list, std::string value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
}

std::string describe(const http::Request& request) {
  return std::string(http::method_name(request.method)) + " " + http::redact_url(request.url);
}

http::Request get(std::string url) {
  http::Request request;
  request.url = std::move(url);
  request.headers.add("Accept", "application/json");
  return request;
}

/// A read-only POST (search, batch read): safe to repeat, so retried like a GET.
http::Request post_json(std::string url, std::string body) {
  http::Request request;
  request.method = http::Method::Post;
  request.url = std::move(url);
  request.body = std::move(body);
  request.idempotent = true;
  request.headers.add("Accept", "application/json");
  request.headers.add("Content-Type", "application/json");
  return request;
}

/// The JSON object of a successful answer with a `results` array.
json::object read_page(auth::AuthenticatedClient& client, const http::Request& request) {
  http::Response response = client.perform(request);
  boost::system::error_code ec;
  json::value body = json::parse(response.body, ec);
  if (ec || !body.is_object()) throw ResponseFormatError(describe(request) + ": the response is not a JSON object");
  const json::value* results = body.as_object().if_contains("results");
  if (!results || !results->is_array()) {
    throw ResponseFormatError(describe(request) + ": the response has no `results` array");
  }
  for (const json::value& record : results->as_array()) {
    if (!record.is_object()) throw ResponseFormatError(describe(request) + ": a result is not a JSON object");
  }
  return std::move(body.as_object());
}

/// `paging.next.after`, when there is a next page.
std::optional<std::string> next_cursor(const json::object& page, const http::Request& request) {
  const json::value* paging = page.if_contains("paging");
  if (!paging || paging->is_null()) return std::nullopt;
  const json::value* next = paging->is_object() ? paging->as_object().if_contains("next") : nullptr;
  if (!next || next->is_null()) return std::nullopt;
  const json::value* after = next->is_object() ? next->as_object().if_contains("after") : nullptr;
  if (after && after->is_string() && !after->as_string().empty()) return std::string(after->as_string());
  if (after && after->is_int64()) return std::to_string(after->as_int64());
  throw ResponseFormatError(describe(request) + ": `paging.next` has no `after` cursor");
}

/// Requests page after page of one listing until a page has no next cursor. A cursor that comes
/// back is an error rather than an endless loop.
void read_pages(auth::AuthenticatedClient& client, const std::function<http::Request(const std::string&)>& request_for,
                const std::function<void(json::object&, const http::Request&)>& on_page) {
  std::string after;
  std::set<std::string> cursors;
  while (true) {
    http::Request request = request_for(after);
    json::object page = read_page(client, request);
    on_page(page, request);
    std::optional<std::string> next = next_cursor(page, request);
    if (!next) return;
    if (!cursors.insert(*next).second) {
      throw ResponseFormatError(describe(request) + ": the cursor `" + *next + "` was returned twice");
    }
    after = std::move(*next);
  }
}

json::array& results_of(json::object& page) { return page["results"].as_array(); }

std::string epoch_milliseconds(std::string_view since) {
  std::optional<double> seconds = model::parse_timestamp(since);
  if (!seconds) throw std::invalid_argument("modified_since is not a UTC timestamp: " + std::string(since));
  return std::to_string(static_cast<long long>(std::llround(*seconds * 1000.0)));
}

std::size_t list_objects(auth::AuthenticatedClient& client, std::string_view base_url, std::string_view object_type,
                         const Selection& selection, const std::function<void(json::object&&)>& on_record) {
  std::size_t count = 0;
  read_pages(
      client, [&](const std::string& after) { return get(list_url(base_url, object_type, selection, after)); },
      [&](json::object& page, const http::Request&) {
        for (json::value& record : results_of(page)) {
          on_record(flatten(std::move(record.as_object()), selection));
          ++count;
        }
      });
  return count;
}

/// `id -> [{id, type}, ...]` for the records of one search page, from
/// POST /crm/v3/associations/{from}/{to}/batch/read (a record without any is simply absent).
std::map<std::string, json::array> read_associations(auth::AuthenticatedClient& client, std::string_view base_url,
                                                     std::string_view object_type, std::string_view to_type,
                                                     const std::vector<std::string>& ids) {
  std::map<std::string, json::array> out;
  if (ids.empty()) return out;
  json::array inputs;
  for (const std::string& id : ids) inputs.push_back(json::object{{"id", id}});
  http::Request request = post_json(trim_slash(base_url) + "/crm/v3/associations/" + std::string(object_type) + "/" +
                                        std::string(to_type) + "/batch/read",
                                    json::serialize(json::object{{"inputs", std::move(inputs)}}));
  json::object page = read_page(client, request);
  for (json::value& result : results_of(page)) {
    json::object& entry = result.as_object();
    const json::value* from = entry.if_contains("from");
    const json::value* from_id = from && from->is_object() ? from->as_object().if_contains("id") : nullptr;
    json::value* to = entry.if_contains("to");
    if (!from_id || !from_id->is_string() || !to || !to->is_array()) {
      throw ResponseFormatError(describe(request) + ": an association result has no `from.id` or `to` list");
    }
    json::array& targets = out[std::string(from_id->as_string())];
    for (json::value& target : to->as_array()) targets.push_back(std::move(target));
  }
  return out;
}

std::size_t search_objects(auth::AuthenticatedClient& client, std::string_view base_url, std::string_view object_type,
                           const Selection& selection, std::string_view since,
                           const std::function<void(json::object&&)>& on_record) {
  const std::string url = trim_slash(base_url) + "/crm/v3/objects/" + std::string(object_type) + "/search";
  std::size_t count = 0;
  bool first = true;
  read_pages(
      client, [&](const std::string& after) { return post_json(url, search_body(object_type, selection, since, after)); },
      [&](json::object& page, const http::Request& request) {
        const json::value* total = page.if_contains("total");
        if (first && total && total->is_int64() && total->as_int64() > kSearchLimit) {
          throw ResponseFormatError(describe(request) + ": " + std::to_string(total->as_int64()) + " " +
                                    std::string(object_type) + " changed since " + std::string(since) +
                                    ", more than the " + std::to_string(kSearchLimit) +
                                    " a HubSpot search returns; fetch without modified_since or with a later one");
        }
        first = false;
        json::array& results = results_of(page);
        std::vector<std::string> ids;
        for (const json::value& record : results) {
          const json::value* id = record.as_object().if_contains("id");
          if (id && id->is_string()) ids.emplace_back(id->as_string());
        }
        std::map<std::string, std::map<std::string, json::array>> associated;  // to type -> id -> targets
        for (const std::string& to_type : selection.associations) {
          associated[to_type] = read_associations(client, base_url, object_type, to_type, ids);
        }
        for (json::value& value : results) {
          json::object& record = value.as_object();
          const json::value* id = record.if_contains("id");
          std::string key = id && id->is_string() ? std::string(id->as_string()) : std::string();
          json::object associations;
          for (auto& [to_type, by_id] : associated) {
            auto found = by_id.find(key);
            json::array targets = found != by_id.end() ? std::move(found->second) : json::array();
            associations[to_type] = json::object{{"results", std::move(targets)}};
          }
          record["associations"] = std::move(associations);
          on_record(flatten(std::move(record), selection));
          ++count;
        }
      });
  return count;
}

/// Active owners, then archived ones (inactive users). A record of the wrong kind in either
/// listing is skipped, so an owner is never handed over twice whichever way the API filters.
std::size_t list_owners(auth::AuthenticatedClient& client, std::string_view base_url,
                        const std::function<void(json::object&&)>& on_record) {
  std::size_t count = 0;
  for (bool archived : {false, true}) {
    read_pages(
        client, [&](const std::string& after) { return get(owners_url(base_url, archived, after)); },
        [&](json::object& page, const http::Request&) {
          for (json::value& value : results_of(page)) {
            json::object& owner = value.as_object();
            const json::value* flag = owner.if_contains("archived");
            if (flag && flag->is_bool() && flag->as_bool() != archived) continue;
            owner["archived"] = archived;
            on_record(std::move(owner));
            ++count;
          }
        });
  }
  return count;
}

}  // namespace

Selection select(const std::vector<std::string>& fields) {
  Selection selection;
  for (const std::string& field : fields) {
    if (std::string_view(field).starts_with(kAssociationPrefix)) {
      add_unique(selection.associations, field.substr(kAssociationPrefix.size()));
    } else if (!is_record_member(field)) {
      add_unique(selection.properties, field);
    }
  }
  return selection;
}

std::string list_url(std::string_view base_url, std::string_view object_type, const Selection& selection,
                     std::string_view after) {
  std::string url = trim_slash(base_url) + "/crm/v3/objects/" + std::string(object_type) +
                    "?limit=" + std::to_string(kPageSize);
  if (!selection.properties.empty()) url += "&properties=" + comma_list(selection.properties);
  if (!selection.associations.empty()) url += "&associations=" + comma_list(selection.associations);
  if (!after.empty()) url += "&after=" + http::percent_encode(after);
  return url;
}

std::string owners_url(std::string_view base_url, bool archived, std::string_view after) {
  std::string url = trim_slash(base_url) + "/crm/v3/owners?limit=" + std::to_string(kPageSize) +
                    "&archived=" + (archived ? "true" : "false");
  if (!after.empty()) url += "&after=" + http::percent_encode(after);
  return url;
}

std::string_view last_modified_property(std::string_view object_type) {
  return object_type == "contacts" ? "lastmodifieddate" : "hs_lastmodifieddate";
}

std::string search_body(std::string_view object_type, const Selection& selection, std::string_view since,
                        std::string_view after) {
  const std::string property(last_modified_property(object_type));
  json::object filter{{"propertyName", property}, {"operator", "GT"}, {"value", epoch_milliseconds(since)}};
  json::array properties;
  for (const std::string& name : selection.properties) properties.emplace_back(name);
  json::object body{
      {"filterGroups", json::array{json::object{{"filters", json::array{std::move(filter)}}}}},
      {"sorts", json::array{json::object{{"propertyName", property}, {"direction", "ASCENDING"}}}},
      {"properties", std::move(properties)},
      {"limit", kPageSize}};
  if (!after.empty()) body["after"] = after;
  return json::serialize(body);
}

std::optional<std::string> chosen_association(const json::value& association_list) {
  const json::value* results =
      association_list.is_object() ? association_list.as_object().if_contains("results") : nullptr;
  if (!results || !results->is_array()) return std::nullopt;
  auto id_of = [](const json::value& entry) -> std::optional<std::string> {
    const json::value* id = entry.is_object() ? entry.as_object().if_contains("id") : nullptr;
    if (!id) return std::nullopt;
    if (id->is_string()) return std::string(id->as_string());
    if (id->is_int64()) return std::to_string(id->as_int64());
    return std::nullopt;
  };
  for (const json::value& entry : results->as_array()) {
    const json::value* type = entry.is_object() ? entry.as_object().if_contains("type") : nullptr;
    if (type && type->is_string() && !std::string_view(type->as_string()).ends_with("_unlabeled")) {
      if (auto id = id_of(entry)) return id;
    }
  }
  for (const json::value& entry : results->as_array()) {
    if (auto id = id_of(entry)) return id;
  }
  return std::nullopt;
}

json::object flatten(json::object&& record, const Selection& selection) {
  json::object flat;
  if (json::value* properties = record.if_contains("properties"); properties && properties->is_object()) {
    for (auto& [name, value] : properties->as_object()) flat[name] = std::move(value);
  }
  for (const char* member : {"id", "createdAt", "updatedAt", "archived"}) {
    if (json::value* value = record.if_contains(member)) flat[member] = std::move(*value);
  }
  const json::value* associations = record.if_contains("associations");
  for (const std::string& type : selection.associations) {
    const json::value* list = associations && associations->is_object() ? associations->as_object().if_contains(type)
                                                                        : nullptr;
    std::optional<std::string> id = list ? chosen_association(*list) : std::nullopt;
    flat[std::string(kAssociationPrefix) + type] = id ? json::value(json::string(*id)) : json::value(nullptr);
  }
  return flat;
}

std::size_t fetch_object(auth::AuthenticatedClient& client, std::string_view base_url, std::string_view object_type,
                         const std::vector<std::string>& fields, std::optional<std::string_view> modified_since,
                         const std::function<void(json::object&&)>& on_record) {
  if (object_type == "owners") return list_owners(client, base_url, on_record);
  Selection selection = select(fields);
  if (modified_since) return search_objects(client, base_url, object_type, selection, *modified_since, on_record);
  return list_objects(client, base_url, object_type, selection, on_record);
}

}  // namespace rapport::hubspot
