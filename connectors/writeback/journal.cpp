#include "connectors/writeback/journal.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace rapport::writeback {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string text_of(const json::object& line, std::string_view name) {
  const json::value* v = line.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool settled(const std::string& outcome) { return outcome == "applied" || outcome == "unchanged"; }

}  // namespace

std::string default_journal_path() {
  fs::path folder;
  if (const char* state = std::getenv("RAPPORT_STATE_DIR"); state && *state) folder = state;
  else if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) folder = fs::path(xdg) / "rapport";
  else if (const char* home = std::getenv("HOME"); home && *home) folder = fs::path(home) / ".local/state/rapport";
  else folder = ".";
  return (folder / "rapport-journal.jsonl").string();
}

Journal::Journal(std::string path) : path_(std::move(path)) {
  std::error_code ec;
  if (!fs::exists(path_, ec)) return;
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw JournalError("cannot read the journal " + path_);
  std::string text;
  while (std::getline(in, text)) {
    boost::system::error_code parse_error;
    json::value parsed = json::parse(text, parse_error);
    if (parse_error || !parsed.is_object()) continue;  // a line torn by a crash
    const json::object& line = parsed.as_object();
    if (settled(text_of(line, "outcome"))) {
      done_.emplace(text_of(line, "source"), text_of(line, "key"), text_of(line, "new"));
    }
  }
}

Journal::~Journal() {
  if (file_) std::fclose(file_);
}

bool Journal::done(const std::string& source, const std::string& key, const std::string& new_value) const {
  return done_.count({source, key, new_value}) > 0;
}

void Journal::open_for_append() {
  if (file_) return;
  std::error_code ec;
  fs::path parent = fs::path(path_).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) throw JournalError("cannot open the journal " + path_ + ": " + std::strerror(errno));
}

void Journal::append(const JournalEntry& e) {
  open_for_append();
  json::object line;
  line["time"] = e.time;
  line["source"] = e.source;
  line["kind"] = e.kind;
  line["key"] = e.key;
  line["entity"] = e.entity;
  line["record"] = e.record;
  line["object"] = e.object;
  line["field"] = e.field;
  line["old"] = e.old_value ? json::value(*e.old_value) : json::value(nullptr);
  line["new"] = e.new_value;
  line["outcome"] = e.outcome;
  if (!e.error.empty()) line["error"] = e.error;
  std::string text = json::serialize(line) + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0 ||
      ::fsync(::fileno(file_)) != 0) {
    throw JournalError("cannot write the journal " + path_ + ": " + std::strerror(errno));
  }
  if (settled(e.outcome)) done_.emplace(e.source, e.key, e.new_value);
}

}  // namespace rapport::writeback
