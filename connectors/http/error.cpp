#include "connectors/http/error.hpp"

#include "connectors/http/redact.hpp"
#include "connectors/http/vendor_error.hpp"

namespace rapport::http {

std::string describe(const HttpErrorDetails& details) {
  std::string text(method_name(details.method));
  text += ' ';
  text += details.redacted_url;
  text += ": ";
  if (details.failure == TransportFailure::None) {
    text += "HTTP " + std::to_string(details.status);
  } else {
    text += failure_name(details.failure);
  }
  if (!details.vendor_code.empty()) text += ' ' + details.vendor_code;
  if (!details.vendor_message.empty()) text += ": " + details.vendor_message;
  if (!details.curl_error.empty()) text += ": " + details.curl_error;
  text += " (after " + std::to_string(details.attempts) + (details.attempts == 1 ? " attempt)" : " attempts)");
  return text;
}

HttpError::HttpError(HttpErrorDetails details) : std::runtime_error(describe(details)), details_(std::move(details)) {}

HttpError status_error(const Request& request, const Response& response) {
  VendorError vendor = parse_vendor_error(response.body);
  HttpErrorDetails details;
  details.method = request.method;
  details.redacted_url = redact_url(request.url);
  details.status = response.status;
  details.vendor_code = std::move(vendor.code);
  details.vendor_message = std::move(vendor.message);
  details.attempts = response.attempts;
  return HttpError(std::move(details));
}

}  // namespace rapport::http
