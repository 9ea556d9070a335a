#pragma once
// The server's counters for /metrics, in the Prometheus text exposition format 0.0.4: requests and
// latency histograms per endpoint and status, the snapshot's age and size, reloads, webhook events.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace rapport::serve {

class Metrics {
 public:
  /// Latency histogram bounds, in seconds.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    2.5};

  /// One answered request; `endpoint` is the route's path ("/v1/what-if"), or "other".
  void request(const std::string& endpoint, int status, double seconds);
  /// A reload attempt (file change, SIGHUP, schedule or start).
  void reload(bool ok);
  /// One webhook event: outcome is "accepted", "rejected" or "replayed".
  void webhook(const std::string& vendor, const std::string& outcome, std::uint64_t events = 1);
  /// Write-back of webhook changes: `result` is "planned" (dry-run), "written" or "failed".
  void writeback(const std::string& result, std::uint64_t changes);
  /// The snapshot now served.
  void snapshot(double loaded_at_unix, std::size_t records, std::size_t findings);

  /// Every metric with HELP and TYPE lines; `now_unix` dates the snapshot age.
  [[nodiscard]] std::string render(double now_unix) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> counts{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::uint64_t reloads_ok_ = 0;
  std::uint64_t reloads_failed_ = 0;
  std::map<std::pair<std::string, std::string>, std::uint64_t> webhooks_;
  std::map<std::string, std::uint64_t> writebacks_{{"failed", 0}, {"planned", 0}, {"written", 0}};
  double loaded_at_ = 0;
  std::size_t records_ = 0;
  std::size_t findings_ = 0;
};

}  // namespace rapport::serve
