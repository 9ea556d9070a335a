#include "serve/config.hpp"

#include <chrono>
#include <filesystem>

#include "connectors/source/source_config.hpp"
#include "yamlio/reader.hpp"
#include "yamlio/yaml_diag.hpp"

namespace rapport::serve {

namespace fs = std::filesystem;
using diag::Code;
using yamlio::quote;
using yamlio::Reader;
using yamlio::span_of;

namespace {

/// A secret reference (env:NAME or file:/path, relative to the file's folder). A value written
/// inline is refused without being echoed; an unreadable one is named by its reference.
std::optional<auth::Secret> secret(Reader& r, const YAML::Node& node, std::string_view what) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    r.error(node, quote(what) + " must be a secret reference: env:NAME or file:/path");
    return std::nullopt;
  }
  const std::string& reference = node.Scalar();
  std::string resolved = reference;
  if (reference.rfind("file:", 0) == 0 && !fs::path(reference.substr(5)).is_absolute()) {
    resolved = "file:" + (r.base() / reference.substr(5)).lexically_normal().string();
  }
  try {
    return auth::Secret::resolve(resolved);
  } catch (const auth::SecretError& e) {
    r.error(node, quote(what) + ": " + e.what())
        .help("write env:NAME (an environment variable) or file:/path (a file holding only the secret)");
    return std::nullopt;
  }
}

void read_listen(Reader& r, const YAML::Node& node, Config& config) {
  if (!r.keys(node, {"address", "port", "public_url"}, "`listen`")) return;
  if (node["address"]) {
    if (auto a = r.text(node["address"], "listen.address")) config.address = *a;
  }
  if (node["port"]) {
    if (auto p = r.number(node["port"], "listen.port", 0, 65535)) config.port = static_cast<int>(*p);
  }
  if (node["public_url"]) {
    if (auto u = r.text(node["public_url"], "listen.public_url")) {
      if (u->rfind("https://", 0) != 0 && u->rfind("http://", 0) != 0) {
        r.error(node["public_url"], "`listen.public_url` must start with https:// or http://")
            .help("the address vendors post to, as they see it: https://rapport.example.com");
      }
      while (!u->empty() && u->back() == '/') u->pop_back();
      config.public_url = *u;
    }
  }
}

void read_limits(Reader& r, const YAML::Node& node, Config& config) {
  if (!r.keys(node, {"threads", "max_body", "read_timeout", "write_timeout", "max_in_flight"}, "`limits`")) return;
  if (node["threads"]) {
    if (auto t = r.number(node["threads"], "limits.threads", 1, 64)) config.threads = static_cast<unsigned>(*t);
  }
  if (node["max_body"]) {
    if (auto b = r.number(node["max_body"], "limits.max_body", 1024, 1 << 30)) config.max_body_bytes = static_cast<std::size_t>(*b);
  }
  if (node["read_timeout"]) {
    if (auto t = r.duration(node["read_timeout"], "limits.read_timeout", 3600)) config.read_timeout_seconds = *t;
  }
  if (node["write_timeout"]) {
    if (auto t = r.duration(node["write_timeout"], "limits.write_timeout", 3600)) config.write_timeout_seconds = *t;
  }
  if (node["max_in_flight"]) {
    if (auto n = r.number(node["max_in_flight"], "limits.max_in_flight", 1, 100000)) config.max_in_flight = static_cast<std::size_t>(*n);
  }
}

void read_reload(Reader& r, const YAML::Node& node, Config& config) {
  if (!r.keys(node, {"refresh", "watch", "watch_interval"}, "`reload`")) return;
  if (node["refresh"]) {
    if (auto t = r.duration(node["refresh"], "reload.refresh", 7 * 86400)) config.refresh_seconds = *t;
  }
  if (node["watch"]) config.watch = r.boolean(node["watch"], "reload.watch").value_or(true);
  if (node["watch_interval"]) {
    if (auto t = r.duration(node["watch_interval"], "reload.watch_interval", 3600)) config.watch_interval_seconds = std::max(0.1, *t);
  }
}

void read_auth(Reader& r, const YAML::Node& node, Config& config) {
  if (!r.keys(node, {"api_keys", "hubspot", "dynamics", "salesforce", "replay_window"}, "`auth`")) return;
  if (const auto keys = node["api_keys"]) {
    if (!keys.IsSequence()) {
      r.error(keys, "`auth.api_keys` must be a list of secret references").help("for example: [env:RAPPORT_API_KEY]");
    } else {
      for (const auto& item : keys) {
        if (auto s = secret(r, item, "auth.api_keys")) config.api_keys.push_back(std::move(*s));
      }
    }
  }
  if (const auto hub = node["hubspot"]; hub && r.keys(hub, {"client_secret", "max_age"}, "`auth.hubspot`")) {
    if (!hub["client_secret"]) {
      r.error(hub, "`auth.hubspot` needs `client_secret`, the app's client secret that signs webhooks")
          .help("client_secret: env:HUBSPOT_CLIENT_SECRET");
    } else if (auto s = secret(r, hub["client_secret"], "auth.hubspot.client_secret")) {
      HubspotWebhook h{std::move(*s)};
      if (hub["max_age"]) h.max_age_seconds = r.duration(hub["max_age"], "auth.hubspot.max_age", 3600).value_or(300);
      config.hubspot = std::move(h);
    }
  }
  if (const auto dyn = node["dynamics"]; dyn && r.keys(dyn, {"header", "query", "value"}, "`auth.dynamics`")) {
    if (dyn["header"] && dyn["query"]) r.error(dyn["query"], "give the key with one of `header` or `query`, not both");
    std::optional<std::string> name = "x-rapport-key";
    if (dyn["header"]) name = r.text(dyn["header"], "auth.dynamics.header");
    if (dyn["query"]) name = r.text(dyn["query"], "auth.dynamics.query");
    if (!dyn["value"]) {
      r.error(dyn, "`auth.dynamics` needs `value`, the key the service endpoint sends").help("value: env:DATAVERSE_WEBHOOK_KEY");
    } else if (auto s = secret(r, dyn["value"], "auth.dynamics.value"); s && name) {
      DynamicsWebhook d{*name, static_cast<bool>(dyn["query"]), std::move(*s)};
      if (!d.query_string) {
        for (auto& c : d.header) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      config.dynamics = std::move(d);
    }
  }
  if (const auto sf = node["salesforce"]; sf && r.keys(sf, {"bearer"}, "`auth.salesforce`")) {
    if (!sf["bearer"]) {
      r.error(sf, "`auth.salesforce` needs `bearer`, the token the Named Credential sends").help("bearer: env:SALESFORCE_WEBHOOK_TOKEN");
    } else if (auto s = secret(r, sf["bearer"], "auth.salesforce.bearer")) {
      config.salesforce = SalesforceWebhook{std::move(*s)};
    }
  }
  if (node["replay_window"]) {
    if (auto t = r.duration(node["replay_window"], "auth.replay_window", 86400)) config.replay_window_seconds = *t;
  }
}

}  // namespace

http::ClientOptions writeback_client_options() {
  http::ClientOptions options;
  options.connect_timeout = std::chrono::seconds(5);
  options.total_timeout = std::chrono::seconds(10);
  options.retry.max_retries = 2;
  options.retry.backoff_base = std::chrono::milliseconds(200);
  options.retry.backoff_cap = std::chrono::milliseconds(400);
  options.retry.max_retry_after = std::chrono::seconds(2);
  return options;
}

std::optional<Config> load_config(const std::string& path, diag::DiagnosticSink& sink) {
  diag::SourceFilePtr file;
  auto root = yamlio::load_yaml(path, file, sink);
  if (!root) return std::nullopt;
  std::size_t errors_before = sink.error_count();
  fs::path base = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : fs::path(".");
  Reader r(file, sink, base, Code::ServeConfig);
  Config config;
  config.path = path;
  if (!root->IsMap()) {
    sink.error(Code::ServeConfig, file, span_of(*root, *file), "a serve file is a map of settings")
        .help("start with `packs:` and `data:`; see docs/serve.md");
    return std::nullopt;
  }
  const YAML::Node& n = *root;
  r.keys(n, {"version", "listen", "data", "source", "packs", "params", "set", "as_of", "reload", "limits", "log_format", "auth",
            "writeback"},
         "the serve file");
  if (n["version"] && !(n["version"].IsScalar() && n["version"].Scalar() == "1")) {
    r.error(n["version"], "this Rapport reads serve files of `version: 1`");
  }
  if (n["listen"]) read_listen(r, n["listen"], config);
  if (n["data"] && n["source"]) {
    r.error(n["source"], "give the snapshot's data with one of `data` (a folder of files) or `source` (a CRM source file), not both");
  } else if (n["data"]) {
    if (auto p = r.path(n["data"], "data")) config.data_dir = *p;
  } else if (n["source"]) {
    if (auto p = r.path(n["source"], "source")) config.source_file = *p;
  } else {
    r.error(n, "say where the snapshot's data comes from: `data: FOLDER` (canonical files) or `source: source.yaml` (a CRM)");
  }
  if (n["packs"]) {
    config.packs = r.paths(n["packs"], "packs", "[../rulesets/portfolio]");
    if (config.packs.empty() && n["packs"].IsSequence()) r.error(n["packs"], "`packs` lists no rule pack");
  } else {
    r.error(n, "name the rule packs to serve: `packs: [../rulesets/portfolio]`");
  }
  if (n["params"]) config.param_files = r.paths(n["params"], "params", "[../rulesets/portfolio]");
  if (const auto set = n["set"]) {
    config.sets = r.parameter_sets(set, "set: { dunbar_limit: 120 }", "for example: commercial_topics: \"[discount, pricing]\"");
  }
  if (n["as_of"]) config.as_of = r.text(n["as_of"], "as_of");
  if (n["reload"]) read_reload(r, n["reload"], config);
  if (n["limits"]) read_limits(r, n["limits"], config);
  if (n["log_format"]) {
    if (auto f = r.choice(n["log_format"], "log_format", {"text", "json"})) {
      config.log_format = *f == "json" ? LogFormat::Json : LogFormat::Text;
    }
  }
  if (n["auth"]) read_auth(r, n["auth"], config);
  if (const auto writeback = n["writeback"]) {
    nightly::read_writeback(r, writeback, config.writeback);
    // Webhook changes come from the CRM, but the data files don't say which one to write to.
    if (config.writeback.mode != nightly::WritebackMode::Off && !config.writeback.source && writeback.IsMap()) {
      r.error(writeback["mode"], "write-back needs a CRM: name it with `source`, a source file as `rapport fetch` reads")
          .help("for example: writeback: { mode: dry-run, source: salesforce.yaml, flag_field: Rapport_Flags__c }; "
                "or set `mode: off`");
    } else if (config.writeback.mode != nightly::WritebackMode::Off && config.writeback.source) {
      // The source file's own mistakes now, at start, rather than at the first webhook.
      auto source = source::load_source(*config.writeback.source, sink);
      if (source && source->kind == source::Kind::Files) {
        r.error(writeback["source"], "`writeback.source` is a files source: there is no CRM to write to")
            .help("name a salesforce, hubspot or dynamics source file");
      }
    }
  }
  if (sink.error_count() > errors_before) return std::nullopt;
  return config;
}

}  // namespace rapport::serve
