#pragma once
// Requests and responses as the transport sees them: plain values, no libcurl types.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::http {

enum class Method { Get, Head, Post, Put, Patch, Delete };

/// "GET", "POST", ...
std::string_view method_name(Method method);

/// GET, HEAD, PUT and DELETE may be repeated without changing the outcome (RFC 9110 §9.2.2).
bool is_idempotent(Method method);

struct Header {
  std::string name;
  std::string value;
};

/// Headers in the order they came; names compare case-insensitively.
class Headers {
 public:
  Headers() = default;
  Headers(std::initializer_list<Header> headers) : headers_(headers) {}

  void add(std::string name, std::string value) { headers_.push_back({std::move(name), std::move(value)}); }
  /// Replaces every header of that name with one value.
  void set(std::string name, std::string value);
  /// The first value of a header, if present.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;
  [[nodiscard]] bool contains(std::string_view name) const { return get(name).has_value(); }
  void clear() { headers_.clear(); }

  [[nodiscard]] auto begin() const { return headers_.begin(); }
  [[nodiscard]] auto end() const { return headers_.end(); }
  [[nodiscard]] std::size_t size() const { return headers_.size(); }

 private:
  std::vector<Header> headers_;
};

/// True when two header names are equal ignoring ASCII case.
bool header_name_equals(std::string_view a, std::string_view b);

/// One HTTP exchange to perform. The URL may carry secrets: the transport redacts it in errors.
struct Request {
  Method method = Method::Get;
  std::string url;
  Headers headers;  // Authorization and other secrets are never written to errors or logs
  std::string body;
  /// Overrides ClientOptions::total_timeout for this request.
  std::optional<std::chrono::milliseconds> total_timeout;
  /// The caller asserts a POST or PATCH is safe to repeat (for example a token request, or an
  /// upsert on an external id); without it they are retried only when provably never sent.
  bool idempotent = false;
};

/// True when the request may be sent twice: an idempotent method or a caller's promise.
inline bool may_repeat(const Request& request) { return request.idempotent || is_idempotent(request.method); }

/// The final response to a request (after any retries).
struct Response {
  long status = 0;
  Headers headers;  // of the final response only (not of interim 1xx or proxy CONNECT replies)
  std::string body;  // decoded (gzip and deflate are undone by the transport)
  int attempts = 1;  // how many times the request was sent to obtain this response

  [[nodiscard]] bool ok() const { return status >= 200 && status < 300; }
};

}  // namespace rapport::http
