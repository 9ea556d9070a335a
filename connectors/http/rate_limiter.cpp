#include "connectors/http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

#include "connectors/http/options.hpp"

namespace rapport::http {

TokenBucket::TokenBucket(double rate_per_second, double burst, Clock::time_point start)
    : rate_(rate_per_second), burst_(std::max(1.0, burst)), tokens_(burst_), last_(start) {}

void TokenBucket::refill(Clock::time_point now) {
  if (now <= last_) return;  // a clock that went backwards adds nothing
  std::chrono::duration<double> elapsed = now - last_;
  tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
  last_ = now;
}

std::chrono::nanoseconds TokenBucket::try_acquire(Clock::time_point now) {
  if (unlimited()) return std::chrono::nanoseconds(0);
  std::lock_guard lock(mutex_);
  refill(now);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return std::chrono::nanoseconds(0);
  }
  double seconds = (1.0 - tokens_) / rate_;
  return std::chrono::nanoseconds(std::max<long long>(1, static_cast<long long>(std::ceil(seconds * 1e9))));
}

void share_rate_limit(ClientOptions& options) {
  options.shared_rate_limit =
      std::make_shared<TokenBucket>(options.requests_per_second, options.rate_burst, TokenBucket::Clock::now());
}

}  // namespace rapport::http
