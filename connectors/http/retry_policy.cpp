#include "connectors/http/retry_policy.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <ctime>

#include "connectors/http/vendor_error.hpp"

namespace rapport::http {
namespace {

bool is_request_limit_exceeded(const AttemptResult& result) {
  return result.status == 403 && result.body.find("REQUEST_LIMIT_EXCEEDED") != std::string_view::npos &&
         parse_vendor_error(result.body).code == "REQUEST_LIMIT_EXCEEDED";
}

std::string reason_for(const AttemptResult& result) {
  if (result.failure != TransportFailure::None) return std::string(failure_name(result.failure));
  if (is_request_limit_exceeded(result)) return "HTTP 403 REQUEST_LIMIT_EXCEEDED";
  return "HTTP " + std::to_string(result.status);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7 IMF-fixdate).
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
  static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (text.size() != 29 || text[3] != ',' || text.substr(25) != " GMT") return std::nullopt;
  auto number = [&](std::size_t at, std::size_t length) -> std::optional<int> {
    int value = 0;
    auto [end, error] = std::from_chars(text.data() + at, text.data() + at + length, value);
    if (error != std::errc{} || end != text.data() + at + length) return std::nullopt;
    return value;
  };
  auto day = number(5, 2), year = number(12, 4), hour = number(17, 2), minute = number(20, 2),
       second = number(23, 2);
  auto month = std::find(months.begin(), months.end(), text.substr(8, 3));
  if (!day || !year || !hour || !minute || !second || month == months.end()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = static_cast<int>(month - months.begin());
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  std::time_t seconds = timegm(&tm);
  if (seconds == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds);
}

}  // namespace

std::string_view failure_name(TransportFailure failure) {
  switch (failure) {
    case TransportFailure::None: return "no failure";
    case TransportFailure::NotSent: return "connection failed";
    case TransportFailure::Timeout: return "timed out";
    case TransportFailure::ConnectionLost: return "connection lost";
    case TransportFailure::Tls: return "TLS failure";
    case TransportFailure::Other: return "transfer failed";
  }
  return "transfer failed";
}

bool is_retryable(const AttemptResult& result) {
  switch (result.failure) {
    case TransportFailure::NotSent: return true;
    case TransportFailure::Timeout:
    case TransportFailure::ConnectionLost: return result.may_repeat;
    case TransportFailure::Tls:
    case TransportFailure::Other: return false;
    case TransportFailure::None: break;
  }
  if (!result.may_repeat) return false;
  switch (result.status) {
    case 429:
    case 500:
    case 502:
    case 503:
    case 504: return true;
    default: return is_request_limit_exceeded(result);
  }
}

std::chrono::milliseconds backoff_delay(int retry_index, const RetryPolicy& policy, double jitter_fraction) {
  double ceiling = static_cast<double>(policy.backoff_base.count()) * std::pow(2.0, std::clamp(retry_index, 0, 62));
  ceiling = std::min(ceiling, static_cast<double>(policy.backoff_cap.count()));
  double fraction = std::clamp(jitter_fraction, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(std::floor(ceiling * fraction)));
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    long long seconds = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (error == std::errc::result_out_of_range) return std::chrono::milliseconds::max();
    if (error != std::errc{} || end != value.data() + value.size()) return std::nullopt;
    if (seconds > 365LL * 24 * 3600) return std::chrono::milliseconds::max();
    return std::chrono::milliseconds(seconds * 1000);
  }
  auto date = parse_http_date(value);
  if (!date) return std::nullopt;
  if (*date <= now) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(*date - now);
}

RetryDecision decide_retry(const AttemptResult& result, int attempts_made, const RetryPolicy& policy,
                           double jitter_fraction, std::chrono::system_clock::time_point now) {
  RetryDecision decision;
  decision.reason = reason_for(result);
  if (!is_retryable(result) || attempts_made > policy.max_retries) return decision;
  decision.retry = true;
  std::optional<std::chrono::milliseconds> server_wait;
  if (result.failure == TransportFailure::None && result.retry_after) {
    server_wait = parse_retry_after(*result.retry_after, now);
  }
  decision.delay = server_wait ? std::min(*server_wait, policy.max_retry_after)
                               : backoff_delay(attempts_made - 1, policy, jitter_fraction);
  return decision;
}

}  // namespace rapport::http
