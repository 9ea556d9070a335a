// Chat webhook bodies summarising a run: Slack (incoming webhook: fallback text plus Block Kit
// blocks) and Microsoft Teams (an Office 365 connector MessageCard).

#include "engine/output.hpp"
#include "reports/json_writer.hpp"
#include "reports/markup.hpp"
#include "reports/render.hpp"
#include "reports/summary.hpp"

namespace rapport::reports {

namespace {

using engine::with_thousands;

constexpr std::size_t kTopRules = 5;
constexpr std::size_t kSlackHeaderLimit = 150;  // Block Kit: header text is at most 150 characters

/// Slack's control characters in mrkdwn and plain text: &, < and > must be entities.
std::string slack_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

/// At most `limit` code points, the last one an ellipsis when the text is cut.
std::string truncate(std::string_view text, std::size_t limit) {
  std::vector<std::size_t> starts;  // byte offset of each code point
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  if (starts.size() <= limit) return std::string(text);
  return std::string(text.substr(0, starts[limit - 1])) + "…";
}

std::string run_title(const RunReport& report) { return report.title.empty() ? "Rapport run" : report.title; }

/// "Acme nightly check: 12 open (3 new), 2 resolved, 1 waived"
std::string fallback_text(const RunReport& report, const RunCounts& counts) {
  return run_title(report) + ": " + with_thousands(counts.open()) + " open (" + with_thousands(counts.new_findings) +
         " new), " + with_thousands(counts.resolved) + " resolved, " + with_thousands(counts.waived) + " waived";
}

/// The rules with the most open findings.
std::vector<FindingGroup> top_rules(const RunReport& report) {
  std::vector<FindingGroup> rules = group_by_rule(report);
  std::erase_if(rules, [](const FindingGroup& g) { return g.open == 0; });
  if (rules.size() > kTopRules) rules.resize(kTopRules);
  return rules;
}

std::string context_line(const RunReport& report) {
  return "As of " + report.as_of + " · " + with_thousands(report.records) + " records · Rapport " + report.rapport_version;
}

std::string render_slack(const RunReport& report, const RunCounts& counts, const std::string& url) {
  JsonWriter json;
  json.begin_object().member("text", slack_escape(fallback_text(report, counts)));
  json.key("blocks").begin_array();
  json.begin_object().member("type", "header");
  json.key("text").begin_object().member("type", "plain_text").member("text", truncate(run_title(report), kSlackHeaderLimit));
  json.end().end();

  json.begin_object().member("type", "section").key("fields").begin_array();
  auto field = [&json](std::string_view label, std::size_t n) {
    json.begin_object().member("type", "mrkdwn").member("text", "*" + std::string(label) + "*\n" + with_thousands(n)).end();
  };
  field("New", counts.new_findings);
  field("Open", counts.open());
  field("Resolved", counts.resolved);
  field("Waived", counts.waived);
  json.end().end();

  std::string severity = "*By severity:* " + engine::severity_counts(open_findings(report));
  json.begin_object().member("type", "section");
  json.key("text").begin_object().member("type", "mrkdwn").member("text", severity).end().end();

  auto rules = top_rules(report);
  if (!rules.empty()) {
    std::string text = "*Top rules*";
    for (const auto& g : rules) {
      text += "\n• `" + slack_escape(g.key) + "` " + slack_escape(g.label) + " — " + with_thousands(g.open) + " open (" +
              with_thousands(g.new_findings) + " new)";
    }
    json.begin_object().member("type", "section");
    json.key("text").begin_object().member("type", "mrkdwn").member("text", text).end().end();
  }

  json.begin_object().member("type", "context").key("elements").begin_array();
  json.begin_object().member("type", "mrkdwn").member("text", slack_escape(context_line(report))).end();
  json.end().end();

  if (!url.empty()) {
    json.begin_object().member("type", "actions").key("elements").begin_array().begin_object().member("type", "button");
    json.key("text").begin_object().member("type", "plain_text").member("text", "Open the report").end();
    json.member("url", url).end().end().end();
  }
  return json.end().end().str();
}

std::string render_teams(const RunReport& report, const RunCounts& counts, const std::string& url) {
  auto worst = worst_open_severity(report);
  std::string color(worst ? severity_color(*worst).substr(1) : "2f855a");  // green when nothing is open
  JsonWriter json;
  json.begin_object()
      .member("@type", "MessageCard")
      .member("@context", "https://schema.org/extensions")
      .member("summary", fallback_text(report, counts))
      .member("themeColor", color)
      .member("title", run_title(report));
  json.key("sections").begin_array().begin_object().member("activitySubtitle", context_line(report));
  json.key("facts").begin_array();
  auto fact = [&json](std::string_view name, const std::string& value) {
    json.begin_object().member("name", name).member("value", value).end();
  };
  fact("New", with_thousands(counts.new_findings));
  fact("Open", with_thousands(counts.open()));
  fact("Resolved", with_thousands(counts.resolved));
  fact("Waived", with_thousands(counts.waived));
  fact("By severity", engine::severity_counts(open_findings(report)));
  json.end();
  auto rules = top_rules(report);
  if (!rules.empty()) {
    std::string text = "**Top rules**";
    for (const auto& g : rules) {
      text += "<br>" + markup_escape(g.key) + " " + markup_escape(g.label) + ": " + with_thousands(g.open) + " open (" +
              with_thousands(g.new_findings) + " new)";
    }
    json.member("text", text);
  }
  json.end().end();
  if (!url.empty()) {
    json.key("potentialAction").begin_array().begin_object();
    json.member("@type", "OpenUri").member("name", "Open the report");
    json.key("targets").begin_array().begin_object().member("os", "default").member("uri", url).end().end();
    json.end().end();
  }
  return json.end().str();
}

}  // namespace

std::string render_webhook(const RunReport& report, WebhookFormat format, const std::string& report_url) {
  RunCounts counts = count_findings(report);
  return format == WebhookFormat::Slack ? render_slack(report, counts, report_url)
                                        : render_teams(report, counts, report_url);
}

}  // namespace rapport::reports
