#pragma once
// The Salesforce REST dialect: SOQL queries through the `query` resource, paged by nextRecordsUrl.

#include <boost/json.hpp>

#include <functional>
#include <stdexcept>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/auth/authenticated_client.hpp"

namespace rapport::salesforce {

inline constexpr std::string_view kDefaultApiVersion = "v59.0";

/// A response of the query resource that is not what the API documents (not JSON, no records).
class QueryFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// `SELECT a, b FROM Object [WHERE LastModifiedDate > since]`; `since` is an ISO 8601 UTC timestamp.
std::string build_soql(std::string_view sobject, const std::vector<std::string>& fields,
                       std::optional<std::string_view> modified_since = std::nullopt);

/// `{instance}/services/data/{version}/query?q=<percent-encoded soql>`.
std::string query_url(std::string_view instance, std::string_view api_version, std::string_view soql);

/// An absolute URL for a nextRecordsUrl (a path on the instance).
std::string resolve_next(std::string_view instance, std::string_view next_records_url);

/// Runs a SOQL query and hands every record (the `attributes` member removed) to `on_record`,
/// following nextRecordsUrl until `done`. Returns the number of records. Throws HttpError /
/// AuthError for failed requests (with the vendor's message) and QueryFormatError for bodies
/// that are not a query result.
std::size_t run_query(auth::AuthenticatedClient& client, std::string_view instance, std::string_view api_version,
                      std::string_view soql, const std::function<void(boost::json::object&&)>& on_record);

/// Salesforce's `2026-03-01T09:30:00.000+0000` (any offset, optional fraction) as the canonical
/// `2026-03-01T09:30:00Z`; a date `2026-03-01` as `2026-03-01T00:00:00Z`; nullopt if neither.
std::optional<std::string> to_utc_timestamp(std::string_view text);

}  // namespace rapport::salesforce
