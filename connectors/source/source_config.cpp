#include "connectors/source/source_config.hpp"

#include <algorithm>
#include <filesystem>

#include "connectors/dynamics/query.hpp"
#include "connectors/hubspot/objects.hpp"
#include "connectors/mapping/mapping.hpp"
#include "connectors/mapping/yaml_support.hpp"
#include "connectors/salesforce/query.hpp"
#include "diag/suggest.hpp"
#include "model/schema.hpp"

namespace rapport::source {

using connectors::quote;
using connectors::span_of;
using diag::Code;

std::vector<std::string> fetchable_entities(Kind kind) {
  if (kind == Kind::Salesforce) return mapping::salesforce_default().entity_names();
  if (kind == Kind::Dynamics) return mapping::dynamics_default().entity_names();
  if (kind == Kind::Hubspot) return mapping::hubspot_default().entity_names();
  return model::Schema::canonical().entity_names();
}

namespace {

bool is_reference(std::string_view text) {
  return (text.starts_with("env:") && text.size() > 4) || (text.starts_with("file:") && text.size() > 5);
}

/// A credential: must be a reference. Diagnostics name the place but never show the line.
std::optional<std::string> credential(const YAML::Node& auth, const char* key, bool required,
                                      const diag::SourceFilePtr& file, const YAML::Node& where,
                                      diag::DiagnosticSink& sink) {
  YAML::Node node = auth[key];
  if (!node) {
    if (required) {
      sink.error(Code::MissingClause, nullptr, {}, std::string("`auth` needs `") + key + "` (env:NAME or file:/path)")
          .where = connectors::place_of(where, *file);
    }
    return std::nullopt;
  }
  if (!node.IsScalar() || !is_reference(node.Scalar())) {
    auto& d = sink.error(Code::ParamOverrideType, nullptr, {},
                         std::string("auth.") + key + " must be a reference to a secret, not the secret itself");
    d.where = connectors::place_of(node, *file);
    d.help("write `" + std::string(key) + ": env:VARIABLE` or `" + key + ": file:/path/to/secret`");
    d.note("the value is not shown; if it is a real credential, rotate it");
    return std::nullopt;
  }
  return node.Scalar();
}

/// An https:// URL (`instance`, `org`), or a diagnostic at the node.
std::optional<std::string> read_url(const YAML::Node& node, const char* what, const diag::SourceFilePtr& file,
                                    diag::DiagnosticSink& sink) {
  auto text = connectors::scalar_text(node, file, quote(what), sink);
  if (!text) return std::nullopt;
  if (!text->starts_with("https://") && !text->starts_with("http://")) {
    sink.error(Code::ParamOverrideType, file, span_of(node, *file), quote(what) + " must be an https:// URL");
  }
  return text;
}

/// A whole number from `low` to `high` (`page_size`, `concurrency`), or a diagnostic at the node.
std::optional<int> read_whole_number(const YAML::Node& node, const char* what, int low, int high,
                                     const diag::SourceFilePtr& file, diag::DiagnosticSink& sink) {
  int value = 0;
  if (!node.IsScalar() || !YAML::convert<int>::decode(node, value) || value < low || value > high) {
    sink.error(Code::ParamOverrideType, file, span_of(node, *file),
               quote(what) + " must be a whole number from " + std::to_string(low) + " to " + std::to_string(high));
    return std::nullopt;
  }
  return value;
}

/// Reports keys of `auth` other than `auth_keys`, by position only (the line may hold a secret).
void check_auth_keys(const YAML::Node& auth, const std::vector<std::string>& auth_keys, const diag::SourceFilePtr& file,
                     diag::DiagnosticSink& sink) {
  std::string listed;
  for (const auto& k : auth_keys) listed += (listed.empty() ? "" : ", ") + k;
  for (const auto& entry : auth) {
    const std::string key = entry.first.Scalar();
    if (std::find(auth_keys.begin(), auth_keys.end(), key) != auth_keys.end()) continue;
    auto& d = sink.error(Code::UnknownKey, nullptr, {}, "unknown key " + quote(key) + " in `auth`");
    d.where = connectors::place_of(entry.first, *file);
    if (auto s = diag::closest(key, auth_keys)) d.help("did you mean " + quote(*s) + "?");
    else d.help("allowed keys: " + listed);
  }
}

/// `auth:` of a HubSpot source: the private app's access token, `token: env:NAME` or `file:/path`.
std::optional<AuthConfig> read_token_auth(const YAML::Node& root, const YAML::Node& kind, const diag::SourceFilePtr& file,
                                          diag::DiagnosticSink& sink) {
  YAML::Node auth = root["auth"];
  if (!auth) {
    sink.error(Code::MissingClause, file, span_of(kind, *file), "a hubspot source needs `auth` (token: env:HUBSPOT_TOKEN)");
    return std::nullopt;
  }
  if (!auth.IsMap()) {
    sink.error(Code::ParamOverrideType, nullptr, {}, "`auth` must be a map with `token` (env:NAME or file:/path)")
        .where = connectors::place_of(auth, *file);
    return std::nullopt;
  }
  check_auth_keys(auth, {"token"}, file, sink);
  auto token = credential(auth, "token", true, file, auth, sink);
  if (!token) return std::nullopt;
  AuthConfig a;
  a.token = *token;
  return a;
}

/// `auth:` of an OAuth source: client_id and client_secret references and the optional `keys`
/// beyond them. Keys are checked by hand so a secret pasted as a value is never shown.
std::optional<AuthConfig> read_auth(const YAML::Node& root, const YAML::Node& kind, const std::string& kind_name,
                                    const std::vector<std::string>& auth_keys, const diag::SourceFilePtr& file,
                                    diag::DiagnosticSink& sink) {
  YAML::Node auth = root["auth"];
  if (!auth) {
    sink.error(Code::MissingClause, file, span_of(kind, *file), "a " + kind_name + " source needs `auth` (client_id, client_secret)");
    return std::nullopt;
  }
  if (!auth.IsMap()) {
    sink.error(Code::ParamOverrideType, nullptr, {}, "`auth` must be a map of references (client_id, client_secret, ...)")
        .where = connectors::place_of(auth, *file);
    return std::nullopt;
  }
  check_auth_keys(auth, auth_keys, file, sink);
  AuthConfig a;
  auto id = credential(auth, "client_id", true, file, auth, sink);
  auto secret = credential(auth, "client_secret", true, file, auth, sink);
  if (std::find(auth_keys.begin(), auth_keys.end(), "refresh_token") != auth_keys.end()) {
    a.refresh_token = credential(auth, "refresh_token", false, file, auth, sink);
  }
  if (YAML::Node url = auth["token_url"]) {
    if (auto text = connectors::scalar_text(url, file, "`token_url`", sink)) a.token_url = *text;
  }
  if (!id || !secret) return std::nullopt;
  a.client_id = *id;
  a.client_secret = *secret;
  return a;
}

}  // namespace

std::optional<SourceConfig> load_source(const std::string& path, diag::DiagnosticSink& sink) {
  diag::SourceFilePtr file;
  auto root = connectors::load_yaml(path, file, sink);
  if (!root) return std::nullopt;
  if (!root->IsMap()) {
    sink.error(Code::ParamOverrideType, file, span_of(*root, *file), "a source file is a map with `kind` and `objects`");
    return std::nullopt;
  }
  const std::size_t errors_before = sink.error_count();
  SourceConfig config;
  config.path = path;
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  auto relative = [&](const std::string& p) {
    std::filesystem::path fp(p);
    return (fp.is_absolute() ? fp : folder / fp).lexically_normal().string();
  };

  // Keys are checked by hand for `auth`, so a secret pasted as a key's value is never shown.
  const std::vector<std::string> keys = {"kind", "instance", "base_url", "api_version", "auth",
                                         "mapping", "path", "objects", "modified_since",
                                         "org", "tenant", "page_size", "concurrency"};
  for (const auto& entry : *root) {
    const std::string key = entry.first.Scalar();
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    auto& d = sink.error(Code::UnknownKey, nullptr, {}, "unknown key " + quote(key) + " in the source file");
    d.where = connectors::place_of(entry.first, *file);  // the line may hold a pasted secret
    if (auto s = diag::closest(key, keys)) d.help("did you mean " + quote(*s) + "?");
  }

  YAML::Node kind = (*root)["kind"];
  if (!kind) {
    sink.error(Code::MissingClause, file, span_of(*root, *file), "the source file needs `kind: salesforce` or `kind: files`");
    return std::nullopt;
  }
  auto kind_text = connectors::scalar_text(kind, file, "`kind`", sink);
  if (!kind_text) return std::nullopt;
  if (*kind_text == "salesforce") {
    config.kind = Kind::Salesforce;
  } else if (*kind_text == "files") {
    config.kind = Kind::Files;
  } else if (*kind_text == "dynamics") {
    config.kind = Kind::Dynamics;
  } else if (*kind_text == "hubspot") {
    config.kind = Kind::Hubspot;
  } else {
    auto& d = sink.error(Code::UnknownKey, file, span_of(kind, *file), "unknown source kind " + quote(*kind_text));
    if (auto s = diag::closest(*kind_text, {"salesforce", "files", "dynamics", "hubspot"})) d.help("did you mean " + quote(*s) + "?");
    else d.help("kinds: salesforce, dynamics, hubspot, files");
    return std::nullopt;
  }

  auto text_of = [&](const char* key) -> std::optional<std::string> {
    YAML::Node node = (*root)[key];
    if (!node) return std::nullopt;
    return connectors::scalar_text(node, file, quote(key), sink);
  };

  if (config.kind == Kind::Salesforce) {
    YAML::Node instance = (*root)["instance"] ? (*root)["instance"] : (*root)["base_url"];
    if (!instance) {
      sink.error(Code::MissingClause, file, span_of(kind, *file), "a salesforce source needs `instance` (https://ACME.my.salesforce.com)");
    } else if (auto text = read_url(instance, "instance", file, sink)) {
      config.instance = *text;
    }
    if (auto version = text_of("api_version")) config.api_version = *version;
    config.auth = read_auth(*root, kind, "salesforce", {"client_id", "client_secret", "refresh_token", "token_url"}, file, sink);
    if (auto m = text_of("mapping")) config.mapping = relative(*m);
    if ((*root)["path"]) {
      sink.error(Code::UnknownKey, file, span_of((*root)["path"], *file), "`path` belongs to `kind: files` sources");
    }
    for (const char* key : {"org", "tenant", "page_size"}) {
      if ((*root)[key]) {
        sink.error(Code::UnknownKey, file, span_of((*root)[key], *file), quote(key) + " belongs to `kind: dynamics` sources");
      }
    }
  } else if (config.kind == Kind::Dynamics) {
    YAML::Node org = (*root)["org"] ? (*root)["org"] : (*root)["instance"];
    if (!org) {
      sink.error(Code::MissingClause, file, span_of(kind, *file), "a dynamics source needs `org` (https://ORG.crm.dynamics.com)");
    } else if (auto text = read_url(org, "org", file, sink)) {
      config.instance = *text;
    }
    config.api_version = std::string(dynamics::kDefaultApiVersion);
    if (auto version = text_of("api_version")) config.api_version = *version;
    config.auth = read_auth(*root, kind, "dynamics", {"client_id", "client_secret", "token_url"}, file, sink);
    if (auto tenant = text_of("tenant")) {
      config.tenant = *tenant;
    } else if (!(*root)["tenant"] && !(config.auth && config.auth->token_url)) {
      sink.error(Code::MissingClause, file, span_of(kind, *file),
                 "a dynamics source needs `tenant` (the Microsoft Entra tenant id or domain) or `auth.token_url`");
    }
    if (YAML::Node size = (*root)["page_size"]) {
      if (auto value = read_whole_number(size, "page_size", 1, dynamics::kMaxPageSize, file, sink)) config.page_size = *value;
    }
    if (auto m = text_of("mapping")) config.mapping = relative(*m);
    for (const char* key : {"path", "base_url"}) {
      if ((*root)[key]) {
        sink.error(Code::UnknownKey, file, span_of((*root)[key], *file), quote(key) + " does not apply to `kind: dynamics`");
      }
    }
  } else if (config.kind == Kind::Hubspot) {
    config.instance = std::string(hubspot::kDefaultBaseUrl);
    if (YAML::Node base = (*root)["base_url"]) {
      if (auto text = read_url(base, "base_url", file, sink)) config.instance = *text;
    }
    config.auth = read_token_auth(*root, kind, file, sink);
    if (auto m = text_of("mapping")) config.mapping = relative(*m);
    for (const char* key : {"instance", "api_version", "path", "org", "tenant", "page_size"}) {
      if ((*root)[key]) {
        sink.error(Code::UnknownKey, file, span_of((*root)[key], *file), quote(key) + " does not apply to `kind: hubspot`");
      }
    }
  } else {
    if (auto p = text_of("path")) config.files_path = relative(*p);
    else if (!(*root)["path"]) sink.error(Code::MissingClause, file, span_of(kind, *file), "a files source needs `path` (a folder of <entity>.jsonl or .csv files)");
    for (const char* key : {"instance", "base_url", "auth", "mapping", "modified_since", "org", "tenant", "page_size",
                            "concurrency"}) {
      if ((*root)[key]) {
        sink.error(Code::UnknownKey, file, span_of((*root)[key], *file), quote(key) + " does not apply to `kind: files`");
      }
    }
  }

  YAML::Node objects = (*root)["objects"];
  const std::vector<std::string> known = fetchable_entities(config.kind);
  if (!objects) {
    sink.error(Code::MissingClause, file, span_of(kind, *file), "the source file needs `objects` (the entities to fetch)");
  } else if (!objects.IsSequence() || objects.size() == 0) {
    sink.error(Code::ParamOverrideType, file, span_of(objects, *file), "`objects` must be a list of entity names");
  } else {
    for (const auto& item : objects) {
      auto name = connectors::scalar_text(item, file, "an entity name", sink);
      if (!name) continue;
      if (std::find(known.begin(), known.end(), *name) == known.end()) {
        auto& d = sink.error(Code::UnknownEntity, file, span_of(item, *file),
                             quote(*name) + " is not an entity a " + *kind_text + " source can fetch");
        if (auto s = diag::closest(*name, known)) d.help("did you mean " + quote(*s) + "?");
        continue;
      }
      if (std::find(config.objects.begin(), config.objects.end(), *name) != config.objects.end()) {
        sink.error(Code::DuplicateName, file, span_of(item, *file), quote(*name) + " is listed twice");
        continue;
      }
      config.objects.push_back(*name);
    }
  }

  if (config.kind != Kind::Files) {
    if (YAML::Node workers = (*root)["concurrency"]) {
      if (auto value = read_whole_number(workers, "concurrency", 1, kMaxConcurrency, file, sink)) config.concurrency = *value;
    }
    if (YAML::Node since = (*root)["modified_since"]) {
      if (auto text = connectors::scalar_text(since, file, "`modified_since`", sink)) {
        auto ts = salesforce::to_utc_timestamp(*text);
        if (!ts) {
          sink.error(Code::BadDateLiteral, file, span_of(since, *file),
                     "`modified_since` must be a date (2026-01-01) or a timestamp (2026-01-01T00:00:00Z)");
        } else {
          config.modified_since = *ts;
        }
      }
    }
  }
  if (sink.error_count() > errors_before) return std::nullopt;
  return config;
}

}  // namespace rapport::source
