#pragma once
// The per-source request rate: a token bucket. Time is passed in, so tests drive it with a fake clock.

#include <chrono>
#include <mutex>

namespace rapport::http {

/// Allows `rate` requests a second on average and up to `burst` back to back.
/// Thread-safe: the Clients of one source's concurrent workers draw from one bucket
/// (ClientOptions::shared_rate_limit).
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  /// A rate of zero or less means unlimited. The bucket starts full.
  TokenBucket(double rate_per_second, double burst, Clock::time_point start);

  /// Takes a token if one is available at `now` and returns zero; otherwise takes nothing and
  /// returns how long until one will be.
  std::chrono::nanoseconds try_acquire(Clock::time_point now);

  [[nodiscard]] bool unlimited() const { return rate_ <= 0; }

 private:
  void refill(Clock::time_point now);

  std::mutex mutex_;
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace rapport::http
