#pragma once
// CRM change notifications as canonical record changes. Each vendor's records go through the
// same mapping `rapport fetch` uses (connectors/mapping), field by field: a notification that
// names some fields changes only the canonical fields those feed.
//
//   HubSpot     the webhook API's array of events: subscriptionType `company.propertyChange`,
//               objectId, propertyName, propertyValue, eventId; `*.creation` and `*.deletion`.
//   Dataverse   a service endpoint's RemoteExecutionContext: MessageName Create, Update, Delete or
//               Assign, PrimaryEntityName, PrimaryEntityId, InputParameters Target (Attributes).
//   Salesforce  Change Data Capture events (one, an array, or {"events": [...]}), each with
//               payload.ChangeEventHeader (entityName, recordIds, changeType) and the changed
//               fields in `payload`; `event.replayId` identifies a delivery.

#include <boost/json.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "connectors/mapping/mapping.hpp"
#include "engine/live.hpp"

namespace rapport::serve {

/// A notification that can't be read; `where` names the event and field ("events[2].objectId").
class WebhookError : public std::runtime_error {
 public:
  WebhookError(std::string where, const std::string& message) : std::runtime_error(message), where_(std::move(where)) {}
  [[nodiscard]] const std::string& where() const { return where_; }

 private:
  std::string where_;
};

struct WebhookBatch {
  std::vector<engine::RecordChange> changes;
  std::vector<std::string> event_ids;  // replay keys, vendor-prefixed
  std::size_t events = 0;              // events in the delivery
  std::size_t ignored = 0;             // events about objects or fields the mapping doesn't read
};

WebhookBatch parse_hubspot(const boost::json::value& body, const mapping::Mapping& mapping);
WebhookBatch parse_dynamics(const boost::json::value& body, const mapping::Mapping& mapping);
WebhookBatch parse_salesforce(const boost::json::value& body, const mapping::Mapping& mapping);

}  // namespace rapport::serve
