#include "loopback_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace rapport::testing {
namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

int loopback_socket(std::uint16_t port, bool listen_on_it) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("bind() on 127.0.0.1 failed");
  }
  if (listen_on_it && ::listen(fd, 64) != 0) {
    ::close(fd);
    throw std::runtime_error("listen() failed");
  }
  return fd;
}

std::uint16_t bound_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

// Reads one request (headers and a Content-Length body); false when the peer gave up.
bool read_request(int fd, ReceivedRequest& request) {
  std::string data;
  char buffer[8192];
  std::size_t header_end = std::string::npos;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) return false;
    data.append(buffer, static_cast<std::size_t>(got));
  }
  std::string_view head(data.data(), header_end);
  std::size_t line_end = head.find("\r\n");
  std::string_view request_line = head.substr(0, line_end);
  std::size_t first_space = request_line.find(' ');
  std::size_t second_space = request_line.find(' ', first_space + 1);
  request.method = std::string(request_line.substr(0, first_space));
  request.target = std::string(request_line.substr(first_space + 1, second_space - first_space - 1));
  std::size_t content_length = 0;
  while (line_end != std::string_view::npos && line_end < head.size()) {
    std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    std::string_view line = head.substr(start, line_end == std::string_view::npos ? head.npos : line_end - start);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(trim(line.substr(0, colon)));
    std::string value(trim(line.substr(colon + 1)));
    if (lowercase(name) == "content-length") content_length = std::stoul(value);
    request.headers.emplace_back(std::move(name), std::move(value));
  }
  request.body = data.substr(header_end + 4);
  while (request.body.size() < content_length) {
    ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) return false;
    request.body.append(buffer, static_cast<std::size_t>(got));
  }
  return true;
}

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
}

}  // namespace

Reply respond(int status, std::string body, std::vector<std::pair<std::string, std::string>> headers) {
  std::string raw = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
  for (const auto& [name, value] : headers) raw += name + ": " + value + "\r\n";
  raw += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  return Reply{Reply::Kind::Respond, std::move(raw), {}};
}

Reply raw_reply(std::string raw) { return Reply{Reply::Kind::Respond, std::move(raw), {}}; }

Reply reset_connection() { return Reply{Reply::Kind::Reset, {}, {}}; }

Reply delayed(Reply reply, std::chrono::milliseconds delay) {
  reply.delay = delay;
  return reply;
}

std::string ReceivedRequest::header(std::string_view name) const {
  std::string wanted = lowercase(name);
  for (const auto& [key, value] : headers) {
    if (lowercase(key) == wanted) return value;
  }
  return {};
}

LoopbackServer::LoopbackServer(std::vector<Reply> script, Reply fallback, std::chrono::milliseconds lifetime)
    : script_(std::move(script)), fallback_(std::move(fallback)), deadline_(std::chrono::steady_clock::now() + lifetime) {
  listener_ = loopback_socket(0, true);
  port_ = bound_port(listener_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

LoopbackServer::LoopbackServer(Handler handler, std::chrono::milliseconds lifetime)
    : fallback_(respond(599, "unscripted request")),
      handler_(std::move(handler)),
      deadline_(std::chrono::steady_clock::now() + lifetime) {
  listener_ = loopback_socket(0, true);
  port_ = bound_port(listener_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

LoopbackServer::~LoopbackServer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stopping_.notify_all();
  acceptor_.join();
  std::vector<std::thread> connections;
  {
    std::lock_guard lock(mutex_);
    connections.swap(connections_);
  }
  for (std::thread& connection : connections) connection.join();
  ::close(listener_);
}

std::string LoopbackServer::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::vector<ReceivedRequest> LoopbackServer::requests() const {
  std::lock_guard lock(mutex_);
  return received_;
}

void LoopbackServer::extend_script(std::vector<Reply> replies) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Reply& reply : replies) script_.push_back(std::move(reply));
}

Reply LoopbackServer::next_reply(const ReceivedRequest& request) {
  if (handler_) {
    std::lock_guard lock(handler_mutex_);
    return handler_(request);
  }
  std::lock_guard lock(mutex_);
  std::size_t index = next_++;
  return index < script_.size() ? script_[index] : fallback_;
}

void LoopbackServer::accept_loop() {
  while (std::chrono::steady_clock::now() < deadline_) {
    {
      std::lock_guard lock(mutex_);
      if (stop_) return;
    }
    pollfd waiting{listener_, POLLIN, 0};
    if (::poll(&waiting, 1, 20) <= 0) continue;
    int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    timeval timeout{5, 0};
    ::setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::lock_guard lock(mutex_);
    connections_.emplace_back([this, connection] { serve(connection); });
  }
}

void LoopbackServer::serve(int connection) {
  ReceivedRequest request;
  if (!read_request(connection, request)) {
    ::close(connection);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    received_.push_back(request);
  }
  int now_in_flight = ++in_flight_;
  int seen = max_in_flight_.load();
  while (now_in_flight > seen && !max_in_flight_.compare_exchange_weak(seen, now_in_flight)) {
  }

  Reply reply = next_reply(request);
  if (reply.delay.count() > 0) {
    std::unique_lock lock(mutex_);
    stopping_.wait_for(lock, reply.delay, [this] { return stop_; });
  }
  // The request stops counting as in flight before the client can see the answer: once it has it,
  // the client may start its next request while this thread is still descheduled here, and
  // counting both would report more concurrency than the client ever used.
  --in_flight_;
  switch (reply.kind) {
    case Reply::Kind::Respond:
      send_all(connection, reply.raw);
      ::shutdown(connection, SHUT_WR);
      break;
    case Reply::Kind::Reset: {
      linger abort{1, 0};
      ::setsockopt(connection, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
      break;
    }
    case Reply::Kind::Close: break;
  }
  ::close(connection);
}

std::uint16_t closed_port() {
  int fd = loopback_socket(0, false);
  std::uint16_t port = bound_port(fd);
  ::close(fd);
  return port;
}

}  // namespace rapport::testing
