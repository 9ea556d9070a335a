#pragma once
// The CRM's own explanation of a failed request, read from its error body.

#include <string>
#include <string_view>

namespace rapport::http {

/// What the vendor said. Both fields are empty when the body says nothing recognisable.
struct VendorError {
  std::string code;     // REQUEST_LIMIT_EXCEEDED, RATE_LIMITS, 0x80040217, invalid_client, ...
  std::string message;  // the vendor's human-readable text

  [[nodiscard]] bool empty() const { return code.empty() && message.empty(); }
};

/// Reads the error bodies of the CRMs Rapport talks to:
///   Salesforce   [{"message": "...", "errorCode": "..."}, ...]
///   HubSpot      {"status": "error", "message": "...", "category": "...", "correlationId": "..."}
///   Dynamics     {"error": {"code": "...", "message": "..."}}        (OData)
///   OAuth 2.0    {"error": "...", "error_description": "..."}        (RFC 6749 §5.2)
/// A body that is not JSON gives its first line (shortened) as the message, so an HTML page
/// from a proxy still explains something.
VendorError parse_vendor_error(std::string_view body);

}  // namespace rapport::http
