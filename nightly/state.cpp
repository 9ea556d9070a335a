#include "nightly/state.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rapport::nightly {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr const char* kStateSchema = "rapport.state/1";

std::string str(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) throw std::runtime_error(std::string("`") + key + "` is missing or not text");
  return std::string(v->get_string());
}

std::size_t count(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64() || v->get_int64() < 0) {
    throw std::runtime_error(std::string("`") + key + "` is missing or not a count");
  }
  return static_cast<std::size_t>(v->get_int64());
}

reports::TrendPoint trend_point(const json::object& o) {
  reports::TrendPoint p;
  p.run_at = str(o, "run_at");
  p.as_of = str(o, "as_of");
  p.open = count(o, "open");
  p.new_findings = count(o, "new");
  p.resolved = count(o, "resolved");
  p.waived = count(o, "waived");
  const json::value* by = o.if_contains("by_severity");
  if (by == nullptr || !by->is_object()) throw std::runtime_error("`by_severity` is missing");
  for (int s = 0; s < 5; ++s) {
    p.by_severity[s] = count(by->get_object(), std::string(dsl::severity_name(static_cast<dsl::Severity>(s))).c_str());
  }
  return p;
}

}  // namespace

std::optional<State> read_state(const std::string& dir, std::string& error) {
  State state;
  fs::path file = fs::path(dir) / "state.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return state;
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (!in) {
    error = "cannot read " + file.string();
    return std::nullopt;
  }
  try {
    json::value root = json::parse(buffer.str());
    const json::object& o = root.as_object();
    if (str(o, "schema") != kStateSchema) {
      error = file.string() + " was written by another version of Rapport (schema " + str(o, "schema") + ", expected " +
              kStateSchema + ")";
      return std::nullopt;
    }
    const json::object& last = o.at("last_run").as_object();
    state.last_run_id = str(last, "id");
    state.last_run_at = str(last, "run_at");
    state.last_as_of = str(last, "as_of");
    for (const auto& item : o.at("findings").as_array()) {
      const json::object& f = item.as_object();
      KnownFinding k;
      k.fingerprint = str(f, "fingerprint");
      k.pack = str(f, "pack");
      k.rule = str(f, "rule");
      k.title = str(f, "title");
      auto severity = dsl::parse_severity(str(f, "severity"));
      if (!severity) throw std::runtime_error("a finding's severity is not a severity");
      k.severity = *severity;
      k.subject_entity = str(f, "subject_entity");
      k.subject_id = str(f, "subject_id");
      k.subject_name = str(f, "subject_name");
      k.owner_id = str(f, "owner");
      k.first_seen = str(f, "first_seen");
      const json::value* waived = f.if_contains("waived");
      k.waived = waived != nullptr && waived->is_bool() && waived->get_bool();
      state.findings.push_back(std::move(k));
    }
    for (const auto& item : o.at("history").as_array()) state.history.push_back(trend_point(item.as_object()));
  } catch (const std::exception& e) {
    error = file.string() + " is damaged (" + e.what() +
            "); move it away to start afresh (every finding is then new), or restore it from a backup";
    return std::nullopt;
  }
  std::sort(state.findings.begin(), state.findings.end(),
            [](const KnownFinding& a, const KnownFinding& b) { return a.fingerprint < b.fingerprint; });
  state.exists = true;
  return state;
}

std::string state_json(const State& state) {
  json::object root;
  root["schema"] = kStateSchema;
  root["last_run"] = json::object{{"id", state.last_run_id}, {"run_at", state.last_run_at}, {"as_of", state.last_as_of}};
  json::array findings;
  for (const auto& k : state.findings) {
    json::object f;
    f["fingerprint"] = k.fingerprint;
    f["pack"] = k.pack;
    f["rule"] = k.rule;
    f["title"] = k.title;
    f["severity"] = std::string(dsl::severity_name(k.severity));
    f["subject_entity"] = k.subject_entity;
    f["subject_id"] = k.subject_id;
    f["subject_name"] = k.subject_name;
    f["owner"] = k.owner_id;
    f["first_seen"] = k.first_seen;
    f["waived"] = k.waived;
    findings.push_back(std::move(f));
  }
  root["findings"] = std::move(findings);
  json::array history;
  for (const auto& p : state.history) {
    json::object by;
    for (int s = 0; s < 5; ++s) {
      by[std::string(dsl::severity_name(static_cast<dsl::Severity>(s)))] = static_cast<std::int64_t>(p.by_severity[s]);
    }
    history.push_back(json::object{{"run_at", p.run_at},
                                   {"as_of", p.as_of},
                                   {"open", static_cast<std::int64_t>(p.open)},
                                   {"new", static_cast<std::int64_t>(p.new_findings)},
                                   {"resolved", static_cast<std::int64_t>(p.resolved)},
                                   {"waived", static_cast<std::int64_t>(p.waived)},
                                   {"by_severity", std::move(by)}});
  }
  root["history"] = std::move(history);
  // One finding per line keeps the file readable and diffable.
  std::string out = "{\n";
  bool first = true;
  for (const auto& [key, value] : root) {
    out += first ? "" : ",\n";
    first = false;
    out += "  " + json::serialize(json::value(key)) + ": ";
    if (value.is_array() && !value.get_array().empty()) {
      out += "[\n";
      const auto& items = value.get_array();
      for (std::size_t i = 0; i < items.size(); ++i) out += "    " + json::serialize(items[i]) + (i + 1 < items.size() ? ",\n" : "\n");
      out += "  ]";
    } else {
      out += json::serialize(value);
    }
  }
  return out + "\n}\n";
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

bool RunLock::acquire(const std::string& dir, const std::string& holder, std::string& error) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    error = "cannot create the state folder " + dir + ": " + ec.message();
    return false;
  }
  std::string path = (fs::path(dir) / "lock").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char text[512] = {};
    ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      std::string who = n > 0 ? std::string(text, static_cast<std::size_t>(n)) : std::string("another process");
      while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
      error = "another run is using the state folder " + dir + " (" + who +
              "); wait for it to finish — two runs at once would lose each other's history";
    } else {
      error = "cannot lock " + path + ": " + std::strerror(err);
    }
    return false;
  }
  std::string line = holder + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, line.data(), line.size(), 0) < 0) {
    // The lock holds regardless; the holder text only makes the refusal message friendlier.
  }
  fd_ = fd;
  return true;
}

}  // namespace rapport::nightly
