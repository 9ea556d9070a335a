#pragma once
// Every report one nightly run writes, rendered from a RunReport. Pure functions: no I/O.

#include <string>
#include <vector>

#include "reports/run_report.hpp"

namespace rapport::reports {

/// The schema id of the run JSON; bump it when the shape changes (docs/schemas/run-1.schema.json).
inline constexpr const char* kRunSchema = "rapport.run/1";

/// The run as one JSON document: run facts, summary (counts by status and severity), rules,
/// findings (each `finding_json` plus status, first_seen, owner, waiver), resolved, waivers
/// (in force, expired, unused) and the trend. Deterministic byte for byte.
std::string render_run_json(const RunReport& report);
/// One row per open or waived finding with its status and owner, then one per resolved finding.
std::string render_run_csv(const RunReport& report);
/// JUnit XML: a <testsuite> per pack, a <testcase> per rule; a rule with open findings fails and
/// its <failure> lists the subjects; disabled rules are <skipped/>.
std::string render_junit(const RunReport& report);
/// SARIF 2.1.0: one run whose tool.driver.rules are the rules (with their rule-file locations);
/// results carry logical locations for the CRM records, partialFingerprints, baselineState
/// (new / unchanged / absent for resolved) and suppressions for waived findings.
std::string render_sarif(const RunReport& report);
/// A self-contained HTML page (no network: styles, data and scripts inline): summary, findings by
/// rule, severity, team and region, the portfolio chart against the Dunbar line, the trend.
std::string render_html(const RunReport& report);

/// One account manager's digest: their own open findings (new first) with remedies, what was
/// resolved for them since the previous run, as Markdown and as a self-contained HTML e-mail body.
std::string render_digest_markdown(const RunReport& report, const Person& owner);
std::string render_digest_html(const RunReport& report, const Person& owner);
/// The ids of the people who get a digest: every owner of an open finding, sorted.
std::vector<std::string> digest_recipients(const RunReport& report);

/// The chat webhook's body summarising the run. Slack: {"text", "blocks"} (incoming webhooks);
/// Teams: a MessageCard (Office 365 connector / Workflows incoming webhook).
enum class WebhookFormat { Slack, Teams };
std::string render_webhook(const RunReport& report, WebhookFormat format, const std::string& report_url);

}  // namespace rapport::reports
