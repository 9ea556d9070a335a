#include "connectors/http/redact.hpp"

#include <algorithm>
#include <array>

namespace rapport::http {
namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return out;
}

// Percent-decodes a parameter name so `client%5Fsecret` is caught too.
std::string decode_name(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (name[i] == '%' && i + 2 < name.size() && hex(name[i + 1]) >= 0 && hex(name[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(name[i + 1]) * 16 + hex(name[i + 2])));
      i += 2;
    } else {
      out.push_back(name[i] == '+' ? ' ' : name[i]);
    }
  }
  return out;
}

// Redacts secret parameters in an `a=1&b=2` list.
std::string redact_parameters(std::string_view parameters) {
  std::string out;
  std::size_t start = 0;
  while (start <= parameters.size()) {
    std::size_t end = parameters.find_first_of("&;", start);
    if (end == std::string_view::npos) end = parameters.size();
    std::string_view pair = parameters.substr(start, end - start);
    std::size_t equals = pair.find('=');
    std::string_view name = pair.substr(0, equals);
    if (equals != std::string_view::npos && is_secret_parameter(decode_name(name))) {
      out.append(name).append("=REDACTED");
    } else {
      out.append(pair);
    }
    if (end == parameters.size()) break;
    out.push_back(parameters[end]);
    start = end + 1;
  }
  return out;
}

}  // namespace

bool is_secret_parameter(std::string_view name) {
  static constexpr std::array<std::string_view, 10> exact = {
      "access_token", "token", "client_secret", "password", "code",
      "refresh_token", "api_key", "key", "signature", "sig"};
  // Vendor variants: hapikey (HubSpot's old API key), id_token, x-amz-signature, passwd, ...
  static constexpr std::array<std::string_view, 7> contained = {
      "token", "secret", "password", "passwd", "apikey", "api_key", "signature"};
  std::string lower = lowercase(name);
  if (std::find(exact.begin(), exact.end(), lower) != exact.end()) return true;
  return std::any_of(contained.begin(), contained.end(),
                     [&](std::string_view part) { return lower.find(part) != std::string::npos; });
}

std::string redact_url(std::string_view url) {
  std::string_view rest = url;
  std::string out;

  std::size_t scheme_end = rest.find("://");
  std::size_t first_delimiter = rest.find_first_of("/?#");
  if (scheme_end != std::string_view::npos && scheme_end < first_delimiter) {
    out.append(rest.substr(0, scheme_end + 3));
    rest.remove_prefix(scheme_end + 3);
    // The authority ends at the first '/', '?' or '#'; userinfo is everything up to its last '@'.
    std::size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
    std::string_view authority = rest.substr(0, authority_end);
    std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) authority.remove_prefix(at + 1);
    out.append(authority);
    rest.remove_prefix(authority_end);
  }

  std::size_t fragment_start = std::min(rest.find('#'), rest.size());
  std::string_view before_fragment = rest.substr(0, fragment_start);
  std::size_t query_start = std::min(before_fragment.find('?'), before_fragment.size());
  out.append(before_fragment.substr(0, query_start));
  if (query_start < before_fragment.size()) {
    out.push_back('?');
    out.append(redact_parameters(before_fragment.substr(query_start + 1)));
  }
  if (fragment_start < rest.size()) {
    out.push_back('#');
    out.append(redact_parameters(rest.substr(fragment_start + 1)));
  }
  return out;
}

std::string scrub(std::string text, std::string_view secret) {
  if (secret.size() < 4) return text;
  for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

}  // namespace rapport::http
