#include "connectors/salesforce/query.hpp"

#include <cstdio>
#include <ctime>

#include "connectors/http/form.hpp"
#include "connectors/http/redact.hpp"

#include "model/time.hpp"

namespace rapport::salesforce {

namespace json = boost::json;

namespace {

std::string trim_slash(std::string_view url) {
  while (url.ends_with('/')) url.remove_suffix(1);
  return std::string(url);
}

bool digits(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size()) return false;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

int number(std::string_view text, std::size_t at, std::size_t count) {
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) value = value * 10 + (text[i] - '0');
  return value;
}

/// The canonical model's UTC form, from seconds since the epoch.
std::string format_utc(long long seconds) { return model::format_timestamp(static_cast<double>(seconds)); }

}  // namespace

std::string build_soql(std::string_view sobject, const std::vector<std::string>& fields,
                       std::optional<std::string_view> modified_since) {
  std::string soql = "SELECT ";
  for (std::size_t i = 0; i < fields.size(); ++i) soql += (i ? ", " : "") + fields[i];
  soql += " FROM ";
  soql += sobject;
  if (modified_since) {
    soql += " WHERE LastModifiedDate > ";
    soql += *modified_since;
  }
  return soql;
}

std::string query_url(std::string_view instance, std::string_view api_version, std::string_view soql) {
  return trim_slash(instance) + "/services/data/" + std::string(api_version) + "/query?q=" + http::percent_encode(soql);
}

std::string resolve_next(std::string_view instance, std::string_view next_records_url) {
  if (next_records_url.starts_with("http://") || next_records_url.starts_with("https://")) {
    return std::string(next_records_url);
  }
  std::string base = trim_slash(instance);
  if (!next_records_url.starts_with('/')) base += '/';
  return base + std::string(next_records_url);
}

std::size_t run_query(auth::AuthenticatedClient& client, std::string_view instance, std::string_view api_version,
                      std::string_view soql, const std::function<void(json::object&&)>& on_record) {
  std::string url = query_url(instance, api_version, soql);
  std::size_t count = 0;
  for (int page = 0;; ++page) {
    http::Request request;
    request.url = url;
    request.headers.add("Accept", "application/json");
    http::Response response = client.perform(request);
    json::value body;
    boost::system::error_code ec;
    body = json::parse(response.body, ec);
    if (ec || !body.is_object()) {
      throw QueryFormatError("GET " + http::redact_url(url) + ": the response is not a JSON query result");
    }
    json::object& result = body.as_object();
    json::value* records = result.if_contains("records");
    if (!records || !records->is_array()) {
      throw QueryFormatError("GET " + http::redact_url(url) + ": the query result has no `records` array");
    }
    for (json::value& record : records->as_array()) {
      if (!record.is_object()) {
        throw QueryFormatError("GET " + http::redact_url(url) + ": a record is not a JSON object");
      }
      json::object object = std::move(record.as_object());
      object.erase("attributes");
      on_record(std::move(object));
      ++count;
    }
    const json::value* done = result.if_contains("done");
    if (!done || !done->is_bool()) {
      throw QueryFormatError("GET " + http::redact_url(url) + ": the query result has no `done` flag");
    }
    if (done->as_bool()) return count;
    const json::value* next = result.if_contains("nextRecordsUrl");
    if (!next || !next->is_string() || next->as_string().empty()) {
      throw QueryFormatError("GET " + http::redact_url(url) + ": `done` is false but there is no `nextRecordsUrl`");
    }
    url = resolve_next(instance, std::string_view(next->as_string()));
  }
}

std::optional<std::string> to_utc_timestamp(std::string_view text) {
  if (text.size() < 10 || !digits(text, 0, 4) || text[4] != '-' || !digits(text, 5, 2) || text[7] != '-' ||
      !digits(text, 8, 2)) {
    return std::nullopt;
  }
  int y = number(text, 0, 4), mo = number(text, 5, 2), d = number(text, 8, 2);
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  long long seconds = model::days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400;
  if (text.size() == 10) return format_utc(seconds);
  if (text[10] != 'T' || !digits(text, 11, 2) || text[13] != ':' || !digits(text, 14, 2)) return std::nullopt;
  int h = number(text, 11, 2), mi = number(text, 14, 2), s = 0;
  std::size_t at = 16;
  if (at < text.size() && text[at] == ':') {
    if (!digits(text, at + 1, 2)) return std::nullopt;
    s = number(text, at + 1, 2);
    at += 3;
  }
  if (h > 23 || mi > 59 || s > 60) return std::nullopt;
  if (at < text.size() && text[at] == '.') {
    ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
  }
  seconds += h * 3600LL + mi * 60LL + s;
  if (at == text.size()) return std::nullopt;  // no offset: not a UTC instant
  if (text[at] == 'Z' && at + 1 == text.size()) return format_utc(seconds);
  if (text[at] != '+' && text[at] != '-') return std::nullopt;
  int sign = text[at] == '+' ? 1 : -1;
  ++at;
  if (!digits(text, at, 2)) return std::nullopt;
  int oh = number(text, at, 2), om = 0;
  at += 2;
  if (at < text.size() && text[at] == ':') ++at;
  if (at < text.size()) {
    if (!digits(text, at, 2)) return std::nullopt;
    om = number(text, at, 2);
    at += 2;
  }
  if (at != text.size() || oh > 23 || om > 59) return std::nullopt;
  seconds -= sign * (oh * 3600LL + om * 60LL);
  return format_utc(seconds);
}

}  // namespace rapport::salesforce
