#include "serve/http_server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "engine/output.hpp"
#include "model/time.hpp"

namespace rapport::serve {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kHeaderLimit = 16 * 1024;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// application/x-www-form-urlencoded decoding of one query component.
std::string url_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 &&
               hex_digit(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    out[url_decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
  }
  return out;
}

std::string now_text() { return model::format_timestamp(static_cast<double>(std::time(nullptr))); }

std::mutex log_mutex;

}  // namespace

std::string Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

Response json_error(int status, std::string_view code, std::string_view message, std::string details_json) {
  Response response;
  response.status = status;
  response.body = "{\"error\": {\"code\": " + engine::json_string(code) + ", \"message\": " + engine::json_string(message) +
                  ", \"details\": " + details_json + "}}\n";
  return response;
}

void Router::add(Route route) { routes_.push_back(std::move(route)); }

const Route* Router::find(std::string_view method, std::string_view path, std::string& allow) const {
  allow.clear();
  for (const auto& route : routes_) {
    if (route.path != path) continue;
    if (route.method == method) return &route;
    allow += (allow.empty() ? "" : ", ") + route.method;
  }
  return nullptr;
}

void AccessLog::request(std::string_view method, std::string_view path, int status, double milliseconds) const {
  std::string line;
  if (format_ == LogFormat::Json) {
    line = "{\"time\":" + engine::json_string(now_text()) + ",\"event\":\"request\",\"method\":" + engine::json_string(method) +
           ",\"path\":" + engine::json_string(path) + ",\"status\":" + std::to_string(status) + ",\"ms\":" +
           fmt_ms(milliseconds) + "}\n";
  } else {
    line = now_text() + " " + std::string(method) + " " + std::string(path) + " " + std::to_string(status) + " " +
           fmt_ms(milliseconds) + " ms\n";
  }
  std::lock_guard lock(log_mutex);
  std::fputs(line.c_str(), stderr);
}

void AccessLog::event(std::string_view name, std::string_view detail) const {
  std::string line;
  if (format_ == LogFormat::Json) {
    line = "{\"time\":" + engine::json_string(now_text()) + ",\"event\":" + engine::json_string(name) +
           ",\"detail\":" + engine::json_string(detail) + "}\n";
  } else {
    line = now_text() + " " + std::string(name) + (detail.empty() ? "" : ": ") + std::string(detail) + "\n";
  }
  std::lock_guard lock(log_mutex);
  std::fputs(line.c_str(), stderr);
}

std::string AccessLog::fmt_ms(double milliseconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", milliseconds);
  return buffer;
}

struct Server::Impl {
  Impl(const Config& c, Router r, Metrics& m, const AccessLog& l)
      : config(c), router(std::move(r)), metrics(m), log(l), workers(c.threads) {}

  Config config;
  Router router;
  Metrics& metrics;
  const AccessLog& log;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  asio::thread_pool workers;
  std::vector<std::thread> threads;
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> stopping{false};
  std::uint16_t port = 0;
  bool started = false;

  void accept();
};

namespace {

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& server)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), server_(server) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

 private:
  void read_header() {
    parser_.emplace();
    parser_->body_limit(server_.config.max_body_bytes);
    parser_->header_limit(kHeaderLimit);
    timed_out_ = false;
    method_ = "-";
    path_ = "-";
    stream_.expires_never();
    arm_read_timer();
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  /// One deadline for a whole request (headers and body): a client that sends slowly is
  /// answered 408 and disconnected.
  void arm_read_timer() {
    timer_.expires_after(millis(server_.config.read_timeout_seconds));
    timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) {
        self->timed_out_ = true;
        beast::error_code ignored;
        self->stream_.socket().cancel(ignored);
      }
    });
  }

  /// Returns true when the read failed and has been answered (or the connection closed).
  bool read_failed(beast::error_code ec) {
    if (!ec) return false;
    timer_.cancel();
    started_ = Clock::now();
    if (timed_out_) {
      if (parser_->got_some() || buffer_.size() > 0) {
        send(json_error(408, "request_timeout",
                        "the request did not arrive within " + std::to_string(server_.config.read_timeout_seconds) + " s"),
             true);
      } else {
        close();
      }
    } else if (ec == http::error::body_limit) {
      send(too_large(), true);
    } else if (ec == http::error::header_limit) {
      send(json_error(431, "headers_too_large", "the request's headers exceed " + std::to_string(kHeaderLimit) + " bytes"), true);
    } else if (ec.category() == http::make_error_code(http::error::bad_target).category() && ec != http::error::end_of_stream &&
               ec != http::error::partial_message) {
      send(json_error(400, "bad_request", "this is not an HTTP/1.1 request: " + ec.message()), true);
    } else {
      close();
    }
    return true;
  }

  Response too_large() const {
    return json_error(413, "payload_too_large",
                      "the request body exceeds the limit of " + std::to_string(server_.config.max_body_bytes) + " bytes",
                      "{\"limit\": " + std::to_string(server_.config.max_body_bytes) + "}");
  }

  void on_header(beast::error_code ec) {
    if (read_failed(ec)) return;
    const auto& header = parser_->get();
    method_ = std::string(header.method_string());
    std::string_view target = header.target();
    path_ = std::string(target.substr(0, target.find('?')));
    if (auto length = parser_->content_length(); length && *length > server_.config.max_body_bytes) {
      timer_.cancel();
      started_ = Clock::now();
      send(too_large(), true);
      return;
    }
    if (beast::iequals(header[http::field::expect], "100-continue")) {
      auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_, header.version());
      http::async_write(stream_, *interim, [self = shared_from_this(), interim](beast::error_code write_ec, std::size_t) {
        if (write_ec) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (read_failed(ec)) return;
    timer_.cancel();
    started_ = Clock::now();
    auto message = parser_->release();
    keep_alive_ = message.keep_alive();
    Request request;
    request.method = method_;
    request.target = std::string(message.target());
    request.path = path_;
    if (auto q = request.target.find('?'); q != std::string::npos) request.query = parse_query(std::string_view(request.target).substr(q + 1));
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request.body = std::move(message.body());
    route(std::move(request));
  }

  static Response run(const Route& route, const Request& request) {
    try {
      return route.handler(request);
    } catch (const std::bad_alloc&) {
      return json_error(500, "internal", "out of memory");
    } catch (const std::exception& e) {
      return json_error(500, "internal", std::string("internal error: ") + e.what());
    }
  }

  void route(Request request) {
    std::string allow;
    const Route* route = server_.router.find(request.method, request.path, allow);
    if (!route) {
      endpoint_ = "other";
      if (allow.empty()) return send(json_error(404, "not_found", "no endpoint " + request.path));
      Response response = json_error(405, "method_not_allowed", request.method + " is not allowed on " + request.path,
                                     "{\"allow\": " + engine::json_string(allow) + "}");
      response.headers.emplace_back("Allow", allow);
      return send(std::move(response));
    }
    endpoint_ = route->path;
    if (!route->evaluates) return send(run(*route, request));
    if (server_.in_flight.fetch_add(1) >= server_.config.max_in_flight) {
      --server_.in_flight;
      Response busy = json_error(503, "overloaded",
                                 "the server is evaluating " + std::to_string(server_.config.max_in_flight) +
                                     " requests already; retry shortly",
                                 "{\"max_in_flight\": " + std::to_string(server_.config.max_in_flight) + "}");
      busy.headers.emplace_back("Retry-After", "1");
      return send(std::move(busy));
    }
    asio::post(server_.workers, [self = shared_from_this(), route, request = std::move(request)] {
      Response response = run(*route, request);
      --self->server_.in_flight;
      asio::post(self->stream_.get_executor(),
                 [self, response = std::move(response)]() mutable { self->send(std::move(response)); });
    });
  }

  void send(Response response, bool close_after = false) {
    auto message = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(response.status), 11);
    message->set(http::field::server, "rapport");
    message->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    message->keep_alive(keep_alive_ && !close_after && !server_.stopping);
    message->prepare_payload();
    double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    server_.metrics.request(endpoint_, response.status, seconds);
    server_.log.request(method_, path_, response.status, seconds * 1000);
    stream_.expires_after(millis(server_.config.write_timeout_seconds));
    http::async_write(stream_, *message, [self = shared_from_this(), message](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (!message->keep_alive()) return self->close();
      self->endpoint_ = "other";
      self->read_header();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool timed_out_ = false;
  bool keep_alive_ = false;
  std::string method_ = "-";
  std::string path_ = "-";
  std::string endpoint_ = "other";
  Clock::time_point started_ = Clock::now();
};

}  // namespace

void Server::Impl::accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    } else {
      std::make_shared<Session>(std::move(socket), *this)->start();
    }
    accept();
  });
}

Server::Server(const Config& config, Router router, Metrics& metrics, const AccessLog& log)
    : impl_(std::make_unique<Impl>(config, std::move(router), metrics, log)) {}

Server::~Server() { stop(0); }

void Server::start() {
  Impl& s = *impl_;
  beast::error_code ec;
  auto address = asio::ip::make_address(s.config.address, ec);
  if (ec) throw std::runtime_error("listen.address `" + s.config.address + "` is not an IP address");
  tcp::endpoint endpoint(address, static_cast<unsigned short>(s.config.port));
  const std::string where = s.config.address + ":" + std::to_string(s.config.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  s.port = s.acceptor.local_endpoint().port();
  s.accept();
  s.started = true;
  for (unsigned i = 0; i < s.config.threads; ++i) s.threads.emplace_back([&s] { s.ioc.run(); });
}

std::uint16_t Server::port() const { return impl_->port; }

void Server::stop(double grace_seconds) {
  Impl& s = *impl_;
  if (!s.started) return;
  s.started = false;
  s.stopping = true;
  asio::post(s.ioc, [&s] {
    beast::error_code ignored;
    s.acceptor.close(ignored);
  });
  auto deadline = Clock::now() + millis(grace_seconds);
  while (s.in_flight > 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  s.workers.join();
  // Let the last answers go out before the I/O threads stop.
  std::this_thread::sleep_for(std::chrono::milliseconds(grace_seconds > 0 ? 50 : 0));
  s.ioc.stop();
  for (auto& thread : s.threads) thread.join();
  s.threads.clear();
}

}  // namespace rapport::serve
