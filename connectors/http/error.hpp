#pragma once
// A failed HTTP exchange, described without secrets: the I/O channel, not a user diagnostic.

#include <stdexcept>
#include <string>

#include "connectors/http/retry_policy.hpp"
#include "connectors/http/types.hpp"

namespace rapport::http {

/// Everything known about a failed request. The URL is already redacted; request headers and
/// bodies are never part of it.
struct HttpErrorDetails {
  Method method = Method::Get;
  std::string redacted_url;
  long status = 0;  // 0 when no response arrived
  TransportFailure failure = TransportFailure::None;
  std::string vendor_code;     // the CRM's own code (REQUEST_LIMIT_EXCEEDED, invalid_grant, ...)
  std::string vendor_message;  // the CRM's own text
  std::string curl_error;      // libcurl's explanation when the transport failed
  int attempts = 1;
};

/// Thrown when a request fails for good (after retries). what() reads, for example,
///   GET https://acme.my.salesforce.com/services/data/v60.0/query?q=...: HTTP 403
///   REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded. (after 5 attempts)
class HttpError : public std::runtime_error {
 public:
  explicit HttpError(HttpErrorDetails details);

  [[nodiscard]] const HttpErrorDetails& details() const { return details_; }
  [[nodiscard]] Method method() const { return details_.method; }
  [[nodiscard]] const std::string& redacted_url() const { return details_.redacted_url; }
  [[nodiscard]] long status() const { return details_.status; }
  [[nodiscard]] TransportFailure failure() const { return details_.failure; }
  [[nodiscard]] const std::string& vendor_code() const { return details_.vendor_code; }
  [[nodiscard]] const std::string& vendor_message() const { return details_.vendor_message; }
  [[nodiscard]] const std::string& curl_error() const { return details_.curl_error; }
  [[nodiscard]] int attempts() const { return details_.attempts; }

 protected:
  /// For specialised errors (authentication) that explain the failure in their own words.
  HttpError(HttpErrorDetails details, const std::string& what)
      : std::runtime_error(what), details_(std::move(details)) {}

 private:
  HttpErrorDetails details_;
};

/// The one-line description HttpError::what() returns.
std::string describe(const HttpErrorDetails& details);

/// The error for a final response with a failing status, the vendor's message parsed from its body.
HttpError status_error(const Request& request, const Response& response);

}  // namespace rapport::http
