// The HubSpot defaults: CRM v3 standard objects (by object type name) onto the canonical model.
// Values arrive as the properties' internal values, all as text (`"120000"`, `"true"`,
// `"2026-03-01T09:30:00.000Z"`); the mapping converts them by the canonical field's type.
// `associations.<type>` is the associated record of that type (the primary one when labelled).

#include "connectors/mapping/mapping.hpp"

namespace rapport::mapping {

namespace {

/// A text field built from several properties (first and last name), separated by a space.
FieldRule joined_rule(std::string_view entity, std::string target, std::vector<std::string> from) {
  FieldRule r = default_rule(entity, std::move(target), std::move(from));
  r.join = " ";
  return r;
}

/// The fields every engagement (call, meeting, task, email) shares: id, owner, associations.
std::vector<FieldRule> engagement_fields(const std::string& type, const std::string& subject,
                                         std::vector<std::string> started_at) {
  return {default_rule("activities", "id", {"id"}),
          default_rule("activities", "account_id", {"associations.companies"}),
          default_rule("activities", "opportunity_id", {"associations.deals"}),
          default_rule("activities", "contact_id", {"associations.contacts"}),
          default_rule("activities", "owner_id", {"hubspot_owner_id"}),
          default_constant("activities", "type", type),
          default_rule("activities", "subject", {subject}),
          default_rule("activities", "started_at", std::move(started_at))};
}

}  // namespace

Mapping hubspot_default() {
  // Owners come from the owners API; an archived owner is an inactive user.
  const std::map<std::string, std::string> not_archived = {{"true", "false"}, {"false", "true"}};
  // The default sales pipeline's internal stage values.
  const std::map<std::string, std::string> stages = {
      {"appointmentscheduled", "prospecting"},  {"qualifiedtobuy", "qualification"},
      {"presentationscheduled", "proposal"},    {"decisionmakerboughtin", "proposal"},
      {"contractsent", "negotiation"},          {"closedwon", "closed_won"},
      {"closedlost", "closed_lost"}};
  const std::map<std::string, std::string> priorities = {
      {"LOW", "low"}, {"MEDIUM", "normal"}, {"HIGH", "high"}, {"URGENT", "urgent"}};

  Mapping m;
  m.entities.push_back({"users",
                        {{"owners",
                          {default_rule("users", "id", {"id"}), joined_rule("users", "name", {"firstName", "lastName"}),
                           default_rule("users", "email", {"email"}),
                           default_rule("users", "active", {"archived"}, not_archived)}}}});
  m.entities.push_back(
      {"accounts",
       {{"companies",
         {default_rule("accounts", "id", {"id"}), default_rule("accounts", "name", {"name"}),
          default_rule("accounts", "owner_id", {"hubspot_owner_id"}), default_rule("accounts", "industry", {"industry"}),
          default_rule("accounts", "annual_revenue", {"annualrevenue"}), default_rule("accounts", "country", {"country"}),
          default_rule("accounts", "created_at", {"createdate"})}}}});
  m.entities.push_back(
      {"contacts",
       {{"contacts",
         {default_rule("contacts", "id", {"id"}), joined_rule("contacts", "name", {"firstname", "lastname"}),
          default_rule("contacts", "email", {"email"}), default_rule("contacts", "account_id", {"associations.companies"}),
          default_rule("contacts", "last_contacted_at", {"notes_last_contacted"})}}}});
  m.entities.push_back(
      {"opportunities",
       {{"deals",
         {default_rule("opportunities", "id", {"id"}), default_rule("opportunities", "name", {"dealname"}),
          default_rule("opportunities", "account_id", {"associations.companies"}),
          default_rule("opportunities", "owner_id", {"hubspot_owner_id"}),
          default_rule("opportunities", "stage", {"dealstage"}, stages), default_rule("opportunities", "amount", {"amount"}),
          default_rule("opportunities", "close_date", {"closedate"}),
          default_rule("opportunities", "created_at", {"createdate"})}}}});
  m.entities.push_back({"activities",
                        {{"calls", engagement_fields("call", "hs_call_title", {"hs_timestamp"})},
                         {"meetings", engagement_fields("meeting", "hs_meeting_title",
                                                        {"hs_meeting_start_time", "hs_timestamp"})},
                         {"tasks", engagement_fields("task", "hs_task_subject", {"hs_timestamp"})},
                         {"emails", engagement_fields("email", "hs_email_subject", {"hs_timestamp"})}}});
  m.entities.push_back(
      {"cases",
       {{"tickets",
         {default_rule("cases", "id", {"id"}), default_rule("cases", "account_id", {"associations.companies"}),
          default_rule("cases", "assignee_id", {"hubspot_owner_id"}),
          default_rule("cases", "priority", {"hs_ticket_priority"}, priorities),
          default_rule("cases", "opened_at", {"createdate"}), default_rule("cases", "resolved_at", {"closed_date"})}}}});
  return m;
}

}  // namespace rapport::mapping
