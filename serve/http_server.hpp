#pragma once
// The HTTP/1.1 server under `rapport serve` (Boost.Beast): a fixed pool of threads runs the I/O,
// evaluating handlers run on a separate pool of workers so slow requests never hold up accepting
// and reading; a bound on requests being evaluated (503 with Retry-After past it), a body limit
// (413), a read timeout (408), 404 for unknown paths and 405 with Allow for wrong methods. Every
// error body is {"error": {"code", "message", "details"}}. One log line per request.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "serve/config.hpp"
#include "serve/metrics.hpp"

namespace rapport::serve {

struct Request {
  std::string method;
  std::string target;  // path and query as sent
  std::string path;    // without the query
  std::map<std::string, std::string> query;  // decoded; a repeated key keeps its last value
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  /// The first header of that name (give it lower-case), or "" when absent.
  [[nodiscard]] std::string header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// {"error": {"code": CODE, "message": MESSAGE, "details": DETAILS}}; `details_json` is JSON text.
Response json_error(int status, std::string_view code, std::string_view message, std::string details_json = "null");

/// One endpoint. `evaluates`: the handler runs on the worker pool under the concurrency bound;
/// otherwise on the I/O thread (cheap answers: health, metrics, the OpenAPI document).
struct Route {
  std::string method;
  std::string path;
  bool evaluates = false;
  std::function<Response(const Request&)> handler;
};

class Router {
 public:
  void add(Route route);
  /// The route for a request; nullptr with `allow` set (405) or empty (404).
  [[nodiscard]] const Route* find(std::string_view method, std::string_view path, std::string& allow) const;
  [[nodiscard]] const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

/// Writes one line per request to standard error (text or JSON), never with the query string
/// (which may carry a key) and never with headers.
class AccessLog {
 public:
  explicit AccessLog(LogFormat format) : format_(format) {}
  void request(std::string_view method, std::string_view path, int status, double milliseconds) const;
  /// An event line: `reload ok`, `reload failed: ...`, `listening on ...`.
  void event(std::string_view name, std::string_view detail) const;

 private:
  static std::string fmt_ms(double milliseconds);
  LogFormat format_;
};

class Server {
 public:
  Server(const Config& config, Router router, Metrics& metrics, const AccessLog& log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and starts the threads; throws std::runtime_error naming the address when it can't.
  void start();
  /// The bound port (useful with port 0).
  [[nodiscard]] std::uint16_t port() const;
  /// Stops accepting, lets requests being evaluated finish (up to `grace_seconds`), joins.
  void stop(double grace_seconds = 5);

  struct Impl;  // the listener, threads and connections (http_server.cpp)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rapport::serve
