#include "connectors/auth/authenticated_client.hpp"

#include <string>

namespace rapport::auth {
namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

bool is_token_rejected(const http::Response& response) {
  if (response.status != 401) return false;
  std::optional<std::string_view> challenge = response.headers.get("WWW-Authenticate");
  if (!challenge) return true;
  std::string lower = lowercase(*challenge);
  std::size_t error = lower.find("error=");
  if (error == std::string::npos) return true;
  return lower.find("invalid_token", error) != std::string::npos;
}

http::Response AuthenticatedClient::send(http::Request request) {
  AccessToken sent = tokens_.token();
  request.headers.set("Authorization", sent.authorization());
  http::Response response = client_.send(request);
  if (!is_token_rejected(response)) return response;

  tokens_.invalidate(sent);  // another worker may have replaced it already
  request.headers.set("Authorization", tokens_.authorization());
  http::Response retried = client_.send(request);
  retried.attempts += response.attempts;
  return retried;
}

http::Response AuthenticatedClient::perform(http::Request request) {
  http::Request described;  // the request without its headers, for the error
  described.method = request.method;
  described.url = request.url;
  http::Response response = send(std::move(request));
  if (response.status >= 400) throw http::status_error(described, response);
  return response;
}

}  // namespace rapport::auth
