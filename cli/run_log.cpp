#include "cli/run_log.hpp"

#include <cstdio>
#include <ctime>
#include <iostream>

#include "engine/output.hpp"
#include "model/time.hpp"

namespace rapport::cli {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string fixed(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", seconds);
  return buffer;
}

std::string json_head(const char* event) {
  return "{\"time\": " + engine::json_string(model::format_timestamp(static_cast<double>(std::time(nullptr)))) +
         ", \"event\": " + engine::json_string(event);
}

}  // namespace

void RunLog::line(const std::string& text) { std::cerr << text << "\n" << std::flush; }

RunLog::Stage::Stage(RunLog& log, std::string name)
    : log_(log), name_(std::move(name)), started_(std::chrono::steady_clock::now()) {}

RunLog::Stage::~Stage() {
  if (!logged_) emit(false, "stopped");
}

RunLog::Stage& RunLog::Stage::count(const std::string& name, std::size_t value) {
  counts_.emplace_back(name, value);
  return *this;
}

void RunLog::Stage::done(const std::string& detail) { emit(true, detail); }
void RunLog::Stage::fail(const std::string& detail) { emit(false, detail); }

void RunLog::Stage::emit(bool ok, const std::string& detail) {
  if (logged_) return;
  logged_ = true;
  double seconds = seconds_since(started_);
  if (log_.json()) {
    if (log_.quiet_ && ok) return;
    std::string out = json_head("stage") + ", \"stage\": " + engine::json_string(name_) +
                      ", \"ok\": " + (ok ? "true" : "false") + ", \"seconds\": " + fixed(seconds);
    for (const auto& [name, value] : counts_) out += ", " + engine::json_string(name) + ": " + std::to_string(value);
    if (!detail.empty()) out += ", \"detail\": " + engine::json_string(detail);
    log_.line(out + "}");
    return;
  }
  if (log_.quiet_ && ok) return;
  std::string text;
  for (const auto& [name, value] : counts_) {
    std::string words = name;
    for (char& c : words) c = c == '_' ? ' ' : c;
    text += (text.empty() ? "" : ", ") + engine::with_thousands(value) + " " + words;
  }
  if (!detail.empty()) text += (text.empty() ? "" : " ") + detail;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%8.2f s", seconds);
  std::string head = name_ + (ok ? "" : " FAILED");
  head.resize(std::max<std::size_t>(head.size() + 1, 11), ' ');
  std::string body = head + text;
  if (body.size() < 60) body.resize(60, ' ');
  log_.line(body + " " + buffer);
}

void RunLog::start(const std::string& run_id, const std::string& config, const std::string& as_of) {
  if (quiet_) return;
  if (json()) {
    line(json_head("start") + ", \"run_id\": " + engine::json_string(run_id) + ", \"config\": " + engine::json_string(config) +
         ", \"as_of\": " + engine::json_string(as_of) + "}");
  } else {
    line("rapport run " + config + " (as of " + as_of + ")");
  }
}

void RunLog::diagnostic(const std::string& diagnostic_json) {
  // {"file": ...} becomes {"time": ..., "event": "diagnostic", "file": ...}
  line(json_head("diagnostic") + ", " + diagnostic_json.substr(1));
}

void RunLog::error(const std::string& message) {
  if (json()) line(json_head("error") + ", \"message\": " + engine::json_string(message) + "}");
  else line(message);
}

void RunLog::done(int exit_code, const std::string& summary) {
  double seconds = seconds_since(started_);
  if (json()) {
    line(json_head("done") + ", \"exit_code\": " + std::to_string(exit_code) + ", \"seconds\": " + fixed(seconds) +
         ", \"summary\": " + engine::json_string(summary) + "}");
  } else {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f", seconds);
    line("rapport run: " + summary + " (exit " + std::to_string(exit_code) + ", " + buffer + " s)");
  }
}

}  // namespace rapport::cli
