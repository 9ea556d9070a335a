#pragma once
// What the HubSpot tests share: a loopback HubSpot's answers (owner, object and search pages).
// Scratch folders and transport settings come from fetch_test_support.hpp.

#include <string>
#include <utility>
#include <vector>

#include "fetch_test_support.hpp"
#include "loopback_server.hpp"

namespace rapport::hubspot_test {

/// A page of the list, owners or search endpoints: `results` and, when `after` is given, the
/// cursor of the next page.
inline std::string page(const std::vector<std::string>& results, const std::string& after = "") {
  std::string body = R"({"results":[)";
  for (std::size_t i = 0; i < results.size(); ++i) body += (i ? "," : "") + results[i];
  body += "]";
  if (!after.empty()) {
    body += R"(,"paging":{"next":{"after":")" + after + R"(","link":"https://api.hubapi.com/next?after=)" + after + "\"}}";
  }
  return body + "}";
}

/// A CRM object as the list endpoint returns it: id, properties (JSON members), optional
/// associations (JSON members such as `"companies":{"results":[...]}`).
inline std::string object(const std::string& id, const std::string& properties, const std::string& associations = "") {
  std::string body = R"({"id":")" + id + R"(","properties":{)" + properties +
                     R"(},"createdAt":"2025-01-01T00:00:00.000Z","updatedAt":"2026-01-02T00:00:00.000Z","archived":false)";
  if (!associations.empty()) body += R"(,"associations":{)" + associations + "}";
  return body + "}";
}

/// `"companies":{"results":[{"id":"201","type":"contact_to_company"}, ...]}`.
inline std::string associated(const std::string& type, const std::vector<std::pair<std::string, std::string>>& targets) {
  std::string body = "\"" + type + R"(":{"results":[)";
  for (std::size_t i = 0; i < targets.size(); ++i) {
    body += (i ? "," : "") + (R"({"id":")" + targets[i].first + R"(","type":")" + targets[i].second + "\"}");
  }
  return body + "]}";
}

/// HubSpot's error body.
inline std::string error_body(const std::string& category, const std::string& message, const std::string& correlation) {
  return R"({"status":"error","message":")" + message + R"(","correlationId":")" + correlation + R"(","category":")" +
         category + "\"}";
}

inline testing::Reply ok(const std::string& body) {
  return testing::respond(200, body, {{"Content-Type", "application/json;charset=utf-8"}});
}

}  // namespace rapport::hubspot_test
