#include "nightly/waivers.hpp"

#include "diag/suggest.hpp"
#include "model/time.hpp"
#include "yamlio/yaml_diag.hpp"

namespace rapport::nightly {

using diag::Code;
using yamlio::span_of;

namespace {

constexpr double kDay = 86400;

std::string quote(std::string_view s) { return "`" + std::string(s) + "`"; }

std::optional<LoadedWaiver> read_waiver(const YAML::Node& item, const diag::SourceFilePtr& file, diag::DiagnosticSink& sink) {
  if (!item.IsMap()) {
    sink.error(Code::BadWaiver, file, span_of(item, *file), "a waiver is a map: rule, subject, reason, owner, expires")
        .help("for example: { rule: dunbar_portfolio_limit, subject: usr-000010, reason: ..., owner: ..., expires: 2026-12-31 }");
    return std::nullopt;
  }
  std::size_t errors = sink.error_count();
  const std::vector<std::string> keys = {"rule", "subject", "reason", "owner", "expires"};
  yamlio::check_keys(item, file, keys, "a waiver", sink);
  LoadedWaiver loaded;
  loaded.file = file;
  reports::Waiver& w = loaded.waiver;
  w.location = yamlio::place_of(item, *file);
  auto text = [&](const char* key, std::string& out, const char* hint) {
    const YAML::Node node = item[key];
    if (!node) {
      sink.error(Code::BadWaiver, file, span_of(item, *file), std::string("this waiver has no `") + key + "`").help(hint);
      return;
    }
    if (!node.IsScalar() || node.Scalar().empty()) {
      sink.error(Code::BadWaiver, file, span_of(node, *file), std::string("`") + key + "` must be text");
      return;
    }
    out = node.Scalar();
  };
  text("rule", w.rule, "name the rule id the waiver is for: `rule: dunbar_portfolio_limit`");
  text("subject", w.subject, "name the finding's subject id, or \"*\" for every subject of the rule");
  text("reason", w.reason, "say why the finding is accepted: people reading the report need to know");
  text("owner", w.owner, "say who granted the waiver (a name or an e-mail address)");
  text("expires", w.expires, "every waiver ends: `expires: 2026-12-31` (it applies through that day)");
  if (item["rule"]) loaded.rule_span = span_of(item["rule"], *file);
  if (item["expires"] && !w.expires.empty()) {
    loaded.expires_span = span_of(item["expires"], *file);
    bool date_only = w.expires.size() == 10;
    auto when = date_only ? model::parse_date_or_timestamp(w.expires) : std::nullopt;
    if (!when) {
      sink.error(Code::BadWaiver, file, loaded.expires_span, "`expires` must be a date (YYYY-MM-DD), got " + quote(w.expires));
    } else {
      loaded.expires_at = *when + kDay;
    }
  }
  if (sink.error_count() > errors) return std::nullopt;
  return loaded;
}

}  // namespace

std::optional<std::vector<LoadedWaiver>> load_waivers(const std::string& path, diag::DiagnosticSink& sink) {
  diag::SourceFilePtr file;
  auto root = yamlio::load_yaml(path, file, sink);
  if (!root) return std::nullopt;
  std::vector<LoadedWaiver> out;
  if (root->IsNull()) return out;  // an empty file waives nothing
  if (!root->IsMap() || !(*root)["waivers"]) {
    sink.error(Code::BadWaiver, file, span_of(*root, *file), "a waivers file is a map with a `waivers:` list")
        .help("waivers:\n  - { rule: RULE, subject: ID, reason: WHY, owner: WHO, expires: 2026-12-31 }");
    return std::nullopt;
  }
  yamlio::check_keys(*root, file, {"waivers"}, "the waivers file", sink);
  const YAML::Node list = (*root)["waivers"];
  if (list.IsNull()) return out;
  if (!list.IsSequence()) {
    sink.error(Code::BadWaiver, file, span_of(list, *file), "`waivers` must be a list of waivers");
    return std::nullopt;
  }
  std::size_t errors = sink.error_count();
  for (const auto& item : list) {
    if (auto w = read_waiver(item, file, sink)) out.push_back(std::move(*w));
  }
  if (sink.error_count() > errors) return std::nullopt;
  return out;
}

WaiverSplit split_waivers(std::vector<LoadedWaiver> waivers, double as_of, const std::vector<std::string>& rule_ids,
                          diag::DiagnosticSink& sink) {
  WaiverSplit split;
  for (auto& w : waivers) {
    bool known = false;
    for (const auto& id : rule_ids) known = known || id == w.waiver.rule;
    if (!known) {
      auto& d = sink.warning(Code::WaiverUnknownRule, w.file, w.rule_span,
                             "no pack of this run has a rule " + quote(w.waiver.rule) + ": the waiver matches nothing");
      if (auto s = diag::closest(w.waiver.rule, rule_ids)) d.help("did you mean " + quote(*s) + "?");
      else d.help("remove the waiver if its rule is gone");
    }
    if (as_of >= w.expires_at) {
      sink.warning(Code::WaiverExpired, w.file, w.expires_span,
                   "this waiver of " + quote(w.waiver.rule) + " for " + quote(w.waiver.subject) + " expired on " +
                       w.waiver.expires + ": its findings are reported again")
          .help("renew it with a new date if the reason still holds (" + w.waiver.owner + " granted it), or delete it");
      split.expired.push_back(std::move(w));
    } else {
      split.active.push_back(std::move(w));
    }
  }
  return split;
}

int match_waiver(const std::vector<LoadedWaiver>& active, std::string_view rule, std::string_view subject_id) {
  for (std::size_t i = 0; i < active.size(); ++i) {
    const auto& w = active[i].waiver;
    if (w.rule == rule && (w.subject == "*" || w.subject == subject_id)) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace rapport::nightly
