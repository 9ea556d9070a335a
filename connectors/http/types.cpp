#include "connectors/http/types.hpp"

#include <algorithm>

namespace rapport::http {

std::string_view method_name(Method method) {
  switch (method) {
    case Method::Get: return "GET";
    case Method::Head: return "HEAD";
    case Method::Post: return "POST";
    case Method::Put: return "PUT";
    case Method::Patch: return "PATCH";
    case Method::Delete: return "DELETE";
  }
  return "GET";
}

bool is_idempotent(Method method) {
  return method != Method::Post && method != Method::Patch;
}

bool header_name_equals(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

void Headers::set(std::string name, std::string value) {
  std::erase_if(headers_, [&](const Header& header) { return header_name_equals(header.name, name); });
  headers_.push_back({std::move(name), std::move(value)});
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const Header& header : headers_) {
    if (header_name_equals(header.name, name)) return header.value;
  }
  return std::nullopt;
}

}  // namespace rapport::http
