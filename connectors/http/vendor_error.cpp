#include "connectors/http/vendor_error.hpp"

#include <boost/json.hpp>

namespace rapport::http {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxMessage = 300;

std::string shorten(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    bool blank = c == ' ' || c == '\n' || c == '\r' || c == '\t';
    if (blank) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
    if (out.size() >= kMaxMessage) {
      out += "...";
      break;
    }
  }
  return out;
}

std::string string_field(const json::object& object, std::string_view key) {
  if (const json::value* value = object.if_contains(key)) {
    if (value->is_string()) return std::string(value->get_string());
    if (value->is_int64()) return std::to_string(value->get_int64());
  }
  return {};
}

VendorError from_salesforce(const json::array& errors) {
  VendorError out;
  if (errors.empty() || !errors.front().is_object()) return out;
  const json::object& first = errors.front().get_object();
  out.code = string_field(first, "errorCode");
  out.message = shorten(string_field(first, "message"));
  if (errors.size() > 1) out.message += " (and " + std::to_string(errors.size() - 1) + " more)";
  return out;
}

VendorError from_object(const json::object& object) {
  VendorError out;
  if (const json::value* error = object.if_contains("error")) {
    if (error->is_object()) {  // OData (Dynamics 365)
      out.code = string_field(error->get_object(), "code");
      out.message = shorten(string_field(error->get_object(), "message"));
      return out;
    }
    if (error->is_string()) {  // OAuth 2.0
      out.code = std::string(error->get_string());
      out.message = shorten(string_field(object, "error_description"));
      return out;
    }
  }
  if (object.contains("category") || string_field(object, "status") == "error") {  // HubSpot
    out.code = string_field(object, "category");
    out.message = shorten(string_field(object, "message"));
    std::string correlation = string_field(object, "correlationId");
    if (!correlation.empty()) out.message += " (correlationId " + correlation + ")";
    return out;
  }
  out.code = string_field(object, "errorCode");
  out.message = shorten(string_field(object, "message"));
  return out;
}

}  // namespace

VendorError parse_vendor_error(std::string_view body) {
  boost::system::error_code error;
  json::value value = json::parse(body, error);
  if (!error) {
    if (value.is_array()) return from_salesforce(value.get_array());
    if (value.is_object()) return from_object(value.get_object());
  }
  VendorError out;
  std::string_view first_line = body.substr(0, body.find('\n'));
  out.message = shorten(first_line);
  return out;
}

}  // namespace rapport::http
