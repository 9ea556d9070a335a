// The Dynamics 365 defaults: Dataverse standard tables (by entity set name) onto the canonical
// model. Column names are the Web API's: lookups are read through their `_name_value` properties,
// restricted to one table with `:table` where the lookup may name several (owner: user or team;
// customer: account or contact; regarding: any record). Choice (option set) columns arrive as
// integers and are mapped by value; `industrycode` is read through its formatted label.

#include "connectors/mapping/mapping.hpp"

namespace rapport::mapping {

namespace {

constexpr const char* kFormatted = "@OData.Community.Display.V1.FormattedValue";

/// The columns every activity table shares (activitypointer): id, regarding, owner, subject.
std::vector<FieldRule> activity_fields(const std::string& type) {
  return {default_rule("activities", "id", {"activityid"}),
          default_rule("activities", "account_id", {"_regardingobjectid_value:account"}),
          default_rule("activities", "opportunity_id", {"_regardingobjectid_value:opportunity"}),
          default_rule("activities", "contact_id", {"_regardingobjectid_value:contact"}),
          default_rule("activities", "owner_id", {"_ownerid_value:systemuser"}),
          default_constant("activities", "type", type),
          default_rule("activities", "subject", {"subject"}),
          default_rule("activities", "started_at", {"actualstart", "scheduledstart"})};
}

}  // namespace

Mapping dynamics_default() {
  // isdisabled is the opposite of active.
  const std::map<std::string, std::string> enabled = {{"true", "false"}, {"false", "true"}};
  // A won or lost opportunity (statecode 1, 2) is closed whatever its sales stage; an open one
  // (statecode 0, mapped to "": no value) takes its stage from the salesstage choice.
  const std::map<std::string, std::string> stages = {
      {"statecode=0", ""},                 {"statecode=1", "closed_won"},     {"statecode=2", "closed_lost"},
      {"salesstage=0", "qualification"},   {"salesstage=1", "qualification"}, {"salesstage=2", "proposal"},
      {"salesstage=3", "negotiation"}};
  const std::map<std::string, std::string> priorities = {{"1", "high"}, {"2", "normal"}, {"3", "low"}};

  Mapping m;
  m.entities.push_back(
      {"users",
       {{"systemusers",
         {default_rule("users", "id", {"systemuserid"}), default_rule("users", "name", {"fullname"}),
          default_rule("users", "email", {"internalemailaddress"}),
          default_rule("users", "active", {"isdisabled"}, enabled),
          default_rule("users", "manager_id", {"_parentsystemuserid_value"})}}}});
  m.entities.push_back(
      {"accounts",
       {{"accounts",
         {default_rule("accounts", "id", {"accountid"}), default_rule("accounts", "name", {"name"}),
          default_rule("accounts", "owner_id", {"_ownerid_value:systemuser"}),
          default_rule("accounts", "industry", {std::string("industrycode") + kFormatted}),
          default_rule("accounts", "annual_revenue", {"revenue"}),
          default_rule("accounts", "country", {"address1_country"}),
          default_rule("accounts", "created_at", {"createdon"})}}}});
  m.entities.push_back(
      {"contacts",
       {{"contacts",
         {default_rule("contacts", "id", {"contactid"}), default_rule("contacts", "name", {"fullname"}),
          default_rule("contacts", "email", {"emailaddress1"}),
          default_rule("contacts", "account_id", {"_parentcustomerid_value:account"})}}}});
  m.entities.push_back(
      {"opportunities",
       {{"opportunities",
         {default_rule("opportunities", "id", {"opportunityid"}), default_rule("opportunities", "name", {"name"}),
          default_rule("opportunities", "account_id", {"_parentaccountid_value"}),
          default_rule("opportunities", "owner_id", {"_ownerid_value:systemuser"}),
          default_rule("opportunities", "stage", {"statecode", "salesstage"}, stages),
          default_rule("opportunities", "amount", {"estimatedvalue"}),
          default_rule("opportunities", "close_date", {"actualclosedate", "estimatedclosedate"}),
          default_rule("opportunities", "created_at", {"createdon"})}}}});

  std::vector<FieldRule> phonecall = activity_fields("call");
  phonecall.push_back(default_rule("activities", "duration_minutes", {"actualdurationminutes"}));
  std::vector<FieldRule> appointment = activity_fields("meeting");
  appointment.push_back(
      default_rule("activities", "duration_minutes", {"actualdurationminutes", "scheduleddurationminutes"}));
  std::vector<FieldRule> task = activity_fields("task");
  task.push_back(default_rule("activities", "duration_minutes", {"actualdurationminutes"}));
  m.entities.push_back({"activities",
                        {{"phonecalls", std::move(phonecall)},
                         {"appointments", std::move(appointment)},
                         {"tasks", std::move(task)}}});

  m.entities.push_back(
      {"cases",
       {{"incidents",
         {default_rule("cases", "id", {"incidentid"}),
          default_rule("cases", "account_id", {"_customerid_value:account"}),
          default_rule("cases", "assignee_id", {"_ownerid_value:systemuser"}),
          default_rule("cases", "priority", {"prioritycode"}, priorities),
          default_rule("cases", "opened_at", {"createdon"})}}}});
  return m;
}

}  // namespace rapport::mapping
