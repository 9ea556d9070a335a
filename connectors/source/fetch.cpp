#include "connectors/source/fetch.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <thread>

#include "connectors/auth/authenticated_client.hpp"
#include "connectors/auth/secret.hpp"
#include "connectors/dynamics/query.hpp"
#include "connectors/hubspot/objects.hpp"
#include "connectors/mapping/mapping.hpp"
#include "connectors/salesforce/query.hpp"
#include "connectors/source/session.hpp"
#include "connectors/source/source_config.hpp"

namespace rapport::source {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

struct Output {
  std::string entity;
  std::string file_name;  // "accounts.jsonl"
  std::string content;
  std::size_t records = 0;
};

bool write_atomically(const fs::path& path, const std::string& content, std::string& error) {
  fs::path temp = path;
  temp += ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) {
      error = "cannot write " + temp.string();
      return false;
    }
    out << content;
    out.flush();
    if (!out) {
      error = "cannot write " + temp.string();
      std::error_code ignored;
      fs::remove(temp, ignored);
      return false;
    }
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    error = "cannot rename " + temp.string() + " to " + path.string() + ": " + ec.message();
    fs::remove(temp, ec);
    return false;
  }
  return true;
}

/// `modified_since` as the dialects take it.
std::optional<std::string_view> since(const SourceConfig& config) {
  return config.modified_since ? std::optional<std::string_view>(*config.modified_since) : std::nullopt;
}

using RecordSink = std::function<void(json::object&&)>;
/// Reads every record of one vendor object through a worker's session, in vendor order.
using ObjectQuery = void (*)(auth::AuthenticatedClient&, const SourceConfig&, const mapping::ObjectRule&,
                             const RecordSink&);

/// What one vendor object of an entity gave: its mapped records in vendor order and, when its
/// query or mapping failed, the error that stopped it after them.
struct Part {
  const mapping::ObjectRule* object = nullptr;
  std::string content;           // JSON lines
  std::vector<std::string> ids;  // of the lines, in order
  std::exception_ptr error;
};

/// Maps one vendor record onto the end of `part`.
void add_record(Part& part, const json::object& record) {
  json::object canonical = mapping::map_record(*part.object, record);
  const json::value* id = canonical.if_contains("id");
  if (!id || !id->is_string() || id->as_string().empty()) {
    throw mapping::MappingError(part.object->object + ": a record has no Id");
  }
  part.ids.emplace_back(id->as_string());
  part.content += json::serialize(canonical);
  part.content += '\n';
}

/// Appends a part to its entity's output. As a sequential fetch would meet them: an id already
/// in `ids` is an error, then the error that stopped the part.
void append_part(Output& out, std::set<std::string>& ids, Part& part) {
  for (const std::string& id : part.ids) {
    if (!ids.insert(id).second) {
      throw mapping::MappingError(part.object->object + " " + id + ": the source returned this record twice");
    }
  }
  if (part.error) std::rethrow_exception(part.error);
  if (out.content.empty()) out.content = std::move(part.content);
  else out.content += part.content;
  part.content = std::string();
  out.records += part.ids.size();
}

/// Runs `query` for every vendor object of every entity, `config.concurrency` at a time. Each
/// worker drives its own Client (libcurl handles are not shared between threads); all of them
/// draw from one rate limit and one token provider, whose own Client carries only token
/// requests. Objects are handed out in entity order and the files are put together in that
/// order, so the output does not depend on which query finishes first; after a failure no
/// further object is started, and the first failure in that order is the one reported.
std::vector<Output> fetch_crm(const SourceConfig& config, const mapping::Mapping& mapping, http::ClientOptions options,
                              ObjectQuery query) {
  http::share_rate_limit(options);
  Session session = open_session(config, options);
  std::vector<Part> parts;
  for (const std::string& entity : config.objects) {
    for (const mapping::ObjectRule& object : mapping.entity(entity)->objects) parts.push_back(Part{&object, {}, {}, {}});
  }

  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&](http::Client& client) {
    auth::AuthenticatedClient worker(client, *session.tokens);
    for (std::size_t i = 0; !failed && (i = next++) < parts.size();) {
      Part& part = parts[i];
      try {
        query(worker, config, *part.object, [&part](json::object&& record) { add_record(part, record); });
      } catch (...) {
        part.error = std::current_exception();
        failed = true;
      }
    }
  };
  const std::size_t worker_count = std::clamp<std::size_t>(parts.size(), 1, static_cast<std::size_t>(config.concurrency));
  std::vector<std::unique_ptr<http::Client>> clients;
  for (std::size_t w = 0; w < worker_count; ++w) clients.push_back(std::make_unique<http::Client>(options));
  {
    std::vector<std::jthread> threads;
    for (std::size_t w = 1; w < worker_count; ++w) threads.emplace_back(work, std::ref(*clients[w]));
    work(*clients[0]);
  }  // joined

  std::vector<Output> outputs;
  auto part = parts.begin();
  for (const std::string& entity : config.objects) {
    Output out{entity, entity + ".jsonl", "", 0};
    std::set<std::string> ids;
    for (std::size_t n = mapping.entity(entity)->objects.size(); n > 0; --n) append_part(out, ids, *part++);
    outputs.push_back(std::move(out));
  }
  return outputs;
}

/// Salesforce: one SOQL query an sObject, paged by nextRecordsUrl.
void query_salesforce_object(auth::AuthenticatedClient& session, const SourceConfig& config,
                             const mapping::ObjectRule& object, const RecordSink& on_record) {
  std::string soql = salesforce::build_soql(object.object, mapping::source_fields(object), since(config));
  salesforce::run_query(session, config.instance, config.api_version, soql, on_record);
}

/// Dynamics 365: one query a table (entity set), paged by @odata.nextLink.
void query_dynamics_object(auth::AuthenticatedClient& session, const SourceConfig& config,
                           const mapping::ObjectRule& object, const RecordSink& on_record) {
  const int page_size = config.page_size > 0 ? config.page_size : dynamics::kDefaultPageSize;
  dynamics::Selection selection = dynamics::select_fields(mapping::source_fields(object));
  std::string url = dynamics::query_url(config.instance, config.api_version, object.object, selection, since(config));
  dynamics::run_query(session, config.instance, url, selection, page_size, on_record);
}

/// HubSpot: one listing (or search) an object type, paged by paging.next.after.
void query_hubspot_object(auth::AuthenticatedClient& session, const SourceConfig& config,
                          const mapping::ObjectRule& object, const RecordSink& on_record) {
  hubspot::fetch_object(session, config.instance, object.object, mapping::source_fields(object), since(config), on_record);
}

std::vector<Output> fetch_files(const SourceConfig& config) {
  std::vector<Output> outputs;
  for (const std::string& entity : config.objects) {
    std::optional<fs::path> found;
    for (const char* ext : {".jsonl", ".csv"}) {
      fs::path candidate = fs::path(config.files_path) / (entity + ext);
      if (fs::exists(candidate)) {
        found = candidate;
        break;
      }
    }
    if (!found) {
      throw std::runtime_error("no " + entity + ".jsonl or " + entity + ".csv in " + config.files_path);
    }
    std::ifstream in(*found, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) throw std::runtime_error("cannot read " + found->string());
    std::size_t lines = 0;
    for (char c : content) lines += c == '\n';
    outputs.push_back({entity, found->filename().string(), std::move(content), lines});
  }
  return outputs;
}

}  // namespace

FetchReport fetch(const FetchOptions& options) {
  FetchReport report;
  auto config = load_source(options.source_path, report.sink);
  if (!config) {
    report.exit_code = kFetchConfig;
    return report;
  }
  std::optional<mapping::Mapping> loaded = load_mapping(*config, report.sink);
  if (!loaded) {
    report.exit_code = kFetchConfig;
    return report;
  }
  const mapping::Mapping& mapping = *loaded;
  std::error_code ec;
  fs::create_directories(options.out_dir, ec);
  if (ec || !fs::is_directory(options.out_dir)) {
    report.error = "cannot create the output folder " + options.out_dir;
    report.exit_code = kFetchConfig;
    return report;
  }

  std::vector<Output> outputs;
  try {
    if (config->kind == Kind::Salesforce) outputs = fetch_crm(*config, mapping, options.client, query_salesforce_object);
    else if (config->kind == Kind::Dynamics) outputs = fetch_crm(*config, mapping, options.client, query_dynamics_object);
    else if (config->kind == Kind::Hubspot) outputs = fetch_crm(*config, mapping, options.client, query_hubspot_object);
    else outputs = fetch_files(*config);
  } catch (const auth::SecretError& e) {
    report.error = e.what();
    report.exit_code = kFetchConfig;
    return report;
  } catch (const std::exception& e) {  // HttpError, AuthError, QueryFormatError, MappingError
    report.error = e.what();
    report.exit_code = kFetchSource;
    return report;
  }
  for (const Output& out : outputs) {
    // A CSV replaces a JSONL of the same entity and vice versa: the loader must find exactly one.
    for (const char* ext : {".jsonl", ".csv"}) {
      fs::path other = fs::path(options.out_dir) / (out.entity + ext);
      if (other.filename() != out.file_name) fs::remove(other, ec);
    }
    if (!write_atomically(fs::path(options.out_dir) / out.file_name, out.content, report.error)) {
      report.exit_code = kFetchSource;
      return report;
    }
    report.written.emplace_back(out.entity, out.records);
  }
  return report;
}

}  // namespace rapport::source
