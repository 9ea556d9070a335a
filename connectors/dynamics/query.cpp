#include "connectors/dynamics/query.hpp"

#include <algorithm>

#include "connectors/http/form.hpp"
#include "connectors/http/redact.hpp"

namespace rapport::dynamics {

namespace json = boost::json;

namespace {

void add_once(std::vector<std::string>& list, std::string item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
}

std::string without_trailing_slash(std::string_view url) {
  while (url.ends_with('/')) url.remove_suffix(1);
  return std::string(url);
}

[[noreturn]] void malformed(const std::string& url, const std::string& why) {
  throw QueryFormatError("GET " + http::redact_url(url) + ": " + why);
}

}  // namespace

void resolve_lookups(json::object& row, const Selection& selection, const std::string& url) {
  for (const TypedLookup& lookup : selection.lookups) {
    const json::value* id = row.if_contains(lookup.column);
    if (!id || id->is_null()) {
      row[lookup.field] = nullptr;
      continue;
    }
    const json::value* table = row.if_contains(lookup.column + "@" + std::string(kLookupLogicalName));
    if (!table || !table->is_string()) {
      malformed(url, "the lookup `" + lookup.column + "` came without its " + std::string(kLookupLogicalName) +
                         " annotation");
    }
    row[lookup.field] = table->as_string() == lookup.table ? *id : json::value(nullptr);
  }
}

Selection select_fields(const std::vector<std::string>& fields) {
  Selection selection;
  for (const std::string& field : fields) {
    if (std::size_t at = field.find('@'); at != std::string::npos) {
      add_once(selection.columns, field.substr(0, at));
      add_once(selection.annotations, field.substr(at + 1));
    } else if (std::size_t colon = field.find(':'); colon != std::string::npos) {
      TypedLookup lookup{field, field.substr(0, colon), field.substr(colon + 1)};
      add_once(selection.columns, lookup.column);
      add_once(selection.annotations, std::string(kLookupLogicalName));
      selection.lookups.push_back(std::move(lookup));
    } else {
      add_once(selection.columns, field);
    }
  }
  return selection;
}

std::string query_url(std::string_view org, std::string_view api_version, std::string_view entity_set,
                      const Selection& selection, std::optional<std::string_view> modified_since) {
  std::string url = without_trailing_slash(org) + "/api/data/" + std::string(api_version) + "/" +
                    http::percent_encode(entity_set) + "?$select=";
  for (std::size_t i = 0; i < selection.columns.size(); ++i) {
    url += (i ? "," : "") + http::percent_encode(selection.columns[i]);
  }
  if (modified_since) url += "&$filter=" + http::percent_encode("modifiedon ge " + std::string(*modified_since));
  return url;
}

http::Headers query_headers(const Selection& selection, int page_size) {
  http::Headers headers;
  headers.add("Accept", "application/json");
  headers.add("OData-MaxVersion", "4.0");
  headers.add("OData-Version", "4.0");
  if (page_size > 0) headers.add("Prefer", "odata.maxpagesize=" + std::to_string(page_size));
  if (!selection.annotations.empty()) {
    std::string names;
    for (const std::string& name : selection.annotations) names += (names.empty() ? "" : ",") + name;
    headers.add("Prefer", "odata.include-annotations=\"" + names + "\"");
  }
  return headers;
}

std::size_t run_query(auth::AuthenticatedClient& client, std::string_view org, const std::string& url,
                      const Selection& selection, int page_size, const std::function<void(json::object&&)>& on_record) {
  const std::string origin = without_trailing_slash(org) + "/";
  const http::Headers headers = query_headers(selection, page_size);
  std::string page_url = url;
  std::size_t count = 0;
  while (true) {
    http::Request request;
    request.url = page_url;
    request.headers = headers;
    http::Response response = client.perform(request);
    boost::system::error_code ec;
    json::value body = json::parse(response.body, ec);
    if (ec || !body.is_object()) malformed(page_url, "the response is not a JSON collection");
    json::object& page = body.as_object();
    json::value* rows = page.if_contains("value");
    if (!rows || !rows->is_array()) malformed(page_url, "the response has no `value` array");
    for (json::value& row : rows->as_array()) {
      if (!row.is_object()) malformed(page_url, "a row is not a JSON object");
      json::object object = std::move(row.as_object());
      resolve_lookups(object, selection, page_url);
      on_record(std::move(object));
      ++count;
    }
    const json::value* next = page.if_contains("@odata.nextLink");
    if (!next || next->is_null()) return count;
    if (!next->is_string() || next->as_string().empty()) malformed(page_url, "`@odata.nextLink` is not a URL");
    std::string next_url(next->as_string());
    if (!next_url.starts_with(origin)) {
      malformed(page_url, "`@odata.nextLink` leads outside the organization (" + http::redact_url(next_url) + ")");
    }
    if (next_url == page_url) malformed(page_url, "`@odata.nextLink` repeats the page it is on");
    page_url = std::move(next_url);
  }
}

}  // namespace rapport::dynamics
