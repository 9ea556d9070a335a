#include "connectors/http/client.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <random>

#include "connectors/http/curl_handles.hpp"
#include "connectors/http/rate_limiter.hpp"
#include "connectors/http/redact.hpp"
#include "connectors/http/vendor_error.hpp"

namespace rapport::http {
namespace {

using Clock = std::chrono::steady_clock;
using detail::HeaderList;

// One request of a batch, across its attempts.
struct Transfer {
  const Request* request = nullptr;
  std::size_t index = 0;
  int attempts = 0;
  Clock::time_point not_before;
  Clock::time_point started;
  std::size_t max_body = 0;
  bool body_too_large = false;
  Response response;
  detail::EasyHandle easy;
  std::unique_ptr<HeaderList> header_list;
  std::unique_ptr<detail::MultiAttachment> attachment;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};
};

extern "C" size_t write_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  if (transfer->response.body.size() + bytes > transfer->max_body) {
    transfer->body_too_large = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  transfer->response.body.append(data, bytes);
  return bytes;
}

std::string_view trim_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  return text;
}

extern "C" size_t write_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    transfer->response.headers.clear();  // a new response (after 1xx or a proxy's CONNECT reply)
    return bytes;
  }
  std::size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    transfer->response.headers.add(std::string(trim_line(line.substr(0, colon))),
                                   std::string(trim_line(line.substr(colon + 1))));
  }
  return bytes;
}

TransportFailure classify(CURLcode code, CURL* easy) {
  switch (code) {
    case CURLE_OK: return TransportFailure::None;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT: return TransportFailure::NotSent;
    case CURLE_OPERATION_TIMEDOUT: {
      // A timeout before the connection was made means the server never saw the request.
      curl_off_t connected = 0;
      if (curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connected) == CURLE_OK && connected == 0) {
        return TransportFailure::NotSent;
      }
      return TransportFailure::Timeout;
    }
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return TransportFailure::ConnectionLost;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE: return TransportFailure::Tls;
    default: return TransportFailure::Other;
  }
}

bool http2_available() {
  static const bool available = (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_HTTP2) != 0;
  return available;
}

long millis(std::chrono::milliseconds duration) { return static_cast<long>(std::max<long long>(0, duration.count())); }

}  // namespace

const Response& Outcome::response() const {
  if (const HttpError* failure = error()) throw *failure;
  return std::get<Response>(value_);
}

struct Client::Impl {
  explicit Impl(ClientOptions chosen)
      : options(std::move(chosen)),
        bucket(options.shared_rate_limit ? options.shared_rate_limit
                                         : std::make_shared<TokenBucket>(options.requests_per_second,
                                                                         options.rate_burst, Clock::now())),
        random(options.jitter_seed ? *options.jitter_seed : std::random_device{}()) {
    options.max_concurrency = std::max(1, options.max_concurrency);
  }

  void configure(Transfer& transfer) {
    const Request& request = *transfer.request;
    transfer.easy = detail::make_easy();
    CURL* easy = transfer.easy.get();
    transfer.error_buffer.fill('\0');
    transfer.response = Response{};
    transfer.body_too_large = false;
    transfer.max_body = options.max_body_bytes;

    RAPPORT_CURL_SET(easy, CURLOPT_PRIVATE, static_cast<void*>(&transfer));
    RAPPORT_CURL_SET(easy, CURLOPT_ERRORBUFFER, transfer.error_buffer.data());
    RAPPORT_CURL_SET(easy, CURLOPT_URL, request.url.c_str());
    RAPPORT_CURL_SET(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    RAPPORT_CURL_SET(easy, CURLOPT_NOSIGNAL, 1L);
    RAPPORT_CURL_SET(easy, CURLOPT_FOLLOWLOCATION, 0L);  // redirects would carry the Authorization header along
    RAPPORT_CURL_SET(easy, CURLOPT_CONNECTTIMEOUT_MS, millis(options.connect_timeout));
    RAPPORT_CURL_SET(easy, CURLOPT_TIMEOUT_MS, millis(request.total_timeout.value_or(options.total_timeout)));
    RAPPORT_CURL_SET(easy, CURLOPT_LOW_SPEED_LIMIT, options.low_speed_limit);
    RAPPORT_CURL_SET(easy, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.low_speed_time.count()));
    RAPPORT_CURL_SET(easy, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
    RAPPORT_CURL_SET(easy, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
    if (options.ca_bundle) RAPPORT_CURL_SET(easy, CURLOPT_CAINFO, options.ca_bundle->c_str());
    RAPPORT_CURL_SET(easy, CURLOPT_HTTP_VERSION,
                     options.http2 && http2_available() ? long{CURL_HTTP_VERSION_2TLS} : long{CURL_HTTP_VERSION_1_1});
    RAPPORT_CURL_SET(easy, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl can decode
    RAPPORT_CURL_SET(easy, CURLOPT_USERAGENT, options.user_agent.c_str());
    if (options.proxy) RAPPORT_CURL_SET(easy, CURLOPT_PROXY, options.proxy->c_str());
    if (options.no_proxy) RAPPORT_CURL_SET(easy, CURLOPT_NOPROXY, options.no_proxy->c_str());

    switch (request.method) {
      case Method::Get: RAPPORT_CURL_SET(easy, CURLOPT_HTTPGET, 1L); break;
      case Method::Head: RAPPORT_CURL_SET(easy, CURLOPT_NOBODY, 1L); break;
      case Method::Post:
      case Method::Put:
      case Method::Patch:
      case Method::Delete:
        if (request.method != Method::Delete || !request.body.empty()) {
          RAPPORT_CURL_SET(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
          RAPPORT_CURL_SET(easy, CURLOPT_POSTFIELDS, request.body.data());
        }
        if (request.method != Method::Post) {
          RAPPORT_CURL_SET(easy, CURLOPT_CUSTOMREQUEST, method_name(request.method).data());
        }
        break;
    }

    transfer.header_list = std::make_unique<HeaderList>();
    for (const Header& header : request.headers) {
      transfer.header_list->append(header.value.empty() ? header.name + ";" : header.name + ": " + header.value);
    }
    transfer.header_list->append("Expect:");  // no 100-continue round trip for larger bodies
    RAPPORT_CURL_SET(easy, CURLOPT_HTTPHEADER, transfer.header_list->get());

    RAPPORT_CURL_SET(easy, CURLOPT_WRITEFUNCTION, &write_body);
    RAPPORT_CURL_SET(easy, CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
    RAPPORT_CURL_SET(easy, CURLOPT_HEADERFUNCTION, &write_header);
    RAPPORT_CURL_SET(easy, CURLOPT_HEADERDATA, static_cast<void*>(&transfer));
  }

  void start(Transfer& transfer) {
    configure(transfer);
    transfer.started = Clock::now();
    transfer.attachment = std::make_unique<detail::MultiAttachment>(multi.get(), transfer.easy.get());
  }

  std::string curl_message(const Transfer& transfer, CURLcode code) const {
    std::string text = transfer.body_too_large
                           ? "response body larger than " + std::to_string(options.max_body_bytes) + " bytes"
                       : transfer.error_buffer[0] != '\0' ? std::string(transfer.error_buffer.data())
                                                          : std::string(curl_easy_strerror(code));
    std::string redacted = redact_url(transfer.request->url);
    for (std::size_t at = text.find(transfer.request->url); at != std::string::npos;
         at = text.find(transfer.request->url, at + redacted.size())) {
      text.replace(at, transfer.request->url.size(), redacted);
    }
    return text;
  }

  // Decides what follows a finished attempt: a result for the caller, or another attempt later.
  std::optional<Outcome> finish(Transfer& transfer, CURLcode code) {
    transfer.attachment.reset();
    ++transfer.attempts;
    Clock::time_point now = Clock::now();
    const Request& request = *transfer.request;

    AttemptResult result;
    result.failure = classify(code, transfer.easy.get());
    result.may_repeat = may_repeat(request);
    if (result.failure == TransportFailure::None) {
      curl_easy_getinfo(transfer.easy.get(), CURLINFO_RESPONSE_CODE, &transfer.response.status);
      result.status = transfer.response.status;
      result.body = transfer.response.body;
      result.retry_after = transfer.response.headers.get("Retry-After");
    }
    RetryDecision decision = decide_retry(result, transfer.attempts, options.retry, jitter(random),
                                          std::chrono::system_clock::now());

    if (options.on_attempt) {
      AttemptEvent event;
      event.method = request.method;
      event.redacted_url = redact_url(request.url);
      event.attempt = transfer.attempts;
      event.status = result.status;
      event.failure = result.failure;
      event.reason = decision.reason;
      event.will_retry = decision.retry;
      event.delay = decision.delay;
      event.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - transfer.started);
      options.on_attempt(event);
    }

    if (decision.retry) {
      transfer.not_before = now + decision.delay;
      return std::nullopt;
    }
    if (result.failure == TransportFailure::None) {
      transfer.response.attempts = transfer.attempts;
      return Outcome(std::move(transfer.response));
    }
    HttpErrorDetails details;
    details.method = request.method;
    details.redacted_url = redact_url(request.url);
    details.failure = result.failure;
    details.curl_error = curl_message(transfer, code);
    details.attempts = transfer.attempts;
    return Outcome(HttpError(std::move(details)));
  }

  std::vector<Outcome> run(std::span<const Request> requests) {
    std::vector<std::unique_ptr<Transfer>> transfers;
    std::deque<Transfer*> waiting;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto transfer = std::make_unique<Transfer>();
      transfer->request = &requests[i];
      transfer->index = i;
      transfer->not_before = Clock::now();
      waiting.push_back(transfer.get());
      transfers.push_back(std::move(transfer));
    }
    std::vector<std::optional<Outcome>> outcomes(requests.size());
    int running = 0;

    while (running > 0 || !waiting.empty()) {
      Clock::time_point now = Clock::now();
      Clock::time_point wake = now + std::chrono::seconds(1);
      for (auto it = waiting.begin(); it != waiting.end() && running < options.max_concurrency;) {
        Transfer* transfer = *it;
        if (transfer->not_before > now) {
          wake = std::min(wake, transfer->not_before);
          ++it;
          continue;
        }
        std::chrono::nanoseconds rate_wait = bucket->try_acquire(now);
        if (rate_wait.count() > 0) {
          wake = std::min(wake, now + std::chrono::duration_cast<Clock::duration>(rate_wait));
          break;
        }
        start(*transfer);
        ++running;
        it = waiting.erase(it);
      }

      int still_running = 0;
      detail::check_multi(curl_multi_perform(multi.get(), &still_running), "curl_multi_perform");
      bool finished_any = false;
      int queued = 0;
      while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
        if (message->msg != CURLMSG_DONE) continue;
        void* pointer = nullptr;
        curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &pointer);
        auto* transfer = static_cast<Transfer*>(pointer);
        CURLcode code = message->data.result;
        --running;
        finished_any = true;
        if (std::optional<Outcome> outcome = finish(*transfer, code)) {
          outcomes[transfer->index] = std::move(*outcome);
          transfer->easy.reset();
          transfer->header_list.reset();
        } else {
          waiting.push_back(transfer);
        }
      }
      if (finished_any) continue;

      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now());
      int timeout = static_cast<int>(std::clamp<long long>(wait.count(), 0, 1000));
      if (running == 0 && timeout == 0) continue;
      detail::check_multi(curl_multi_poll(multi.get(), nullptr, 0, std::max(timeout, 1), nullptr), "curl_multi_poll");
    }

    std::vector<Outcome> results;
    results.reserve(outcomes.size());
    for (std::optional<Outcome>& outcome : outcomes) results.push_back(std::move(*outcome));
    return results;
  }

  ClientOptions options;
  detail::MultiHandle multi;
  std::shared_ptr<TokenBucket> bucket;  // shared with the other workers of a source, or its own
  std::mt19937_64 random;
  std::uniform_real_distribution<double> jitter{0.0, 1.0};
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;

const ClientOptions& Client::options() const { return impl_->options; }

Response Client::send(const Request& request) {
  std::vector<Outcome> outcomes = impl_->run(std::span<const Request>(&request, 1));
  return outcomes.front().response();
}

Response Client::perform(const Request& request) {
  Response response = send(request);
  if (response.status >= 400) throw status_error(request, response);
  return response;
}

std::vector<Outcome> Client::send_all(std::span<const Request> requests) { return impl_->run(requests); }

}  // namespace rapport::http
