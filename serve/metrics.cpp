#include "serve/metrics.hpp"

#include <fmt/format.h>

namespace rapport::serve {

namespace {

/// A label value with backslash, double quote and line feed escaped, as the format requires.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

/// A sample value: integers without a fraction, others in shortest round-trip form.
std::string value(double v) { return fmt::format("{}", v); }

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

void Metrics::request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{endpoint, status}];
  Histogram& h = latency_[endpoint];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.counts[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::reload(bool ok) {
  std::lock_guard lock(mutex_);
  ++(ok ? reloads_ok_ : reloads_failed_);
}

void Metrics::webhook(const std::string& vendor, const std::string& outcome, std::uint64_t events) {
  std::lock_guard lock(mutex_);
  webhooks_[{vendor, outcome}] += events;
}

void Metrics::writeback(const std::string& result, std::uint64_t changes) {
  std::lock_guard lock(mutex_);
  writebacks_[result] += changes;
}

void Metrics::snapshot(double loaded_at_unix, std::size_t records, std::size_t findings) {
  std::lock_guard lock(mutex_);
  loaded_at_ = loaded_at_unix;
  records_ = records;
  findings_ = findings;
}

std::string Metrics::render(double now_unix) const {
  std::lock_guard lock(mutex_);
  std::string out;
  header(out, "rapport_http_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
  for (const auto& [key, count] : requests_) {
    out += fmt::format("rapport_http_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", label(key.first), key.second, count);
  }
  header(out, "rapport_http_request_duration_seconds", "histogram", "Time from a request's last byte read to its answer.");
  for (const auto& [endpoint, h] : latency_) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      out += fmt::format("rapport_http_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"{}\"}} {}\n", label(endpoint),
                         value(kBuckets[i]), h.counts[i]);
    }
    out += fmt::format("rapport_http_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"+Inf\"}} {}\n", label(endpoint), h.count);
    out += fmt::format("rapport_http_request_duration_seconds_sum{{endpoint=\"{}\"}} {}\n", label(endpoint), value(h.sum));
    out += fmt::format("rapport_http_request_duration_seconds_count{{endpoint=\"{}\"}} {}\n", label(endpoint), h.count);
  }
  header(out, "rapport_snapshot_age_seconds", "gauge", "Seconds since the served snapshot was loaded.");
  out += fmt::format("rapport_snapshot_age_seconds {}\n", value(loaded_at_ > 0 ? now_unix - loaded_at_ : 0));
  header(out, "rapport_snapshot_records", "gauge", "Records in the served snapshot.");
  out += fmt::format("rapport_snapshot_records {}\n", records_);
  header(out, "rapport_snapshot_findings", "gauge", "Open findings in the served snapshot.");
  out += fmt::format("rapport_snapshot_findings {}\n", findings_);
  header(out, "rapport_reloads_total", "counter", "Reloads of packs, parameters and data, by result.");
  out += fmt::format("rapport_reloads_total{{result=\"ok\"}} {}\n", reloads_ok_);
  out += fmt::format("rapport_reloads_total{{result=\"failed\"}} {}\n", reloads_failed_);
  header(out, "rapport_webhook_events_total", "counter", "CRM change notifications, by vendor and outcome.");
  for (const auto& [key, count] : webhooks_) {
    out += fmt::format("rapport_webhook_events_total{{vendor=\"{}\",outcome=\"{}\"}} {}\n", label(key.first), label(key.second), count);
  }
  header(out, "rapport_serve_writeback_total", "counter", "Changes webhook write-back planned (dry-run), wrote or failed to write.");
  for (const auto& [result, count] : writebacks_) {
    out += fmt::format("rapport_serve_writeback_total{{result=\"{}\"}} {}\n", label(result), count);
  }
  return out;
}

}  // namespace rapport::serve
