#pragma once
// The Dynamics 365 dialect: Dataverse Web API (OData v4) queries on an entity set, paged by
// following @odata.nextLink with `Prefer: odata.maxpagesize`.

#include <boost/json.hpp>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/auth/authenticated_client.hpp"

namespace rapport::dynamics {

inline constexpr std::string_view kDefaultApiVersion = "v9.2";
/// Rows a page: Dataverse's own default and the largest `odata.maxpagesize` it honours.
inline constexpr int kMaxPageSize = 5000;
inline constexpr int kDefaultPageSize = kMaxPageSize;
/// The annotation naming the table a lookup value refers to.
inline constexpr std::string_view kLookupLogicalName = "Microsoft.Dynamics.CRM.lookuplogicalname";

/// A response that is not what the Web API documents (not JSON, no `value` array, a nextLink to
/// another host, a lookup without the table it refers to).
class QueryFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A mapping field of the form `_lookup_value:table`: the lookup's id when it refers to a row of
/// `table`, otherwise null (a customer lookup may name an account or a contact).
struct TypedLookup {
  std::string field;   // "_parentcustomerid_value:account", the name the mapping reads
  std::string column;  // "_parentcustomerid_value"
  std::string table;   // "account"
};

/// What to ask for, from the vendor field names of a mapping. Each name is one of
///   column               a column or lookup property: `name`, `_parentcustomerid_value`
///   column@Annotation    an annotation of a column: `industrycode@OData.Community.Display.V1.FormattedValue`
///   _lookup_value:table  a lookup restricted to one table (see TypedLookup)
struct Selection {
  std::vector<std::string> columns;      // $select, each once, in order of first use
  std::vector<std::string> annotations;  // for `Prefer: odata.include-annotations`, each once
  std::vector<TypedLookup> lookups;
};

/// The selection for a list of vendor field names.
Selection select_fields(const std::vector<std::string>& fields);

/// Replaces each typed lookup's field of `row` by the lookup's id when it names that table, else
/// null. Throws QueryFormatError (naming `url`) when a lookup came without its table annotation.
void resolve_lookups(boost::json::object& row, const Selection& selection, const std::string& url);

/// `{org}/api/data/{version}/{entity_set}?$select=a,b[&$filter=modifiedon ge {since}]`;
/// `since` is an ISO 8601 UTC timestamp.
std::string query_url(std::string_view org, std::string_view api_version, std::string_view entity_set,
                      const Selection& selection, std::optional<std::string_view> modified_since = std::nullopt);

/// The request headers of every page: Accept, OData-MaxVersion, OData-Version, `Prefer:
/// odata.maxpagesize=N` and, when annotations are selected, `Prefer: odata.include-annotations="..."`.
/// A `page_size` of 0 leaves out the page size (a single row, a write).
http::Headers query_headers(const Selection& selection, int page_size);

/// Runs a query from `url` and hands every row (typed lookups resolved) to `on_record`, following
/// @odata.nextLink exactly as given until a page has none. Returns the number of rows. Throws
/// HttpError / AuthError for failed requests (with the vendor's message) and QueryFormatError for
/// bodies that are not a collection, or a nextLink outside `org` (it would carry the token away).
std::size_t run_query(auth::AuthenticatedClient& client, std::string_view org, const std::string& url,
                      const Selection& selection, int page_size,
                      const std::function<void(boost::json::object&&)>& on_record);

}  // namespace rapport::dynamics
