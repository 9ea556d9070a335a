#include "nightly/notify.hpp"

#include <cstdlib>
#include <fstream>

#include "connectors/http/client.hpp"

namespace rapport::nightly {

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t start = s.find_first_not_of(" \t");
  return start == std::string::npos ? std::string() : s.substr(start);
}

}  // namespace

WebhookResult post_webhook(const Webhook& hook, const std::string& body) {
  WebhookResult result;
  const std::string where = "the webhook (" + hook.location + ")";
  std::string url;
  if (!hook.url_env.empty()) {
    const char* value = std::getenv(hook.url_env.c_str());
    if (value == nullptr || *value == '\0') {
      result.message = where + ": the environment variable " + hook.url_env + " is not set";
      return result;
    }
    url = trimmed(value);
  } else {
    std::ifstream in(hook.url_file);
    if (!in || !std::getline(in, url)) {
      result.message = where + ": cannot read the URL from " + hook.url_file;
      return result;
    }
    url = trimmed(url);
  }
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
    result.message = where + ": the URL must start with https://";
    return result;
  }
  try {
    http::ClientOptions options;
    options.total_timeout = std::chrono::milliseconds(static_cast<long>(hook.timeout_seconds * 1000));
    options.connect_timeout = std::min(options.connect_timeout, options.total_timeout);
    http::Client client(options);
    http::Request request;
    request.method = http::Method::Post;
    request.url = url;
    request.headers.add("Content-Type", "application/json; charset=utf-8");
    request.body = body;
    http::Response response = client.send(request);
    result.status = response.status;
    result.ok = response.ok();
    if (result.ok) {
      result.message = where + ": posted (HTTP " + std::to_string(response.status) + ")";
    } else {
      std::string reply = response.body.substr(0, 200);
      for (char& c : reply) {
        if (c == '\n' || c == '\r') c = ' ';
      }
      result.message = where + ": the chat service answered HTTP " + std::to_string(response.status) +
                       (reply.empty() ? "" : ": " + reply);
    }
  } catch (const http::HttpError& e) {
    // what() would carry the URL, and a webhook URL is its own secret.
    result.message = where + ": " + (e.curl_error().empty() ? std::string("no answer") : e.curl_error()) + " after " +
                     std::to_string(e.attempts()) + " attempt(s)";
  } catch (const std::exception& e) {
    result.message = where + ": " + e.what();
  }
  return result;
}

}  // namespace rapport::nightly
