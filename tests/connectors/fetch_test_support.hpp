#pragma once
// What the fetch tests share: scratch folders, files read and written whole, transport settings
// with a short backoff, the check of a fetched folder against the expected canonical files, a
// rule that reads fetched data, and a loopback Salesforce org's answers.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "connectors/http/options.hpp"

namespace rapport::fetch_test {

namespace fs = std::filesystem;

/// An empty folder of its own under the system's temporary folder.
inline fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("rapport_fetch_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

inline std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Two retries, a 5 to 10 ms backoff and no proxy: faults cost milliseconds, not seconds.
inline http::ClientOptions fast_options() {
  using namespace std::chrono_literals;
  http::ClientOptions options;
  options.retry.max_retries = 2;
  options.retry.backoff_base = 5ms;
  options.retry.backoff_cap = 10ms;
  options.jitter_seed = 7;
  options.no_proxy = "*";
  return options;
}

/// `out` holds exactly the `expected` files (entity -> content), and no temporary file is left.
inline void expect_files(const fs::path& out, const std::map<std::string, std::string>& expected) {
  for (const auto& [entity, content] : expected) EXPECT_EQ(read(out / (entity + ".jsonl")), content) << entity;
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(out)) {
    ++files;
    EXPECT_EQ(entry.path().extension(), ".jsonl") << entry.path();
  }
  EXPECT_EQ(files, expected.size());
}

/// A rule over fetched data: key accounts with deals in negotiation and fewer than two activities.
inline constexpr const char* kCoverageRules = R"(pack fetchcheck
  version "0.1.0"
  title   "Fetched data"

rule thin_coverage_of_open_deals
  title     "Key accounts with deals in negotiation are visited"
  rationale "test"
  severity  medium
  for each account in accounts where account.tier in ["strategic", "key"]
  let deals = opportunities where account_id = account.id and stage = "negotiation"
  let acts  = activities where account_id = account.id
  when count(deals) > 0 and count(acts) < 2
  message "{account.name}: {count(deals)} deal(s) in negotiation, {count(acts)} activities"
end
)";

/// Salesforce's answer to a token request.
/// `rapport check RULES DATA_ARGS --as-of 2026-03-15 --format json`: its exit status and report.
inline std::pair<int, std::string> check_json(const fs::path& rules, const std::string& data_args, const fs::path& dir) {
  const fs::path out = dir / "check-stdout.json", err = dir / "check-stderr.txt";
  std::string command = "no_proxy='*' NO_PROXY='*' " + std::string(RAPPORT_BINARY) + " check " + rules.string() + " " +
                        data_args + " --as-of 2026-03-15 --format json -q >" + out.string() + " 2>" + err.string();
  int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read(out) + read(err)};
}

inline std::string salesforce_token(const std::string& value) {
  return R"({"access_token":")" + value +
         R"(","instance_url":"https://example.my.salesforce.com","id":"x","token_type":"Bearer","issued_at":"1","signature":"s"})";
}

/// A page of Salesforce's query resource: `records` (JSON objects) of sObject `type`, each given
/// its `attributes`, and the next page's path when there is one.
inline std::string salesforce_page(const std::string& type, const std::vector<std::string>& records,
                                   const std::string& next = "") {
  std::string body = R"({"totalSize":)" + std::to_string(records.size()) + R"(,"done":)" + (next.empty() ? "true" : "false");
  if (!next.empty()) body += R"(,"nextRecordsUrl":")" + next + "\"";
  body += R"(,"records":[)";
  for (std::size_t i = 0; i < records.size(); ++i) {
    body += (i ? "," : "") + (R"({"attributes":{"type":")" + type + R"(","url":"/services/data/v59.0/sobjects/)" + type +
                              R"(/x"},)" + records[i].substr(1));
  }
  return body + "]}";
}

}  // namespace rapport::fetch_test
