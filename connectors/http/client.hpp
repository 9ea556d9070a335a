#pragma once
// The transport: sends requests with retries, a request-rate limit and a concurrency limit.

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "connectors/http/error.hpp"
#include "connectors/http/options.hpp"
#include "connectors/http/types.hpp"

namespace rapport::http {

/// One attempt, as reported to ClientOptions::on_attempt. Carries no headers and no body.
struct AttemptEvent {
  Method method = Method::Get;
  std::string redacted_url;
  int attempt = 1;  // 1 for the first try
  long status = 0;  // 0 when no response arrived
  TransportFailure failure = TransportFailure::None;
  std::string reason;  // "HTTP 503", "timed out", ...
  bool will_retry = false;
  std::chrono::milliseconds delay{0};    // the wait before the next attempt, when retrying
  std::chrono::milliseconds elapsed{0};  // how long this attempt took
};

/// The result of one request of a batch: its final response, or why there is none.
class Outcome {
 public:
  explicit Outcome(Response response) : value_(std::move(response)) {}
  explicit Outcome(HttpError error) : value_(std::move(error)) {}

  /// True when a response arrived (whatever its status).
  [[nodiscard]] bool has_response() const { return std::holds_alternative<Response>(value_); }
  /// The response; throws the HttpError when there is none.
  [[nodiscard]] const Response& response() const;
  /// The error, or null when a response arrived.
  [[nodiscard]] const HttpError* error() const { return std::get_if<HttpError>(&value_); }

 private:
  std::variant<Response, HttpError> value_;
};

/// Talks HTTP for one source. Owns a libcurl multi handle, so connections are reused between
/// calls. Not thread-safe: one thread at a time drives a Client (its libcurl handles must not be
/// shared); parallelism comes from send_all, or from one Client a thread, the Clients sharing a
/// rate limit (share_rate_limit).
class Client {
 public:
  explicit Client(ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Sends one request, retrying as ClientOptions::retry says, and returns the final response
  /// whatever its status. Throws HttpError when no response could be obtained.
  Response send(const Request& request);

  /// send(), and an HttpError (with the vendor's message) for a final status of 400 or more.
  Response perform(const Request& request);

  /// Sends all requests, at most max_concurrency in flight and at most requests_per_second
  /// started a second, each retried on its own. Outcomes are in the order of the requests.
  std::vector<Outcome> send_all(std::span<const Request> requests);

  [[nodiscard]] const ClientOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rapport::http
