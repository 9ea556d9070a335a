#pragma once
// A scripted HTTP/1.1 server on 127.0.0.1 for transport tests: it answers requests in arrival
// order from a script, records exactly what it received, and stops by itself after a deadline.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace rapport::testing {

/// What the server does with one request.
struct Reply {
  enum class Kind { Respond, Reset, Close };
  Kind kind = Kind::Respond;
  std::string raw;  // the exact bytes sent back (status line, headers, body) for Respond
  std::chrono::milliseconds delay{0};  // wait before acting (for timeouts and concurrency)
};

/// A complete response with Content-Length and Connection: close.
Reply respond(int status, std::string body = "", std::vector<std::pair<std::string, std::string>> headers = {});
/// Exactly these bytes, then the connection is closed (for truncated or malformed replies).
Reply raw_reply(std::string raw);
/// Reads the request and resets the connection (TCP RST) without answering.
Reply reset_connection();
/// The same reply after a delay.
Reply delayed(Reply reply, std::chrono::milliseconds delay);

/// One request as it arrived on the wire.
struct ReceivedRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// The first header of that name (case-insensitive), or "" when absent.
  [[nodiscard]] std::string header(std::string_view name) const;
};

/// Answers one request from what it says (a stateful fake CRM); called one request at a time.
using Handler = std::function<Reply(const ReceivedRequest&)>;

class LoopbackServer {
 public:
  /// Answers every request through `handler` (under a lock, so its state needs no other one);
  /// gives up after `lifetime`.
  explicit LoopbackServer(Handler handler, std::chrono::milliseconds lifetime = std::chrono::seconds(15));
  /// Serves `script` in order, then `fallback` for any further request; gives up after `lifetime`.
  explicit LoopbackServer(std::vector<Reply> script, Reply fallback = respond(599, "unscripted request"),
                          std::chrono::milliseconds lifetime = std::chrono::seconds(15));
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// Appends replies to the script (for replies that must name the server's own URL, such as an
  /// absolute next-page link).
  void extend_script(std::vector<Reply> replies);
  /// "http://127.0.0.1:PORT" + path.
  [[nodiscard]] std::string url(std::string_view path) const;
  /// The requests received so far, in arrival order.
  [[nodiscard]] std::vector<ReceivedRequest> requests() const;
  /// The most requests that were being answered at the same moment.
  [[nodiscard]] int max_in_flight() const { return max_in_flight_.load(); }

 private:
  void accept_loop();
  void serve(int connection);
  Reply next_reply(const ReceivedRequest& request);

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::vector<Reply> script_;
  Reply fallback_;
  Handler handler_;
  std::mutex handler_mutex_;
  std::chrono::steady_clock::time_point deadline_;

  mutable std::mutex mutex_;
  std::condition_variable stopping_;
  bool stop_ = false;
  std::size_t next_ = 0;
  std::vector<ReceivedRequest> received_;
  std::vector<std::thread> connections_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::thread acceptor_;
};

/// A loopback port with nothing listening on it (connections are refused).
std::uint16_t closed_port();

}  // namespace rapport::testing
