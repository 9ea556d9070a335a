#pragma once
// What the write-back tests share: a CRM kept in memory behind a loopback server (Salesforce,
// HubSpot or Dynamics 365 flavoured: it reads records, applies PATCHes, upserts tasks by key and
// can fail on purpose, including a connection reset after it applied a write), plan and findings
// reports, source files and apply() with a short backoff.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "connectors/writeback/apply.hpp"
#include "fetch_test_support.hpp"
#include "loopback_server.hpp"

namespace rapport::writeback_test {

namespace json = boost::json;
namespace fs = std::filesystem;
using fetch_test::fast_options;
using fetch_test::read;
using fetch_test::temp_dir;
using fetch_test::write;
using testing::ReceivedRequest;
using testing::Reply;
using testing::respond;

enum class Vendor { Salesforce, Hubspot, Dynamics };

// Credentials the tests hand over; none may ever appear in output or the journal.
inline constexpr const char* kClientId = "client-id-1234";
inline constexpr const char* kClientSecret = "s3cr3t-CLIENT-value-9876";
inline constexpr const char* kAccessToken = "tok-ACCESS-5555-secret";

inline void set_credentials() {
  ::setenv("RAPPORT_WB_ID", kClientId, 1);
  ::setenv("RAPPORT_WB_SECRET", kClientSecret, 1);
  ::setenv("RAPPORT_WB_TOKEN", kAccessToken, 1);
}

inline json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

/// A CRM in memory. Records are kept as the vendor reads them (vendor field -> JSON value).
class FakeCrm {
 public:
  explicit FakeCrm(Vendor vendor) : vendor_(vendor), server_([this](const ReceivedRequest& r) { return handle(r); }) {}

  [[nodiscard]] std::string url(const std::string& path = "") const { return server_.url(path); }
  [[nodiscard]] std::vector<ReceivedRequest> requests() const { return server_.requests(); }

  /// Requests that change something (everything but GETs and token requests).
  [[nodiscard]] std::vector<ReceivedRequest> writes() const {
    std::vector<ReceivedRequest> out;
    for (const auto& r : server_.requests()) {
      if (r.method != "GET" && r.target.find("token") == std::string::npos) out.push_back(r);
    }
    return out;
  }

  void put(const std::string& object, const std::string& id, json::object fields) {
    std::lock_guard lock(mutex_);
    records_[object + "/" + id] = std::move(fields);
  }
  [[nodiscard]] json::value field(const std::string& object, const std::string& id, const std::string& name) {
    std::lock_guard lock(mutex_);
    const json::value* v = records_[object + "/" + id].if_contains(name);
    return v ? *v : json::value(nullptr);
  }
  /// How many times a write changed this field's value.
  [[nodiscard]] int changes(const std::string& object, const std::string& id, const std::string& name) {
    std::lock_guard lock(mutex_);
    return changes_[object + "/" + id + "/" + name];
  }
  /// Tasks created, by key, and how many times each was created.
  [[nodiscard]] std::map<std::string, int> tasks_created() {
    std::lock_guard lock(mutex_);
    return created_;
  }
  [[nodiscard]] json::object task(const std::string& key) {
    std::lock_guard lock(mutex_);
    return tasks_[key];
  }
  /// Record ids whose updates are refused with a 400.
  void refuse(const std::string& id, bool on = true) {
    std::lock_guard lock(mutex_);
    if (on) refused_.insert(id);
    else refused_.erase(id);
  }
  /// A share of the requests (token requests excepted) fails: 503, a reset before the server acts,
  /// or a reset after it applied a write.
  void inject_faults(double share) {
    std::lock_guard lock(mutex_);
    fault_share_ = share;
  }
  [[nodiscard]] int faults() {
    std::lock_guard lock(mutex_);
    return faults_;
  }

 private:
  enum class Fault { None, Unavailable, ResetBefore, ResetAfter };

  Reply handle(const ReceivedRequest& r) {
    std::lock_guard lock(mutex_);
    if (r.target.find("token") != std::string::npos) return token();
    Fault fault = Fault::None;
    if (fault_share_ > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < fault_share_) {
      ++faults_;
      fault = static_cast<Fault>(1 + std::uniform_int_distribution<int>(0, 2)(rng_));
    }
    if (fault == Fault::Unavailable) return respond(503, "busy");
    if (fault == Fault::ResetBefore) return testing::reset_connection();
    Reply reply = vendor_ == Vendor::Salesforce ? salesforce(r) : vendor_ == Vendor::Hubspot ? hubspot(r) : dynamics(r);
    return fault == Fault::ResetAfter ? testing::reset_connection() : reply;
  }

  Reply token() {
    if (vendor_ == Vendor::Dynamics) {
      return respond(200, std::string(R"({"token_type":"Bearer","expires_in":3599,"access_token":")") + kAccessToken + "\"}");
    }
    return respond(200, std::string(R"({"access_token":")") + kAccessToken +
                            R"(","instance_url":"https://example.my.salesforce.com","token_type":"Bearer"})");
  }

  static Reply json_reply(int status, const json::value& body) {
    return respond(status, json::serialize(body), {{"Content-Type", "application/json"}});
  }

  /// Sets fields of a stored record, counting real changes.
  void update(const std::string& key, const json::object& values) {
    json::object& record = records_[key];
    for (const auto& [name, value] : values) {
      const json::value* old = record.if_contains(name);
      if (!old || *old != value) ++changes_[key + "/" + std::string(name)];
      record[name] = value;
    }
  }

  std::string create_task(const std::string& key, json::object body) {
    std::string id = "T" + std::to_string(100 + tasks_.size());
    body["id"] = id;
    tasks_[key] = std::move(body);
    ++created_[key];
    return id;
  }

  // Salesforce: /services/data/v59.0/sobjects/{Object}/{id} and /sobjects/Task/{field}/{key}.
  Reply salesforce(const ReceivedRequest& r) {
    const std::string prefix = "/services/data/v59.0/sobjects/";
    std::string path = r.target.substr(0, r.target.find('?'));
    if (!path.starts_with(prefix)) return respond(404, R"([{"errorCode":"NOT_FOUND","message":"no such resource"}])");
    std::vector<std::string> parts;
    for (std::size_t start = prefix.size(); start <= path.size();) {
      std::size_t slash = path.find('/', start);
      parts.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    if (parts.size() == 3 && parts[0] == "Task") {
      const std::string& key = parts[2];
      if (r.method == "GET") {
        if (!tasks_.count(key)) return respond(404, R"([{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}])");
        return json_reply(200, json::object{{"Id", tasks_[key].at("id")}});
      }
      json::object body = parse_object(r.body);
      if (tasks_.count(key)) {
        for (const auto& [k, v] : body) tasks_[key][k] = v;
        return json_reply(200, json::object{{"id", tasks_[key].at("id")}, {"success", true}, {"created", false}});
      }
      std::string id = create_task(key, std::move(body));
      return json_reply(201, json::object{{"id", id}, {"success", true}, {"errors", json::array{}}, {"created", true}});
    }
    if (parts.size() != 2) return respond(404, R"([{"errorCode":"NOT_FOUND","message":"no such resource"}])");
    const std::string key = parts[0] + "/" + parts[1];
    if (!records_.count(key)) return respond(404, R"([{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}])");
    if (r.method == "GET") {
      json::object out{{"attributes", json::object{{"type", parts[0]}}}};
      for (const auto& [k, v] : records_[key]) out[k] = v;
      return json_reply(200, out);
    }
    if (refused_.count(parts[1])) {
      return respond(400, R"([{"message":"Owner ID: owner cannot be inactive user","errorCode":"FIELD_INTEGRITY_EXCEPTION","fields":["OwnerId"]}])");
    }
    update(key, parse_object(r.body));
    return respond(204);
  }

  // HubSpot: /crm/v3/objects/{type}/{id}, tasks by idProperty, batch upsert, v4 default associations.
  Reply hubspot(const ReceivedRequest& r) {
    std::string path = r.target.substr(0, r.target.find('?'));
    std::string query = r.target.find('?') == std::string::npos ? "" : r.target.substr(r.target.find('?') + 1);
    if (r.method == "POST" && path == "/crm/v3/objects/tasks/batch/upsert") {
      json::object body = parse_object(r.body);
      json::array results;
      for (auto& input : body["inputs"].as_array()) {
        json::object& in = input.as_object();
        std::string key(in["id"].as_string());
        bool is_new = !tasks_.count(key);
        std::string id = is_new ? create_task(key, in["properties"].as_object()) : std::string(tasks_[key]["id"].as_string());
        results.push_back(json::object{{"id", id}, {"new", is_new}, {"properties", json::object{}}});
      }
      return json_reply(200, json::object{{"status", "COMPLETE"}, {"results", results}});
    }
    const std::string v4 = "/crm/v4/objects/tasks/";
    if (r.method == "PUT" && path.starts_with(v4)) {
      // /crm/v4/objects/tasks/{task}/associations/default/{type}/{id}
      std::string rest = path.substr(v4.size());
      std::string task_id = rest.substr(0, rest.find('/'));
      std::string to_id = rest.substr(rest.rfind('/') + 1);
      for (auto& [key, task] : tasks_) {
        if (task["id"] == json::value(task_id)) associations_[key].insert(to_id);
      }
      return json_reply(200, json::object{{"status", "COMPLETE"}});
    }
    const std::string v3 = "/crm/v3/objects/";
    if (!path.starts_with(v3)) return respond(404, R"({"status":"error","message":"not found","category":"OBJECT_NOT_FOUND"})");
    std::string type = path.substr(v3.size(), path.find('/', v3.size()) - v3.size());
    std::string id = path.substr(path.rfind('/') + 1);
    if (type == "tasks" && query.find("idProperty=") != std::string::npos) {
      if (!tasks_.count(id)) return respond(404, R"({"status":"error","message":"Object not found","category":"OBJECT_NOT_FOUND"})");
      json::array links;
      for (const auto& to : associations_[id]) links.push_back(json::object{{"id", to}, {"type", "task_to_company"}});
      return json_reply(200, json::object{{"id", tasks_[id]["id"]},
                                          {"properties", json::object{{"rapport_key", id}}},
                                          {"associations", json::object{{"companies", json::object{{"results", links}}}}}});
    }
    const std::string key = type + "/" + id;
    if (!records_.count(key)) return respond(404, R"({"status":"error","message":"Object not found","category":"OBJECT_NOT_FOUND"})");
    if (r.method == "GET") return json_reply(200, json::object{{"id", id}, {"properties", records_[key]}});
    if (refused_.count(id)) {
      return respond(400, R"({"status":"error","message":"Property values were not valid","correlationId":"c0ffee","category":"VALIDATION_ERROR"})");
    }
    update(key, parse_object(r.body)["properties"].as_object());
    return json_reply(200, json::object{{"id", id}, {"properties", records_[key]}});
  }

  // Dynamics: /api/data/v9.2/{set}({id}) and /api/data/v9.2/tasks(new_rapportkey='{key}').
  Reply dynamics(const ReceivedRequest& r) {
    const std::string prefix = "/api/data/v9.2/";
    std::string path = r.target.substr(0, r.target.find('?'));
    if (!path.starts_with(prefix) || !path.ends_with(")")) return respond(404, R"({"error":{"code":"0x80060888","message":"Resource not found"}})");
    std::string set = path.substr(prefix.size(), path.find('(') - prefix.size());
    std::string inside = path.substr(path.find('(') + 1, path.size() - path.find('(') - 2);
    if (set == "tasks") {
      std::string key = inside.substr(inside.find('\'') + 1, inside.rfind('\'') - inside.find('\'') - 1);
      if (r.method == "GET") {
        if (!tasks_.count(key)) return respond(404, R"({"error":{"code":"0x80040217","message":"task With Ids = ... Does Not Exist"}})");
        return json_reply(200, json::object{{"activityid", tasks_[key]["id"]}});
      }
      if (r.header("If-None-Match") != "*") return respond(400, R"({"error":{"code":"0x0","message":"the test wants If-None-Match"}})");
      if (tasks_.count(key)) return respond(412, R"({"error":{"code":"0x80040237","message":"A record with matching key values already exists."}})");
      create_task(key, parse_object(r.body));
      return respond(204);
    }
    const std::string key = set + "/" + inside;
    if (!records_.count(key)) return respond(404, R"({"error":{"code":"0x80040217","message":"Does Not Exist"}})");
    if (r.method == "GET") {
      json::object out{{"@odata.etag", "W/\"1\""}};
      for (const auto& [k, v] : records_[key]) {
        out[k] = v;
        if (k == "_ownerid_value") out["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] = "systemuser";
      }
      return json_reply(200, out);
    }
    if (r.header("If-Match") != "*") return respond(400, R"({"error":{"code":"0x0","message":"the test wants If-Match"}})");
    if (refused_.count(inside)) return respond(400, R"({"error":{"code":"0x80040203","message":"Invalid owner"}})");
    json::object values;
    for (const auto& [k, v] : parse_object(r.body)) {
      if (k == "ownerid@odata.bind") {
        std::string bind(v.as_string());  // /systemusers(GUID)
        values["_ownerid_value"] = bind.substr(bind.find('(') + 1, bind.size() - bind.find('(') - 2);
      } else {
        values[k] = v;
      }
    }
    update(key, values);
    return respond(204);
  }

  Vendor vendor_;
  std::mutex mutex_;
  std::map<std::string, json::object> records_;
  std::map<std::string, int> changes_;
  std::map<std::string, json::object> tasks_;
  std::map<std::string, int> created_;
  std::map<std::string, std::set<std::string>> associations_;
  std::set<std::string> refused_;
  double fault_share_ = 0;
  int faults_ = 0;
  std::mt19937 rng_{20260301};
  testing::LoopbackServer server_;  // last: it stops (and stops calling handle) before the state goes
};

/// A source file for the fake CRM.
inline fs::path write_source(const fs::path& dir, Vendor vendor, const FakeCrm& crm) {
  std::string text;
  switch (vendor) {
    case Vendor::Salesforce:
      text = "kind: salesforce\ninstance: " + crm.url() + "\nauth:\n  client_id: env:RAPPORT_WB_ID\n"
             "  client_secret: env:RAPPORT_WB_SECRET\nobjects: [accounts]\n";
      break;
    case Vendor::Hubspot:
      text = "kind: hubspot\nbase_url: " + crm.url() + "\nauth:\n  token: env:RAPPORT_WB_TOKEN\nobjects: [accounts]\n";
      break;
    case Vendor::Dynamics:
      text = "kind: dynamics\norg: " + crm.url() + "\ntenant: contoso.onmicrosoft.com\nauth:\n  client_id: env:RAPPORT_WB_ID\n"
             "  client_secret: env:RAPPORT_WB_SECRET\n  token_url: " + crm.url("/contoso/oauth2/v2.0/token") +
             "\nobjects: [accounts]\n";
      break;
  }
  write(dir / "source.yaml", text);
  return dir / "source.yaml";
}

struct Move {
  std::string id, record, from, to;
};

struct FindingSpec {
  std::string rule, severity, entity, id, name, fingerprint;
};

inline std::string finding_item(const FindingSpec& f) {
  return R"({"pack": "b2b-core", "pack_version": "1.0.0", "rule": ")" + f.rule + R"(", "title": "Title of )" + f.rule +
         R"(", "severity": ")" + f.severity + R"(", "base_severity": ")" + f.severity + R"(", "subject": {"entity": ")" +
         f.entity + R"(", "id": ")" + f.id + R"(", "name": ")" + f.name + R"("}, "message": "Message of )" + f.rule +
         R"(", "remedy": "Remedy of )" + f.rule + R"(", "tags": [], "evidence": {}, "fingerprint": ")" + f.fingerprint + "\"}";
}

/// A rapport.plan/1 report moving accounts.owner_id, with `findings` it can't fix.
inline std::string plan_json(const std::vector<Move>& moves, const std::vector<FindingSpec>& findings = {}) {
  std::string out = R"({"schema": "rapport.plan/1", "rapport_version": "0.1.0", "as_of": "2026-03-01T00:00:00Z",
  "pack": {"name": "b2b-core", "version": "1.0.0"}, "plan": "rebalance", "title": "Rebalance",
  "change": {"entity": "accounts", "field": "owner_id", "target_entity": "users"}, "limits": [], "preferences": [],
  "summary": {}, "moves": [)";
  for (std::size_t i = 0; i < moves.size(); ++i) {
    const Move& m = moves[i];
    out += std::string(i ? ", " : "") + R"({"id": ")" + m.id + R"(", "record": {"id": ")" + m.record + R"(", "name": "Account )" +
           m.record + R"("}, "from": )" + (m.from.empty() ? "null" : R"({"id": ")" + m.from + R"(", "name": "From"})") +
           R"(, "to": {"id": ")" + m.to + R"(", "name": "To"}, "overflow": false, "reasons": ["over a limit"], "message": "", "remedy": ""})";
  }
  out += R"(], "targets": [], "unplaced": [], "shortfalls": [], "findings": [)";
  for (std::size_t i = 0; i < findings.size(); ++i) out += (i ? ", " : "") + finding_item(findings[i]);
  return out + "]}\n";
}

/// A rapport.findings/1 report.
inline std::string findings_json(const std::vector<FindingSpec>& findings) {
  std::string out = R"({"schema": "rapport.findings/1", "rapport_version": "0.1.0", "as_of": "2026-03-01T00:00:00Z",
  "packs": [], "summary": {}, "findings": [)";
  for (std::size_t i = 0; i < findings.size(); ++i) out += (i ? ", " : "") + finding_item(findings[i]);
  return out + "]}\n";
}

/// Options for apply() over the fake CRM, with the report written to `dir`.
inline writeback::ApplyOptions options_for(const fs::path& dir, Vendor vendor, const FakeCrm& crm, const std::string& report,
                                           bool apply) {
  writeback::ApplyOptions options;
  options.source_path = write_source(dir, vendor, crm).string();
  write(dir / "report.json", report);
  options.report_path = (dir / "report.json").string();
  options.apply = apply;
  options.journal_path = (dir / "journal.jsonl").string();
  options.client = fast_options();
  return options;
}

/// Runs apply() until it exits 0, at most `runs` times; the exit codes of every run.
inline std::vector<int> apply_until_done(const writeback::ApplyOptions& options, int runs) {
  std::vector<int> codes;
  for (int i = 0; i < runs; ++i) {
    writeback::ApplyReport report = writeback::apply(options);
    codes.push_back(report.exit_code);
    if (report.exit_code == writeback::kApplyOk) break;
  }
  return codes;
}

/// Nothing the tests handed over as a credential appears in `text`.
inline void expect_no_secret(const std::string& text) {
  for (const char* secret : {kClientSecret, kAccessToken}) EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in:\n" << text;
}

}  // namespace rapport::writeback_test
