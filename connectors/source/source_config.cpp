#include "connectors/source/source_config.hpp"

#include <algorithm>
#include <filesystem>

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
                                         "mapping", "path", "objects", "modified_since"};
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
  } else {
    auto& d = sink.error(Code::UnknownKey, file, span_of(kind, *file), "unknown source kind " + quote(*kind_text));
    if (auto s = diag::closest(*kind_text, {"salesforce", "files"})) d.help("did you mean " + quote(*s) + "?");
    else d.help("kinds: salesforce, files (hubspot and dynamics are not implemented yet)");
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
    } else if (auto text = connectors::scalar_text(instance, file, "`instance`", sink)) {
      if (!text->starts_with("https://") && !text->starts_with("http://")) {
        sink.error(Code::ParamOverrideType, file, span_of(instance, *file), "`instance` must be an https:// URL");
      }
      config.instance = *text;
    }
    if (auto version = text_of("api_version")) config.api_version = *version;
    YAML::Node auth = (*root)["auth"];
    if (!auth) {
      sink.error(Code::MissingClause, file, span_of(kind, *file), "a salesforce source needs `auth` (client_id, client_secret)");
    } else if (!auth.IsMap()) {
      sink.error(Code::ParamOverrideType, nullptr, {}, "`auth` must be a map of references (client_id, client_secret, ...)")
          .where = connectors::place_of(auth, *file);
    } else {
      const std::vector<std::string> auth_keys = {"client_id", "client_secret", "refresh_token", "token_url"};
      for (const auto& entry : auth) {
        const std::string key = entry.first.Scalar();
        if (std::find(auth_keys.begin(), auth_keys.end(), key) != auth_keys.end()) continue;
        auto& d = sink.error(Code::UnknownKey, nullptr, {}, "unknown key " + quote(key) + " in `auth`");
        d.where = connectors::place_of(entry.first, *file);
        if (auto s = diag::closest(key, auth_keys)) d.help("did you mean " + quote(*s) + "?");
        else d.help("allowed keys: client_id, client_secret, refresh_token, token_url");
      }
      AuthConfig a;
      auto id = credential(auth, "client_id", true, file, auth, sink);
      auto secret = credential(auth, "client_secret", true, file, auth, sink);
      a.refresh_token = credential(auth, "refresh_token", false, file, auth, sink);
      if (YAML::Node url = auth["token_url"]) {
        if (auto text = connectors::scalar_text(url, file, "`token_url`", sink)) a.token_url = *text;
      }
      if (id && secret) {
        a.client_id = *id;
        a.client_secret = *secret;
        config.auth = a;
      }
    }
    if (auto m = text_of("mapping")) config.mapping = relative(*m);
    if ((*root)["path"]) {
      sink.error(Code::UnknownKey, file, span_of((*root)["path"], *file), "`path` belongs to `kind: files` sources");
    }
  } else {
    if (auto p = text_of("path")) config.files_path = relative(*p);
    else if (!(*root)["path"]) sink.error(Code::MissingClause, file, span_of(kind, *file), "a files source needs `path` (a folder of <entity>.jsonl or .csv files)");
    for (const char* key : {"instance", "base_url", "auth", "mapping", "modified_since"}) {
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

  if (config.kind == Kind::Salesforce) {
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
