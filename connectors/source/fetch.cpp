#include "connectors/source/fetch.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include "connectors/auth/authenticated_client.hpp"
#include "connectors/auth/oauth.hpp"
#include "connectors/auth/secret.hpp"
#include "connectors/dynamics/query.hpp"
#include "connectors/hubspot/objects.hpp"
#include "connectors/mapping/mapping.hpp"
#include "connectors/salesforce/query.hpp"
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

/// Maps one vendor record and appends it to `out`; an id already in `ids` is an error.
void append_record(Output& out, std::set<std::string>& ids, const mapping::ObjectRule& object,
                   const json::object& record) {
  json::object canonical = mapping::map_record(object, record);
  const json::value* id = canonical.if_contains("id");
  if (!id || !id->is_string() || id->as_string().empty()) {
    throw mapping::MappingError(object.object + ": a record has no Id");
  }
  if (!ids.insert(std::string(id->as_string())).second) {
    throw mapping::MappingError(object.object + " " + std::string(id->as_string()) +
                                ": the source returned this record twice");
  }
  out.content += json::serialize(canonical);
  out.content += '\n';
  ++out.records;
}

std::vector<Output> fetch_salesforce(const SourceConfig& config, const mapping::Mapping& mapping,
                                     const http::ClientOptions& options) {
  http::Client client(options);
  const AuthConfig& a = *config.auth;
  std::string token_url = a.token_url ? *a.token_url : auth::salesforce_token_url(config.instance);
  std::string client_id = auth::Secret::resolve(a.client_id).reveal();
  std::unique_ptr<auth::TokenProvider> tokens;
  if (a.refresh_token) {
    auth::RefreshTokenConfig c{token_url, client_id, auth::Secret::resolve(a.client_secret),
                               auth::Secret::resolve(*a.refresh_token), std::chrono::minutes(30)};
    tokens = std::make_unique<auth::OAuthRefreshToken>(client, std::move(c));
  } else {
    auth::ClientCredentialsConfig c{token_url, client_id, auth::Secret::resolve(a.client_secret), "",
                                    std::chrono::minutes(30)};
    tokens = std::make_unique<auth::OAuthClientCredentials>(client, std::move(c));
  }
  auth::AuthenticatedClient session(client, *tokens);

  std::vector<Output> outputs;
  for (const std::string& entity : config.objects) {
    const mapping::EntityRule* rules = mapping.entity(entity);
    Output out{entity, entity + ".jsonl", "", 0};
    std::set<std::string> ids;
    for (const mapping::ObjectRule& object : rules->objects) {
      std::string soql = salesforce::build_soql(object.object, mapping::source_fields(object),
                                                config.modified_since ? std::optional<std::string_view>(*config.modified_since)
                                                                      : std::nullopt);
      salesforce::run_query(session, config.instance, config.api_version, soql,
                            [&](json::object&& record) { append_record(out, ids, object, record); });
    }
    outputs.push_back(std::move(out));
  }
  return outputs;
}

/// One entity from Dataverse: each of its tables (entity sets) in turn. Needs nothing but the
/// session, so entities can be fetched concurrently.
Output fetch_dynamics_entity(auth::AuthenticatedClient& session, const SourceConfig& config,
                             const mapping::EntityRule& rules) {
  Output out{rules.entity, rules.entity + ".jsonl", "", 0};
  std::set<std::string> ids;
  const int page_size = config.page_size > 0 ? config.page_size : dynamics::kDefaultPageSize;
  for (const mapping::ObjectRule& object : rules.objects) {
    dynamics::Selection selection = dynamics::select_fields(mapping::source_fields(object));
    std::string url = dynamics::query_url(config.instance, config.api_version, object.object, selection,
                                          config.modified_since ? std::optional<std::string_view>(*config.modified_since)
                                                                : std::nullopt);
    dynamics::run_query(session, config.instance, url, selection, page_size,
                        [&](json::object&& record) { append_record(out, ids, object, record); });
  }
  return out;
}

/// Dynamics 365: client credentials from the Microsoft identity platform, scope `{org}/.default`.
std::vector<Output> fetch_dynamics(const SourceConfig& config, const mapping::Mapping& mapping,
                                   const http::ClientOptions& options) {
  http::Client client(options);
  const AuthConfig& a = *config.auth;
  auth::ClientCredentialsConfig credentials{a.token_url ? *a.token_url : auth::microsoft_token_url(config.tenant),
                                            auth::Secret::resolve(a.client_id).reveal(),
                                            auth::Secret::resolve(a.client_secret),
                                            auth::dynamics_scope(config.instance), std::chrono::minutes(30)};
  auth::OAuthClientCredentials tokens(client, std::move(credentials));
  auth::AuthenticatedClient session(client, tokens);
  std::vector<Output> outputs;
  for (const std::string& entity : config.objects) {
    outputs.push_back(fetch_dynamics_entity(session, config, *mapping.entity(entity)));
  }
  return outputs;
}

/// One entity from HubSpot: each of its object types in turn. Needs nothing but the session, so
/// entities can be fetched concurrently.
Output fetch_hubspot_entity(auth::AuthenticatedClient& session, const SourceConfig& config,
                            const mapping::EntityRule& rules) {
  Output out{rules.entity, rules.entity + ".jsonl", "", 0};
  std::set<std::string> ids;
  for (const mapping::ObjectRule& object : rules.objects) {
    hubspot::fetch_object(session, config.instance, object.object, mapping::source_fields(object),
                          config.modified_since ? std::optional<std::string_view>(*config.modified_since) : std::nullopt,
                          [&](json::object&& record) { append_record(out, ids, object, record); });
  }
  return out;
}

/// HubSpot: a private app's access token, sent as a bearer token.
std::vector<Output> fetch_hubspot(const SourceConfig& config, const mapping::Mapping& mapping,
                                  const http::ClientOptions& options) {
  http::Client client(options);
  auth::StaticBearer tokens(*config.auth->token);
  auth::AuthenticatedClient session(client, tokens);
  std::vector<Output> outputs;
  for (const std::string& entity : config.objects) {
    outputs.push_back(fetch_hubspot_entity(session, config, *mapping.entity(entity)));
  }
  return outputs;
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
  mapping::Mapping mapping = config->kind == Kind::Dynamics  ? mapping::dynamics_default()
                             : config->kind == Kind::Hubspot ? mapping::hubspot_default()
                                                             : mapping::salesforce_default();
  if (config->kind != Kind::Files && config->mapping &&
      !mapping::apply_mapping_file(*config->mapping, mapping, report.sink)) {
    report.exit_code = kFetchConfig;
    return report;
  }
  std::error_code ec;
  fs::create_directories(options.out_dir, ec);
  if (ec || !fs::is_directory(options.out_dir)) {
    report.error = "cannot create the output folder " + options.out_dir;
    report.exit_code = kFetchConfig;
    return report;
  }

  std::vector<Output> outputs;
  try {
    if (config->kind == Kind::Salesforce) outputs = fetch_salesforce(*config, mapping, options.client);
    else if (config->kind == Kind::Dynamics) outputs = fetch_dynamics(*config, mapping, options.client);
    else if (config->kind == Kind::Hubspot) outputs = fetch_hubspot(*config, mapping, options.client);
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
