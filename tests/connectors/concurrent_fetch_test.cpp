// `rapport fetch` with several vendor objects in flight: a loopback Salesforce org that answers
// by what a request asks (not by arrival order) shows the concurrency limit used and kept, one
// request rate across all workers, one token refresh when several requests are refused together,
// every record once despite faults, the first failure in entity order, and files byte-identical
// to a sequential fetch whatever order the queries finish in.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "connectors/source/fetch.hpp"
#include "connectors/source/source_config.hpp"
#include "diag/render.hpp"
#include "fetch_test_support.hpp"
#include "loopback_server.hpp"

namespace rapport {
namespace {

using namespace fetch_test;
using namespace std::chrono_literals;
using testing::LoopbackServer;
using testing::ReceivedRequest;
using testing::Reply;
using testing::respond;
using Clock = std::chrono::steady_clock;

/// The sObjects of the default mapping, in entity order (activities are Task and Event).
const std::vector<std::string> kTypes = {"User", "Account", "Contact", "Opportunity", "Task", "Event", "Case"};
const std::string kQueryPath = "/services/data/v59.0/query";

/// Members a record of each sObject needs to map (the rest is null).
const std::map<std::string, std::string> kMembers = {
    {"User", R"("IsActive":true)"},
    {"Account", R"("BillingCountry":"DE","CreatedDate":"2025-01-15T08:00:00.000-0100")"},
    {"Contact", R"("AccountId":"Account-1-0","LastActivityDate":"2026-02-10")"},
    {"Opportunity", R"("AccountId":"Account-1-0","StageName":"Closed Won","Amount":1200.5)"},
    {"Task", R"("AccountId":"Account-1-0","TaskSubtype":"Call","ActivityDate":"2026-02-10")"},
    {"Event", R"("AccountId":"Account-1-1","StartDateTime":"2026-03-01T09:30:00.000+0000","DurationInMinutes":60)"},
    {"Case", R"("AccountId":"Account-1-0","Priority":"High","CreatedDate":"2026-02-01T12:00:00.000+0000")"},
};

/// A Salesforce org: every sObject in `pages` pages of `per_page` records. Earlier sObjects
/// answer more slowly, so queries finish in about the reverse of entity order.
struct FakeOrg {
  int pages = 2;
  int per_page = 3;
  std::chrono::milliseconds delay{10ms};  // of the last sObject's pages; each earlier one waits one more
  std::string refused_token;              // answered 401 INVALID_SESSION_ID, after `delay`
  bool faults = false;                    // every third data request fails once (429, 503, reset, truncated)
  std::map<std::string, std::string> failures;  // sObject -> the 400 INVALID_FIELD message of its query

  std::atomic<int> token_requests{0};
  std::atomic<int> faults_injected{0};
  std::vector<Clock::time_point> arrivals;  // of every request (the server calls answer() one at a time)
  std::set<std::string> faulted;            // targets that already met their fault
  int data_requests = 0;

  Reply answer(const ReceivedRequest& request) {
    arrivals.push_back(Clock::now());
    if (request.method == "POST") {
      return respond(200, salesforce_token("token-" + std::to_string(++token_requests)));
    }
    ++data_requests;
    if (faults && data_requests % 3 == 0 && faulted.insert(request.target).second) {
      static const std::vector<Reply> kinds = {
          respond(429, R"([{"message":"Too many requests","errorCode":"REQUEST_LIMIT_EXCEEDED"}])", {{"Retry-After", "0"}}),
          respond(503, R"([{"message":"Server busy","errorCode":"SERVER_UNAVAILABLE"}])"), testing::reset_connection(),
          testing::raw_reply("HTTP/1.1 200 OK\r\nContent-Length: 400\r\nConnection: close\r\n\r\n{\"records\":[")};
      return kinds[faults_injected++ % kinds.size()];
    }
    auto [type, page] = parse(request.target);
    std::chrono::milliseconds wait = delay * static_cast<int>(kTypes.size() - index_of(type));
    if (!refused_token.empty() && request.header("Authorization") == "Bearer " + refused_token) {
      return testing::delayed(respond(401, R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])"), wait);
    }
    if (auto failure = failures.find(type); failure != failures.end()) {
      return testing::delayed(respond(400, R"([{"message":")" + failure->second + R"(","errorCode":"INVALID_FIELD"}])"), wait);
    }
    std::string next = page < pages ? kQueryPath + "/" + type + "-" + std::to_string(page + 1) : "";
    return testing::delayed(respond(200, salesforce_page(type, records(type, page), next)), wait);
  }

  std::vector<std::string> records(const std::string& type, int page) const {
    std::vector<std::string> out;
    for (int i = 0; i < per_page; ++i) {
      std::string id = type + "-" + std::to_string(page) + "-" + std::to_string(i);
      out.push_back(R"({"Id":")" + id + R"(","Name":"Name of )" + id + R"(","Subject":"About )" + id + "\"," +
                    kMembers.at(type) + "}");
    }
    return out;
  }

  static std::size_t index_of(const std::string& type) {
    return static_cast<std::size_t>(std::find(kTypes.begin(), kTypes.end(), type) - kTypes.begin());
  }

  /// The sObject and page a request asks for: `query?q=SELECT ... FROM Type` is page 1,
  /// `query/Type-N` page N.
  static std::pair<std::string, int> parse(const std::string& target) {
    std::size_t from = target.find("%20FROM%20");
    if (from != std::string::npos) {
      std::string rest = target.substr(from + 10);
      return {rest.substr(0, rest.find('%')), 1};
    }
    std::string tail = target.substr(target.rfind('/') + 1);
    std::size_t dash = tail.rfind('-');
    return {tail.substr(0, dash), std::stoi(tail.substr(dash + 1))};
  }
};

/// Serves `org` on the loopback server.
LoopbackServer serve(FakeOrg& org) {
  return LoopbackServer([&org](const ReceivedRequest& request) { return org.answer(request); });
}

/// Fetches every entity from `server` into `dir/out` with `concurrency` objects at a time.
source::FetchReport fetch_all(const fs::path& dir, const LoopbackServer& server, int concurrency,
                              http::ClientOptions client = fast_options()) {
  ::setenv("RAPPORT_CF_ID", "client-id-1", 1);
  ::setenv("RAPPORT_CF_SECRET", "client-secret-1", 1);
  fs::create_directories(dir);
  write(dir / "source.yaml", "kind: salesforce\ninstance: " + server.url("") +
                                 "\nauth: { client_id: env:RAPPORT_CF_ID, client_secret: env:RAPPORT_CF_SECRET }\n"
                                 "objects: [users, accounts, contacts, opportunities, activities, cases]\n"
                                 "concurrency: " + std::to_string(concurrency) + "\n");
  source::FetchOptions options;
  options.source_path = (dir / "source.yaml").string();
  options.out_dir = (dir / "out").string();
  options.client = std::move(client);
  return source::fetch(options);
}

/// Every file of a fetched folder: name -> content.
std::map<std::string, std::string> files_of(const fs::path& out) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::directory_iterator(out)) files[entry.path().filename().string()] = read(entry.path());
  return files;
}

/// The ids of a JSONL file, in order.
std::vector<std::string> ids_of(const std::string& jsonl) {
  std::vector<std::string> ids;
  for (std::size_t at = jsonl.find(R"({"id":")"); at != std::string::npos; at = jsonl.find(R"({"id":")", at + 1)) {
    std::size_t start = at + 7;
    ids.push_back(jsonl.substr(start, jsonl.find('"', start) - start));
  }
  return ids;
}

/// The ids a FakeOrg gives for `types`, in vendor order.
std::vector<std::string> expected_ids(const FakeOrg& org, const std::vector<std::string>& types) {
  std::vector<std::string> ids;
  for (const std::string& type : types) {
    for (int page = 1; page <= org.pages; ++page) {
      for (int i = 0; i < org.per_page; ++i) ids.push_back(type + "-" + std::to_string(page) + "-" + std::to_string(i));
    }
  }
  return ids;
}

TEST(ConcurrentFetchTest, ObjectsAreFetchedConcurrentlyAndNeverAboveTheLimit) {
  for (int limit : {1, 2, 4}) {
    FakeOrg org;
    org.delay = 15ms;
    LoopbackServer server = serve(org);
    fs::path dir = temp_dir("limit");
    source::FetchReport report = fetch_all(dir, server, limit);
    ASSERT_EQ(report.exit_code, source::kFetchOk) << report.error << diag::render_text(report.sink.sorted());
    if (limit > 1) {
      EXPECT_GT(server.max_in_flight(), 1) << limit;
    }
    EXPECT_LE(server.max_in_flight(), limit);
    EXPECT_EQ(server.requests().size(), 1u + kTypes.size() * 2);  // one token, two pages an sObject
    fs::remove_all(dir);
  }
}

TEST(ConcurrentFetchTest, FilesAreByteIdenticalToASequentialFetch) {
  std::map<std::string, std::string> sequential;
  std::vector<std::pair<std::string, std::size_t>> sequential_written;
  for (int limit : {1, 4, 16}) {
    FakeOrg org;
    org.pages = 3;
    LoopbackServer server = serve(org);
    fs::path dir = temp_dir("identical");
    source::FetchReport report = fetch_all(dir, server, limit);
    ASSERT_EQ(report.exit_code, source::kFetchOk) << report.error;
    std::map<std::string, std::string> files = files_of(dir / "out");
    if (limit == 1) {
      sequential = files;
      sequential_written = report.written;
      ASSERT_EQ(files.size(), 6u);
      EXPECT_EQ(ids_of(files["accounts.jsonl"]), expected_ids(org, {"Account"}));
      EXPECT_EQ(ids_of(files["activities.jsonl"]), expected_ids(org, {"Task", "Event"}));  // Tasks, then Events
    } else {
      EXPECT_EQ(files, sequential) << limit;
      EXPECT_EQ(report.written, sequential_written) << limit;
    }
    fs::remove_all(dir);
  }
  const std::string& opportunities = sequential["opportunities.jsonl"];
  EXPECT_EQ(opportunities.substr(0, opportunities.find('\n')),
            R"({"id":"Opportunity-1-0","name":"Name of Opportunity-1-0","account_id":"Account-1-0","owner_id":null,)"
            R"("stage":"closed_won","amount":1.2005E3,"close_date":null,"created_at":null})");
}

TEST(ConcurrentFetchTest, TheRequestRateHoldsAcrossWorkers) {
  FakeOrg org;
  org.delay = 0ms;
  LoopbackServer server = serve(org);
  fs::path dir = temp_dir("rate");
  http::ClientOptions client = fast_options();
  client.requests_per_second = 25;
  client.rate_burst = 1;
  source::FetchReport report = fetch_all(dir, server, 4, client);
  ASSERT_EQ(report.exit_code, source::kFetchOk) << report.error;
  ASSERT_EQ(org.arrivals.size(), 15u);  // the token and 14 pages
  // 25 a second with a burst of one: the n-th request is sent at least n x 40 ms after the
  // first, whichever worker sends it. Four buckets of their own would allow four requests at
  // once (about 40 ms for any five in a row, some 140 ms for all fifteen, where this asks 530).
  // The server takes the arrival times, and a request that arrives late only lengthens the
  // time since the first: only the first one's lateness counts against the bound (30 ms allowed).
  // (A window between two arrivals was shortened by any late request in it: a loaded CI host
  // delayed some by 30-60 ms.)
  for (std::size_t i = 1; i < org.arrivals.size(); ++i) {
    EXPECT_GE(org.arrivals[i] - org.arrivals.front(), static_cast<int>(i) * 40ms - 30ms) << i;
  }
  fs::remove_all(dir);
}

TEST(ConcurrentFetchTest, ATokenRefusedToSeveralRequestsAtOnceIsRefreshedOnce) {
  FakeOrg org;
  org.delay = 20ms;  // the first pages are refused after 60 to 140 ms: all four are in flight together
  org.refused_token = "token-1";
  LoopbackServer server = serve(org);
  fs::path dir = temp_dir("refresh");
  source::FetchReport report = fetch_all(dir, server, 4);
  ASSERT_EQ(report.exit_code, source::kFetchOk) << report.error;
  EXPECT_EQ(org.token_requests.load(), 2);

  int refused = 0;
  for (const ReceivedRequest& request : server.requests()) {
    if (request.method == "POST") continue;
    if (request.header("Authorization") == "Bearer token-1") {
      ++refused;
    } else {
      EXPECT_EQ(request.header("Authorization"), "Bearer token-2") << request.target;
    }
  }
  EXPECT_EQ(refused, 4);  // the first request of each worker
  EXPECT_EQ(ids_of(read(dir / "out" / "cases.jsonl")), expected_ids(org, {"Case"}));
  fs::remove_all(dir);
}

TEST(ConcurrentFetchTest, FaultsUnderConcurrencyStillYieldEveryRecordOnce) {
  FakeOrg clean;
  clean.pages = 3;
  LoopbackServer clean_server = serve(clean);
  fs::path clean_dir = temp_dir("clean");
  ASSERT_EQ(fetch_all(clean_dir, clean_server, 1).exit_code, source::kFetchOk);

  FakeOrg faulty;
  faulty.pages = 3;
  faulty.faults = true;
  LoopbackServer server = serve(faulty);
  fs::path dir = temp_dir("faults");
  source::FetchReport report = fetch_all(dir, server, 4);
  ASSERT_EQ(report.exit_code, source::kFetchOk) << report.error;
  EXPECT_GE(faulty.faults_injected.load(), 6);
  EXPECT_EQ(server.requests().size(), 1u + kTypes.size() * 3 + static_cast<std::size_t>(faulty.faults_injected.load()));
  EXPECT_EQ(files_of(dir / "out"), files_of(clean_dir / "out"));
  EXPECT_EQ(ids_of(read(dir / "out" / "activities.jsonl")), expected_ids(faulty, {"Task", "Event"}));
  fs::remove_all(dir);
  fs::remove_all(clean_dir);
}

TEST(ConcurrentFetchTest, TheFirstFailureInEntityOrderIsReportedAndNothingIsWritten) {
  for (int limit : {1, 4}) {
    FakeOrg org;
    org.delay = 30ms;  // the Account query fails after 180 ms, the Case query after 30 ms
    org.failures = {{"Account", "No such column 'Tier__c' on entity 'Account'"},
                    {"Case", "No such column 'Severity__c' on entity 'Case'"}};
    LoopbackServer server = serve(org);
    fs::path dir = temp_dir("failure");
    source::FetchReport report = fetch_all(dir, server, limit);
    EXPECT_EQ(report.exit_code, source::kFetchSource);
    EXPECT_NE(report.error.find("HTTP 400 INVALID_FIELD: No such column 'Tier__c' on entity 'Account'"), std::string::npos)
        << limit << ": " << report.error;
    EXPECT_TRUE(fs::is_empty(dir / "out")) << limit;
    fs::remove_all(dir);
  }
}

TEST(ConcurrentFetchTest, ConcurrencyInTheSourceFileIsValidatedWithPositions) {
  fs::path dir = temp_dir("config");
  const std::string path = (dir / "source.yaml").string();
  write(dir / "source.yaml",
        "kind: hubspot\n"
        "auth: { token: env:HS_TOKEN }\n"
        "objects: [users]\n"
        "concurrency: 0\n");
  diag::DiagnosticSink sink;
  EXPECT_FALSE(source::load_source(path, sink));
  EXPECT_EQ(diag::render_text(sink.sorted()),
            path + ":4:14: error[PAR5003]: `concurrency` must be a whole number from 1 to 16\n"
            " 4 | concurrency: 0\n"
            "   |              ^\n"
            "1 error, 0 warnings\n");

  write(dir / "source.yaml", "kind: files\npath: data\nobjects: [accounts]\nconcurrency: 2\n");
  diag::DiagnosticSink files_sink;
  EXPECT_FALSE(source::load_source(path, files_sink));
  EXPECT_NE(diag::render_text(files_sink.sorted()).find(":4:14: error[PAR5007]: `concurrency` does not apply to `kind: files`"),
            std::string::npos)
      << diag::render_text(files_sink.sorted());

  write(dir / "source.yaml", "kind: hubspot\nauth: { token: env:HS_TOKEN }\nobjects: [users]\n");
  diag::DiagnosticSink default_sink;
  auto config = source::load_source(path, default_sink);
  ASSERT_TRUE(config) << diag::render_text(default_sink.sorted());
  EXPECT_EQ(config->concurrency, 4);
  write(dir / "source.yaml", "kind: hubspot\nauth: { token: env:HS_TOKEN }\nobjects: [users]\nconcurrency: 16\n");
  config = source::load_source(path, default_sink);
  ASSERT_TRUE(config) << diag::render_text(default_sink.sorted());
  EXPECT_EQ(config->concurrency, 16);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rapport
