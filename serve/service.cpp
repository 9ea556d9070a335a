#include "serve/service.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>

#include "diag/render.hpp"
#include "engine/output.hpp"
#include "model/time.hpp"
#include "nightly/owners.hpp"
#include "serve/webhooks.hpp"

namespace rapport::serve {

namespace fs = std::filesystem;
namespace json = boost::json;

struct Service::State {
  std::shared_ptr<const engine::LiveSnapshot> snapshot;
  std::unique_ptr<nightly::Directory> directory;  // reads the snapshot's data
  double loaded_at = 0;
  std::size_t records = 0;
};

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// The request body as JSON; a 400 response naming the position when it is not.
std::optional<Response> parse_body(const Request& request, json::value& out) {
  json::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  out = json::parse(request.body, ec, {}, options);
  if (ec) {
    return json_error(400, "malformed_json", "the request body is not valid JSON: " + ec.message(),
                      "{\"body_bytes\": " + std::to_string(request.body.size()) + "}");
  }
  return std::nullopt;
}

/// A 400 response for a member no endpoint reads, with a did-you-mean.
std::optional<Response> unknown_members(const json::object& object, const std::vector<std::string>& allowed, const std::string& where) {
  for (const auto& [key, value] : object) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    std::string path = where.empty() ? std::string(key) : where + "." + std::string(key);
    return json_error(400, "unknown_field", "unknown field `" + path + "`; allowed: " + list,
                      "{\"field\": " + engine::json_string(path) + "}");
  }
  return std::nullopt;
}

Response invalid(const std::string& field, const std::string& message) {
  return json_error(400, "invalid_request", message, "{\"field\": " + engine::json_string(field) + "}");
}

std::string findings_array(const std::vector<engine::Finding>& findings) {
  std::string out = "[";
  for (std::size_t i = 0; i < findings.size(); ++i) out += (i ? ", " : "") + engine::finding_json(findings[i]);
  return out + "]";
}

/// Decodes the characters HubSpot decodes before signing (its request-validation guide).
std::string hubspot_uri(std::string uri) {
  static const std::vector<std::pair<std::string, char>> decoded = {
      {"%3A", ':'}, {"%2F", '/'}, {"%3F", '?'}, {"%40", '@'}, {"%21", '!'}, {"%24", '$'},
      {"%27", '\''}, {"%28", '('}, {"%29", ')'}, {"%2A", '*'}, {"%2C", ','}, {"%3B", ';'}};
  std::string out;
  for (std::size_t i = 0; i < uri.size(); ++i) {
    bool replaced = false;
    if (uri[i] == '%' && i + 2 < uri.size()) {
      std::string code = uri.substr(i, 3);
      for (auto& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      for (const auto& [from, to] : decoded) {
        if (code == from) {
          out += to;
          i += 2;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += uri[i];
  }
  return out;
}

}  // namespace

Service::Service(Config config, std::unique_ptr<Backend> backend, std::string rapport_version)
    : config_(std::move(config)),
      backend_(std::move(backend)),
      rapport_version_(std::move(rapport_version)),
      log_(config_.log_format),
      replays_(config_.replay_window_seconds),
      hubspot_mapping_(mapping::hubspot_default()),
      dynamics_mapping_(mapping::dynamics_default()),
      salesforce_mapping_(mapping::salesforce_default()),
      writeback_(config_.writeback, config_.writeback_client, rapport_version_) {}

Service::~Service() { stop_background(); }

double Service::evaluation_time() const {
  if (config_.as_of) {
    if (auto t = model::parse_date_or_timestamp(*config_.as_of)) return *t;
  }
  return static_cast<double>(std::time(nullptr));
}

void Service::publish(std::shared_ptr<const engine::LiveSnapshot> snapshot, std::size_t records) {
  // Each worker's copy of the data for what-ifs is made now, before requests see the snapshot:
  // otherwise the first what-ifs after every swap pay for it (about 0.4 s at 100k accounts).
  snapshot->warm_up(config_.threads);
  auto state = std::make_shared<State>();
  state->directory = std::make_unique<nightly::Directory>(snapshot->data());
  state->snapshot = std::move(snapshot);
  state->loaded_at = now_seconds();
  state->records = records;
  metrics_.snapshot(state->loaded_at, records, state->snapshot->findings().size());
  state_.store(std::move(state));
}

bool Service::reload(const std::string& trigger) {
  std::lock_guard reload_lock(reload_mutex_);
  Backend::Loaded loaded = backend_->load(evaluation_time());
  const bool ok = loaded.snapshot != nullptr;
  metrics_.reload(ok);
  {
    std::lock_guard lock(status_mutex_);
    last_reload_json_ = "{\"ok\": " + std::string(ok ? "true" : "false") + ", \"trigger\": " + engine::json_string(trigger) +
                        ", \"at\": " + engine::json_string(model::format_timestamp(now_seconds())) +
                        ", \"diagnostics\": " + loaded.diagnostics_json + "}";
  }
  if (!ok) {
    log_.event("reload failed", trigger + (state() ? "; the previous packs keep serving" : "") + "\n" + loaded.diagnostics_text);
    return false;
  }
  {
    std::lock_guard lock(write_mutex_);
    publish(std::move(loaded.snapshot), loaded.records);
  }
  log_.event("reload ok", trigger + ": " + std::to_string(state()->snapshot->findings().size()) + " findings over " +
                              std::to_string(loaded.records) + " records");
  return true;
}

void Service::start_background() {
  if (!config_.watch && config_.refresh_seconds <= 0) return;
  background_stop_ = false;
  using Clock = std::chrono::steady_clock;
  // What the watched files look like: path -> (mtime, size).
  auto look = [this] {
    std::map<std::string, std::pair<fs::file_time_type, std::uintmax_t>> seen;
    for (const auto& path : backend_->watched_paths()) {
      std::error_code ec;
      auto record = [&](const fs::path& p) {
        std::error_code e;
        seen[p.string()] = {fs::last_write_time(p, e), fs::is_regular_file(p, e) ? fs::file_size(p, e) : 0};
      };
      if (fs::is_directory(path, ec)) {
        for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
          if (it->is_regular_file()) record(it->path());
        }
      } else {
        record(path);
      }
    }
    return seen;
  };
  // The files as they are now, before the thread starts: a change made right after this call
  // is seen as one.
  auto files = look();
  background_ = std::thread([this, look, files]() mutable {
    auto next_refresh = Clock::now() + std::chrono::milliseconds(static_cast<long long>(config_.refresh_seconds * 1000));
    const auto tick = std::chrono::milliseconds(static_cast<long long>(config_.watch_interval_seconds * 1000));
    std::unique_lock lock(background_mutex_);
    while (!background_stop_) {
      background_wake_.wait_for(lock, tick);
      if (background_stop_) break;
      lock.unlock();
      if (config_.watch) {
        auto now_files = look();
        if (now_files != files) {
          files = std::move(now_files);
          reload("a pack or parameter file changed");
        }
      }
      if (config_.refresh_seconds > 0 && Clock::now() >= next_refresh) {
        reload("scheduled refresh");
        next_refresh = Clock::now() + std::chrono::milliseconds(static_cast<long long>(config_.refresh_seconds * 1000));
      }
      lock.lock();
    }
  });
}

void Service::stop_background() {
  {
    std::lock_guard lock(background_mutex_);
    background_stop_ = true;
  }
  background_wake_.notify_all();
  if (background_.joinable()) background_.join();
}

Router Service::router() {
  Router router;
  auto text = [](std::string body, std::string type) {
    Response r;
    r.body = std::move(body);
    r.content_type = std::move(type);
    return r;
  };
  router.add({"GET", "/healthz", false, [](const Request&) {
                Response r;
                r.body = "{\"status\": \"ok\"}\n";
                return r;
              }});
  router.add({"GET", "/readyz", false, [this](const Request& r) { return readyz(r); }});
  router.add({"GET", "/metrics", false,
              [this, text](const Request&) { return text(metrics_.render(now_seconds()), "text/plain; version=0.0.4; charset=utf-8"); }});
  router.add({"GET", "/openapi.json", false, [text](const Request&) { return text(openapi_document(), "application/json"); }});
  router.add({"POST", "/v1/check", true, [this](const Request& r) { return check(r); }});
  router.add({"POST", "/v1/what-if", true, [this](const Request& r) { return what_if(r); }});
  router.add({"GET", "/v1/findings", true, [this](const Request& r) { return findings(r); }});
  for (const char* vendor : {"hubspot", "dynamics", "salesforce"}) {
    std::string name = vendor;
    router.add({"POST", "/v1/webhooks/" + name, true, [this, name](const Request& r) { return webhook(r, name); }});
  }
  return router;
}

Response Service::readyz(const Request&) const {
  auto current = state();
  std::string last;
  {
    std::lock_guard lock(status_mutex_);
    last = last_reload_json_;
  }
  Response response;
  if (!current) {
    response = json_error(503, "not_ready", "no snapshot is loaded yet", "{\"last_reload\": " + last + "}");
    return response;
  }
  response.body = "{\"ready\": true, \"snapshot\": {\"as_of\": " +
                  engine::json_string(model::format_timestamp(current->snapshot->as_of())) +
                  ", \"loaded_at\": " + engine::json_string(model::format_timestamp(current->loaded_at)) +
                  ", \"records\": " + std::to_string(current->records) +
                  ", \"findings\": " + std::to_string(current->snapshot->findings().size()) + "}, \"last_reload\": " + last + "}\n";
  return response;
}

Response Service::check(const Request& request) {
  if (auto denied = check_api_key(request, config_.api_keys)) return *denied;
  json::value body;
  if (auto bad = parse_body(request, body)) return *bad;
  if (!body.is_object()) return invalid("(body)", "the body must be a JSON object: {\"records\": {...}, \"packs\": [...]}");
  const json::object& o = body.as_object();
  if (auto bad = unknown_members(o, {"records", "packs", "as_of"}, "")) return *bad;
  const json::value* records = o.if_contains("records");
  if (!records || !records->is_object() || records->as_object().empty()) {
    return invalid("records", "`records` must map entities to lists of canonical records: {\"accounts\": [{\"id\": ...}]}");
  }
  for (const auto& [entity, list] : records->as_object()) {
    if (!list.is_array()) return invalid("records." + std::string(entity), "records." + std::string(entity) + " must be a list of records");
  }
  std::vector<std::string> packs;
  if (const json::value* p = o.if_contains("packs")) {
    if (!p->is_array()) return invalid("packs", "`packs` must be a list of pack names");
    for (const auto& name : p->as_array()) {
      if (!name.is_string()) return invalid("packs", "`packs` must be a list of pack names");
      packs.emplace_back(name.as_string());
    }
  }
  double as_of = evaluation_time();
  if (const json::value* a = o.if_contains("as_of")) {
    std::optional<double> parsed = a->is_string() ? model::parse_date_or_timestamp(a->as_string()) : std::nullopt;
    if (!parsed) return invalid("as_of", "`as_of` must be a date (2026-11-01) or a UTC timestamp (2026-11-01T09:30:00Z)");
    as_of = *parsed;
  }
  Backend::Checked checked = backend_->check(records->as_object(), packs, as_of);
  Response response;
  response.status = checked.status;
  response.body = std::move(checked.body);
  return response;
}

namespace {

/// The changes of a what-if body; a 400 response for anything malformed.
std::optional<Response> read_changes(const json::object& body, std::vector<engine::RecordChange>& changes) {
  if (auto bad = unknown_members(body, {"changes"}, "")) return bad;
  const json::value* list = body.if_contains("changes");
  if (!list || !list->is_array() || list->as_array().empty()) {
    return invalid("changes", "`changes` must be a non-empty list of {op, entity, id, fields}");
  }
  std::size_t index = 0;
  for (const json::value& item : list->as_array()) {
    const std::string where = "changes[" + std::to_string(index++) + "]";
    if (!item.is_object()) return invalid(where, where + " must be an object {op, entity, id, fields}");
    const json::object& c = item.as_object();
    if (auto bad = unknown_members(c, {"op", "entity", "id", "fields"}, where)) return bad;
    engine::RecordChange change;
    std::string op = "upsert";
    if (const json::value* v = c.if_contains("op")) {
      if (!v->is_string() || (v->as_string() != "upsert" && v->as_string() != "delete")) {
        return invalid(where + ".op", where + ".op must be \"upsert\" or \"delete\"");
      }
      op = std::string(v->as_string());
    }
    change.kind = op == "delete" ? engine::RecordChange::Kind::Delete : engine::RecordChange::Kind::Upsert;
    for (const char* member : {"entity", "id"}) {
      const json::value* v = c.if_contains(member);
      if (!v || !v->is_string() || v->as_string().empty()) {
        return invalid(where + "." + member, where + "." + member + " must be non-empty text");
      }
      (std::string_view(member) == "entity" ? change.entity : change.id) = std::string(v->as_string());
    }
    if (const json::value* v = c.if_contains("fields")) {
      if (!v->is_object()) return invalid(where + ".fields", where + ".fields must be an object of canonical field values");
      if (change.kind == engine::RecordChange::Kind::Delete && !v->as_object().empty()) {
        return invalid(where + ".fields", where + " deletes a record: it takes no fields");
      }
      change.fields = v->as_object();
    } else if (change.kind == engine::RecordChange::Kind::Upsert) {
      return invalid(where + ".fields", where + " needs `fields`, the canonical fields to set");
    }
    changes.push_back(std::move(change));
  }
  return std::nullopt;
}

}  // namespace

Response Service::change_effect(const engine::ChangeEffect& effect, const std::string& extra, const std::string& more) const {
  Response response;
  response.body = "{" + extra + "\"created\": " + findings_array(effect.created) + ", \"resolved\": " +
                  findings_array(effect.resolved) + ", \"changed\": " + findings_array(effect.changed) +
                  ", \"subjects_evaluated\": " + std::to_string(effect.subjects_evaluated) + more + "}\n";
  return response;
}

Response Service::what_if(const Request& request) {
  if (auto denied = check_api_key(request, config_.api_keys)) return *denied;
  auto current = state();
  if (!current) return json_error(503, "not_ready", "no snapshot is loaded yet");
  json::value body;
  if (auto bad = parse_body(request, body)) return *bad;
  if (!body.is_object()) return invalid("(body)", "the body must be a JSON object: {\"changes\": [...]}");
  std::vector<engine::RecordChange> changes;
  if (auto bad = read_changes(body.as_object(), changes)) return *bad;
  engine::ChangeEffect effect = current->snapshot->what_if(changes);
  if (!effect.ok()) {
    return json_error(422, "invalid_change", "the changes do not fit the snapshot's data", diag::render_json(effect.problems));
  }
  return change_effect(effect, "\"as_of\": " + engine::json_string(model::format_timestamp(current->snapshot->as_of())) + ", ");
}

Response Service::findings(const Request& request) {
  if (auto denied = check_api_key(request, config_.api_keys)) return *denied;
  auto current = state();
  if (!current) return json_error(503, "not_ready", "no snapshot is loaded yet");
  for (const auto& [key, value] : request.query) {
    if (key != "owner" && key != "rule" && key != "severity") {
      return json_error(400, "unknown_parameter", "unknown query parameter `" + key + "`; allowed: owner, rule, severity",
                        "{\"parameter\": " + engine::json_string(key) + "}");
    }
  }
  std::optional<dsl::Severity> severity;
  if (auto it = request.query.find("severity"); it != request.query.end()) {
    severity = dsl::parse_severity(it->second);
    if (!severity) {
      return json_error(400, "invalid_parameter", "severity must be info, low, medium, high or critical, got `" + it->second + "`",
                        "{\"parameter\": \"severity\"}");
    }
  }
  auto wanted = [&](std::string_view key) -> const std::string* {
    auto it = request.query.find(std::string(key));
    return it == request.query.end() ? nullptr : &it->second;
  };
  const std::string* owner = wanted("owner");
  const std::string* rule = wanted("rule");
  engine::EvalResult result;
  result.rules = current->snapshot->rules();
  for (const auto& finding : current->snapshot->findings()) {
    if (rule && finding.rule != *rule) continue;
    if (severity && finding.severity != *severity) continue;
    if (owner && current->directory->owner_of(finding) != *owner) continue;
    result.findings.push_back(finding);
  }
  engine::RunInfo info;
  info.rapport_version = rapport_version_;
  info.as_of = model::format_timestamp(current->snapshot->as_of());
  for (const auto& pack : current->snapshot->packs()) info.packs.emplace_back(pack.pack.name, pack.pack.version);
  info.records = current->records;
  Response response;
  response.body = engine::render_json(result, info);
  return response;
}

Response Service::webhook(const Request& request, const std::string& vendor) {
  const double now = now_seconds();
  std::optional<Response> denied;
  const mapping::Mapping* mapping = nullptr;
  WebhookBatch (*parse)(const json::value&, const mapping::Mapping&) = nullptr;
  if (vendor == "hubspot" && config_.hubspot) {
    std::string base = config_.public_url.empty() ? "http://" + request.header("host") : config_.public_url;
    denied = check_hubspot_signature(request, *config_.hubspot, hubspot_uri(base + request.target), now);
    mapping = &hubspot_mapping_;
    parse = parse_hubspot;
  } else if (vendor == "dynamics" && config_.dynamics) {
    denied = check_dynamics_key(request, *config_.dynamics);
    mapping = &dynamics_mapping_;
    parse = parse_dynamics;
  } else if (vendor == "salesforce" && config_.salesforce) {
    denied = check_salesforce_bearer(request, *config_.salesforce);
    mapping = &salesforce_mapping_;
    parse = parse_salesforce;
  } else {
    return json_error(404, "webhook_not_configured", "this server takes no " + vendor + " webhooks: serve.yaml has no auth." + vendor);
  }
  if (denied) {
    metrics_.webhook(vendor, "rejected");
    return *denied;
  }
  json::value body;
  if (auto bad = parse_body(request, body)) {
    metrics_.webhook(vendor, "rejected");
    return *bad;
  }
  WebhookBatch batch;
  try {
    batch = parse(body, *mapping);
  } catch (const WebhookError& e) {
    metrics_.webhook(vendor, "rejected");
    return json_error(400, "invalid_webhook", e.what(), "{\"where\": " + engine::json_string(e.where()) + "}");
  }
  std::vector<std::string> keys = batch.event_ids;
  keys.push_back(vendor + ":body:" + sha256_hex(request.body));
  if (auto seen = replays_.seen_any(keys, now)) {
    metrics_.webhook(vendor, "replayed", batch.events);
    return json_error(409, "replayed", "this delivery was already received (" + *seen + ")",
                      "{\"replay_window_seconds\": " + std::to_string(static_cast<long long>(config_.replay_window_seconds)) + "}");
  }
  engine::ChangeEffect effect;
  std::shared_ptr<const engine::LiveSnapshot> after;
  {
    std::lock_guard lock(write_mutex_);
    auto current = state();
    if (!current) return json_error(503, "not_ready", "no snapshot is loaded yet");
    if (!batch.changes.empty()) {
      after = current->snapshot->with_changes(batch.changes, effect);
      if (!after) {
        metrics_.webhook(vendor, "rejected", batch.events);
        return json_error(422, "invalid_change", "the notification's changes do not fit the snapshot's data",
                          diag::render_json(effect.problems));
      }
      publish(after, current->records);
    }
  }
  metrics_.webhook(vendor, "accepted", batch.events);
  // Write-back after the swap, outside the lock: the snapshot is already served, and a slow or
  // failing CRM delays only this answer (docs/serve.md, "Write-back").
  std::string writeback;
  if (after && config_.writeback.mode != nightly::WritebackMode::Off) {
    WritebackOutcome outcome = writeback_.run(*after, effect);
    for (const auto& line : outcome.log_lines) log_.event("writeback", vendor + ": " + line);
    metrics_.writeback("planned", outcome.planned);
    metrics_.writeback("written", outcome.written);
    metrics_.writeback("failed", outcome.failed);
    writeback = ", \"writeback\": " + outcome.json;
  }
  return change_effect(effect,
                       "\"events\": " + std::to_string(batch.events) + ", \"applied\": " + std::to_string(batch.changes.size()) +
                           ", \"ignored\": " + std::to_string(batch.ignored) + ", ",
                       writeback);
}

}  // namespace rapport::serve
