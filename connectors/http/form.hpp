#pragma once
// application/x-www-form-urlencoded bodies (OAuth token requests).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rapport::http {

/// Percent-encodes everything but the RFC 3986 unreserved characters, upper-case hex.
std::string percent_encode(std::string_view text);

/// `name=value&...` in the given order, both sides percent-encoded.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace rapport::http
