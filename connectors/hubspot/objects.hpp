#pragma once
// The HubSpot CRM v3 dialect: objects listed through /crm/v3/objects/{type} (properties and
// associations in one request), owners through /crm/v3/owners, modified records through the
// search endpoint; every listing paged by `paging.next.after`.

#include <boost/json.hpp>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/auth/authenticated_client.hpp"

namespace rapport::hubspot {

inline constexpr std::string_view kDefaultBaseUrl = "https://api.hubapi.com";
/// Records a page: the most the list, owners and search endpoints accept.
inline constexpr int kPageSize = 100;
/// The most records one search query reaches (HubSpot answers 400 past it).
inline constexpr long kSearchLimit = 10'000;

/// A response that is not what the API documents (not JSON, no `results`, a cursor that repeats).
class ResponseFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What to read of one object type. A mapping names vendor fields; `associations.companies` is
/// the id of the associated company, `id`, `createdAt`, `updatedAt` and `archived` are members of
/// every record, and any other name is a HubSpot property.
struct Selection {
  std::vector<std::string> properties;    // in the order given, each once
  std::vector<std::string> associations;  // object types: companies, contacts, deals, ...
};

/// Splits mapped vendor field names into properties and associations.
Selection select(const std::vector<std::string>& fields);

/// `{base}/crm/v3/objects/{type}?limit=100&properties=a,b&associations=companies[&after=..]`.
std::string list_url(std::string_view base_url, std::string_view object_type, const Selection& selection,
                     std::string_view after = {});

/// `{base}/crm/v3/owners?limit=100&archived=false|true[&after=..]`.
std::string owners_url(std::string_view base_url, bool archived, std::string_view after = {});

/// The property holding a record's last change: `lastmodifieddate` for contacts,
/// `hs_lastmodifieddate` for every other object.
std::string_view last_modified_property(std::string_view object_type);

/// The body of POST /crm/v3/objects/{type}/search for records changed after `since` (a canonical
/// UTC timestamp), oldest change first.
std::string search_body(std::string_view object_type, const Selection& selection, std::string_view since,
                        std::string_view after = {});

/// The associated record an `associations.<type>` member names: the first whose association type
/// is labelled (`contact_to_company`, the primary company) rather than `..._unlabeled`, else the
/// first listed; nullopt when there is none.
std::optional<std::string> chosen_association(const boost::json::value& association_list);

/// One flat record: the properties, then `id`, `createdAt`, `updatedAt`, `archived` and one
/// `associations.<type>` member (an id or null) per requested association.
boost::json::object flatten(boost::json::object&& record, const Selection& selection);

/// Reads every record of one object type (`owners` for the users, active and archived; any other
/// name is a CRM object type) and hands flat records to `on_record`; returns their number.
/// With `modified_since` (a canonical UTC timestamp) CRM objects come from the search endpoint
/// and their associations from the v3 batch association reads; owners are always read in full.
/// Throws HttpError / AuthError (with HubSpot's message) and ResponseFormatError.
std::size_t fetch_object(auth::AuthenticatedClient& client, std::string_view base_url, std::string_view object_type,
                         const std::vector<std::string>& fields, std::optional<std::string_view> modified_since,
                         const std::function<void(boost::json::object&&)>& on_record);

}  // namespace rapport::hubspot
