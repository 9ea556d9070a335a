// The report renderers on small hand-made runs: exact output where the format is the contract
// (CSV, JUnit, escaping), structure where it is parsed by tools (JSON, SARIF, webhooks), and the
// edge cases: an empty run, a first run, waived and resolved findings, hostile characters.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "reports/markup.hpp"
#include "reports/render.hpp"

namespace rapport::reports {
namespace {

using dsl::Severity;
namespace json = boost::json;

ReportFinding finding(std::string rule, Severity severity, std::string id, std::string name, Status status,
                      std::string owner) {
  ReportFinding rf;
  rf.finding.pack = "portfolio";
  rf.finding.pack_version = "1.0.0";
  rf.finding.rule = std::move(rule);
  rf.finding.title = "Title of " + rf.finding.rule;
  rf.finding.severity = rf.finding.base_severity = severity;
  rf.finding.subject_entity = "accounts";
  rf.finding.subject_id = std::move(id);
  rf.finding.subject_name = std::move(name);
  rf.finding.message = "message for " + rf.finding.subject_id;
  rf.finding.remedy = "fix " + rf.finding.subject_id;
  rf.status = status;
  rf.first_seen = status == Status::New ? "2026-11-22T00:00:00Z" : "2026-11-01T00:00:00Z";
  rf.owner_id = std::move(owner);
  if (!rf.owner_id.empty()) {
    rf.team = "Enterprise";
    rf.region = "EMEA";
  }
  return rf;
}

RuleInfo rule(std::string id, Severity severity, unsigned line, bool enabled = true) {
  RuleInfo r;
  r.pack = "portfolio";
  r.pack_version = "1.0.0";
  r.id = std::move(id);
  r.title = "Title of " + r.id;
  r.rationale = "Because " + r.id;
  r.severity = severity;
  r.tags = {"ownership"};
  r.enabled = enabled;
  r.file = "rules/portfolio.rules";
  r.line = line;
  r.column = 1;
  return r;
}

/// Two rules with findings (one new, one still open, one waived), a disabled rule, a resolved
/// finding and a subject name full of markup.
RunReport small_report() {
  RunReport report;
  report.rapport_version = "0.1.0";
  report.run_id = "run-1";
  report.run_at = "2026-11-22T02:00:05Z";
  report.as_of = "2026-11-22T00:00:00Z";
  report.title = "Acme nightly";
  report.first_run = false;
  report.packs = {{"portfolio", "1.0.0"}};
  report.records = 1234;
  report.rules = {rule("no-owner", Severity::Critical, 3), rule("stale", Severity::Medium, 10),
                  rule("disabled-rule", Severity::Low, 20, false)};
  report.people = {{"u-1", "Zoë <Admin> & \"Co\"", "zoe@acme.example", "Enterprise", "EMEA", "am"},
                   {"u-2", "Bob", "bob@acme.example", "Growth", "APAC", "am"}};
  report.waivers = {{"stale", "acc-3", "Client asked <politely>", "cro", "2026-12-31", "waivers.yaml:2:3"}};
  report.findings = {finding("no-owner", Severity::Critical, "acc-1", "Acme <script>\"x\"</script> & Co", Status::New, "u-1"),
                     finding("stale", Severity::Medium, "acc-2", "Globex", Status::Open, "u-1"),
                     finding("stale", Severity::Medium, "acc-3", "", Status::Waived, "u-2")};
  report.findings[2].waiver = 0;
  ResolvedFinding resolved;
  resolved.fingerprint = "fp-acc-9";
  resolved.pack = "portfolio";
  resolved.rule = "stale";
  resolved.title = "Title of stale";
  resolved.severity = Severity::Medium;
  resolved.subject_entity = "accounts";
  resolved.subject_id = "acc-9";
  resolved.subject_name = "Initech";
  resolved.owner_id = "u-1";
  resolved.first_seen = "2026-11-01T00:00:00Z";
  report.resolved = {resolved};
  report.portfolios = {{"u-1", "Zoë <Admin> & \"Co\"", "Enterprise", "EMEA", 160, 3}, {"u-2", "Bob", "Growth", "APAC", 40, 1}};
  report.trend = {{"2026-11-21T02:00:00Z", "2026-11-21T00:00:00Z", 3, {}, 1, 0, 1},
                  {"2026-11-22T02:00:05Z", "2026-11-22T00:00:00Z", 2, {}, 1, 1, 1}};
  return report;
}

RunReport empty_report() {
  RunReport report;
  report.rapport_version = "0.1.0";
  report.run_id = "run-0";
  report.run_at = "2026-11-22T02:00:05Z";
  report.as_of = "2026-11-22T00:00:00Z";
  report.title = "Empty";
  return report;
}

TEST(ReportMarkup, EscapesEverythingMarkupCouldMisread) {
  EXPECT_EQ(markup_escape("a<b>&\"c\" 'd'\n\te\r"), "a&lt;b&gt;&amp;&quot;c&quot; &#39;d&#39;&#10;&#9;e&#13;");
  EXPECT_EQ(markup_escape("Zoë"), "Zoë");
  EXPECT_EQ(markup_escape(std::string("bad\xff") + "\x01"), "bad\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(script_safe_json("{\"a\": \"</script><!-- & \xE2\x80\xA8\"}"),
            "{\"a\": \"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028\"}");
  EXPECT_EQ(markdown_escape("*bold* <b> a|b\nnext"), "\\*bold\\* \\<b\\> a\\|b next");
  EXPECT_EQ(uri_path("rules/my pack/ü.rules"), "rules/my%20pack/%C3%BC.rules");
}

/// A small_report() finding's fingerprint.
std::string fingerprint_of(const std::string& rule, const std::string& id) {
  return engine::fingerprint("portfolio", rule, "accounts", id);
}

TEST(ReportCsv, OneRowPerFindingWithStatusThenResolved) {
  EXPECT_EQ(render_run_csv(small_report()),
            "status,severity,pack,rule,subject_entity,subject_id,subject_name,message,remedy,owner_id,owner_name,team,"
            "region,first_seen,waiver_reason,fingerprint\r\n"
            "new,critical,portfolio,no-owner,accounts,acc-1,\"Acme <script>\"\"x\"\"</script> & Co\",message for acc-1,"
            "fix acc-1,u-1,\"Zoë <Admin> & \"\"Co\"\"\",Enterprise,EMEA,2026-11-22T00:00:00Z,," +
                fingerprint_of("no-owner", "acc-1") +
                "\r\n"
                "open,medium,portfolio,stale,accounts,acc-2,Globex,message for acc-2,fix acc-2,u-1,\"Zoë <Admin> & "
                "\"\"Co\"\"\",Enterprise,EMEA,2026-11-01T00:00:00Z,," +
                fingerprint_of("stale", "acc-2") +
                "\r\n"
                "waived,medium,portfolio,stale,accounts,acc-3,,message for acc-3,fix acc-3,u-2,Bob,Enterprise,EMEA,"
                "2026-11-01T00:00:00Z,Client asked <politely>," +
                fingerprint_of("stale", "acc-3") +
                "\r\n"
                "resolved,medium,portfolio,stale,accounts,acc-9,Initech,,,u-1,\"Zoë <Admin> & \"\"Co\"\"\",Enterprise,"
                "EMEA,2026-11-01T00:00:00Z,,fp-acc-9\r\n");
}

TEST(ReportJunit, FailsRulesWithOpenFindingsListingSubjects) {
  EXPECT_EQ(render_junit(small_report()),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuites name=\"Acme nightly\" tests=\"3\" failures=\"2\" errors=\"0\">\n"
            "  <testsuite name=\"portfolio\" tests=\"3\" failures=\"2\" errors=\"0\" skipped=\"1\" "
            "timestamp=\"2026-11-22T02:00:05Z\">\n"
            "    <properties>\n"
            "      <property name=\"pack_version\" value=\"1.0.0\"/>\n"
            "      <property name=\"as_of\" value=\"2026-11-22T00:00:00Z\"/>\n"
            "    </properties>\n"
            "    <testcase classname=\"portfolio\" name=\"no-owner\" file=\"rules/portfolio.rules\" line=\"3\">\n"
            "      <failure message=\"1 finding\" type=\"critical\">\n"
            "accounts/acc-1 Acme &lt;script&gt;&quot;x&quot;&lt;/script&gt; &amp; Co [new]: message for acc-1\n"
            "</failure>\n"
            "    </testcase>\n"
            "    <testcase classname=\"portfolio\" name=\"stale\" file=\"rules/portfolio.rules\" line=\"10\">\n"
            "      <failure message=\"1 finding\" type=\"medium\">\n"
            "accounts/acc-2 Globex [open]: message for acc-2\n"
            "</failure>\n"
            "    </testcase>\n"
            "    <testcase classname=\"portfolio\" name=\"disabled-rule\" file=\"rules/portfolio.rules\" line=\"20\">\n"
            "      <skipped message=\"rule disabled\"/>\n"
            "    </testcase>\n"
            "  </testsuite>\n"
            "</testsuites>\n");
}

TEST(ReportJunit, RuleWithOnlyWaivedFindingsPasses) {
  RunReport report = small_report();
  report.findings.erase(report.findings.begin(), report.findings.begin() + 2);
  std::string xml = render_junit(report);
  EXPECT_NE(xml.find("failures=\"0\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"stale\" file=\"rules/portfolio.rules\" line=\"10\"/>"), std::string::npos) << xml;
}

TEST(ReportJunit, EmptyRun) {
  EXPECT_EQ(render_junit(empty_report()),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"Empty\" tests=\"0\" failures=\"0\" "
            "errors=\"0\">\n</testsuites>\n");
}

TEST(ReportRunJson, CarriesStatusOwnerWaiverAndSummary) {
  RunReport report = small_report();
  std::string text = render_run_json(report);
  EXPECT_EQ(text, render_run_json(report)) << "deterministic";
  json::value doc = json::parse(text);
  EXPECT_EQ(doc.at("schema"), "rapport.run/1");
  const auto& summary = doc.at("summary");
  EXPECT_EQ(summary.at("open").as_int64(), 2);
  EXPECT_EQ(summary.at("new").as_int64(), 1);
  EXPECT_EQ(summary.at("still_open").as_int64(), 1);
  EXPECT_EQ(summary.at("waived").as_int64(), 1);
  EXPECT_EQ(summary.at("resolved").as_int64(), 1);
  EXPECT_EQ(summary.at("by_severity").at("critical").as_int64(), 1);
  const auto& findings = doc.at("findings").as_array();
  ASSERT_EQ(findings.size(), 3u);
  EXPECT_EQ(findings[0].at("status"), "new");
  EXPECT_EQ(findings[0].at("subject").at("name"), "Acme <script>\"x\"</script> & Co");
  EXPECT_EQ(findings[0].at("owner").at("name"), "Zoë <Admin> & \"Co\"");
  EXPECT_TRUE(findings[0].at("waiver").is_null());
  EXPECT_EQ(findings[2].at("status"), "waived");
  EXPECT_EQ(findings[2].at("waiver").as_int64(), 0);
  EXPECT_EQ(doc.at("rules").at(0).at("location").at("line").as_int64(), 3);
  EXPECT_EQ(doc.at("waivers").at("in_force").at(0).at("reason"), "Client asked <politely>");
  EXPECT_EQ(doc.at("resolved").at(0).at("owner").at("id"), "u-1");
  EXPECT_EQ(doc.at("portfolios").at("dunbar_line").as_int64(), 150);
  EXPECT_EQ(doc.at("trend").as_array().size(), 2u);
}

TEST(ReportRunJson, EmptyRunHasEveryMember) {
  json::value doc = json::parse(render_run_json(empty_report()));
  EXPECT_TRUE(doc.at("findings").as_array().empty());
  EXPECT_TRUE(doc.at("resolved").as_array().empty());
  EXPECT_EQ(doc.at("summary").at("open").as_int64(), 0);
  EXPECT_TRUE(doc.at("first_run").as_bool());
}

TEST(ReportSarif, RulesResultsBaselineAndSuppressions) {
  json::value doc = json::parse(render_sarif(small_report()));
  EXPECT_EQ(doc.at("version"), "2.1.0");
  EXPECT_EQ(doc.at("$schema"), "https://json.schemastore.org/sarif-2.1.0.json");
  const auto& run = doc.at("runs").at(0);
  const auto& driver = run.at("tool").at("driver");
  EXPECT_EQ(driver.at("name"), "Rapport");
  const auto& rules = driver.at("rules").as_array();
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].at("id"), "no-owner");
  EXPECT_EQ(rules[0].at("name"), "NoOwner");
  EXPECT_EQ(rules[0].at("shortDescription").at("text"), "Title of no-owner");
  EXPECT_EQ(rules[0].at("fullDescription").at("text"), "Because no-owner");
  EXPECT_EQ(rules[0].at("defaultConfiguration").at("level"), "error");
  EXPECT_EQ(rules[1].at("defaultConfiguration").at("level"), "warning");
  EXPECT_EQ(rules[2].at("defaultConfiguration").at("level"), "note");
  EXPECT_FALSE(rules[2].at("defaultConfiguration").at("enabled").as_bool());
  const auto& properties = rules[1].at("properties");
  EXPECT_EQ(properties.at("definition"), "rules/portfolio.rules:10:1");
  EXPECT_EQ(properties.at("definitionLocation").at("region").at("startLine").as_int64(), 10);
  EXPECT_EQ(properties.at("definitionLocation").at("artifactLocation").at("index").as_int64(), 0);
  EXPECT_EQ(run.at("artifacts").at(0).at("location").at("uri"), "rules/portfolio.rules");

  const auto& results = run.at("results").as_array();
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].at("ruleId"), "no-owner");
  EXPECT_EQ(results[0].at("ruleIndex").as_int64(), 0);
  EXPECT_EQ(results[0].at("level"), "error");
  EXPECT_EQ(results[0].at("baselineState"), "new");
  const auto& logical = results[0].at("locations").at(0).at("logicalLocations").at(0);
  EXPECT_EQ(logical.at("name"), "acc-1");
  EXPECT_EQ(logical.at("fullyQualifiedName"), "accounts/acc-1");
  EXPECT_EQ(logical.at("kind"), "object");
  EXPECT_EQ(results[0].at("partialFingerprints").at("rapport/v1").as_string(), fingerprint_of("no-owner", "acc-1"));
  EXPECT_EQ(results[0].at("properties").at("remedy"), "fix acc-1");
  EXPECT_FALSE(results[0].as_object().contains("suppressions"));
  EXPECT_EQ(results[1].at("baselineState"), "unchanged");
  EXPECT_EQ(results[2].at("baselineState"), "unchanged");
  const auto& suppression = results[2].at("suppressions").at(0);
  EXPECT_EQ(suppression.at("kind"), "external");
  EXPECT_EQ(suppression.at("status"), "accepted");
  EXPECT_EQ(suppression.at("justification"), "Client asked <politely>");
  EXPECT_EQ(results[3].at("baselineState"), "absent");
  EXPECT_EQ(results[3].at("ruleIndex").as_int64(), 1);
}

TEST(ReportSarif, FirstRunMarksEverythingNew) {
  RunReport report = small_report();
  report.first_run = true;
  report.resolved.clear();
  for (auto& f : report.findings) {
    if (f.status == Status::Open) f.status = Status::New;
    f.first_seen = report.as_of;
  }
  json::value doc = json::parse(render_sarif(report));
  for (const auto& result : doc.at("runs").at(0).at("results").as_array()) EXPECT_EQ(result.at("baselineState"), "new");
}

TEST(ReportSarif, EmptyRun) {
  json::value doc = json::parse(render_sarif(empty_report()));
  EXPECT_TRUE(doc.at("runs").at(0).at("results").as_array().empty());
  EXPECT_TRUE(doc.at("runs").at(0).at("tool").at("driver").at("rules").as_array().empty());
}

TEST(ReportHtml, SelfContainedAndEscaped) {
  std::string page = render_html(small_report());
  EXPECT_EQ(page, render_html(small_report())) << "deterministic";
  EXPECT_EQ(page.find("http://", page.find("<body")), page.find("http://www.w3.org/2000/svg", page.find("<body")));
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find("<script>\"x\""), std::string::npos) << "subject names are escaped";
  EXPECT_NE(page.find("Acme &lt;script&gt;&quot;x&quot;&lt;/script&gt; &amp; Co"), std::string::npos);
  // The embedded data cannot close its script element early.
  std::size_t data = page.find("<script type=\"application/json\" id=\"report-data\">");
  ASSERT_NE(data, std::string::npos);
  std::size_t data_end = page.find("</script>", data);
  EXPECT_EQ(page.substr(data, data_end - data).find("<", 1), std::string::npos);
  EXPECT_NE(page.find("Zo\xC3\xAB \\u003cAdmin\\u003e \\u0026 \\\"Co\\\"", data), std::string::npos);
  EXPECT_NE(page.find("data-managers=\"2\""), std::string::npos);
  EXPECT_NE(page.find("data-trend-points=\"2\""), std::string::npos);
  EXPECT_NE(page.find("<tr data-severity=\"critical\" data-status=\"new\" data-team=\"Enterprise\" data-region=\"EMEA\">"),
            std::string::npos);
  EXPECT_NE(page.find("1 above the Dunbar line of 150 accounts"), std::string::npos);
}

TEST(ReportHtml, LargeRunsListTheFirstRowsAndPointToTheFullReports) {
  RunReport report = small_report();
  report.findings.clear();
  for (int i = 0; i < 2500; ++i) {
    report.findings.push_back(finding("r", Severity::High, "acc-" + std::to_string(i), "", Status::New, ""));
  }
  std::string html = render_html(report);
  std::size_t rows = 0;
  for (std::size_t at = 0; (at = html.find("<tr data-severity=", at)) != std::string::npos; ++at) ++rows;
  EXPECT_EQ(rows, 2000u);
  EXPECT_NE(html.find("The table lists the first 2,000 of 2,500 findings, highest severity first; findings.csv and "
                      "findings.json have them all."),
            std::string::npos);
  EXPECT_EQ(render_html(small_report()).find("The table lists the first"), std::string::npos);
}

TEST(ReportHtml, EmptyRunSaysSo) {
  std::string page = render_html(empty_report());
  EXPECT_NE(page.find("No open or waived findings."), std::string::npos);
  EXPECT_NE(page.find("Nothing was resolved."), std::string::npos);
  EXPECT_NE(page.find("data-managers=\"0\""), std::string::npos);
}

TEST(ReportDigest, OwnersOpenFindingsNewFirstThenResolved) {
  RunReport report = small_report();
  EXPECT_EQ(digest_recipients(report), (std::vector<std::string>{"u-1"})) << "u-2's only finding is waived";
  std::string md = render_digest_markdown(report, report.people[0]);
  EXPECT_EQ(md,
            "# Your Acme nightly digest\n\n"
            "Hello Zoë \\<Admin\\> \\& \"Co\",\n\n"
            "the check as of 2026-11-22T00:00:00Z found 2 open findings for you, 1 of them new.\n\n"
            "## New (1)\n\n"
            "### Title of no-owner — Acme \\<script\\>\"x\"\\</script\\> \\& Co (acc-1)\n\n"
            "**critical** · `accounts/acc-1` · since 2026-11-22\n\n"
            "message for acc-1\n\n"
            "**Remedy:** fix acc-1\n\n"
            "## Still open (1)\n\n"
            "### Title of stale — Globex (acc-2)\n\n"
            "**medium** · `accounts/acc-2` · since 2026-11-01\n\n"
            "message for acc-2\n\n"
            "**Remedy:** fix acc-2\n\n"
            "## Resolved since the last run (1)\n\n"
            "- Title of stale — Initech (acc-9)\n\n"
            "---\n\n"
            "Acme nightly · run run-1 at 2026-11-22T02:00:05Z · as of 2026-11-22T00:00:00Z · packs portfolio 1.0.0 · "
            "1,234 records · Rapport 0.1.0\n");
}

TEST(ReportDigest, HtmlIsAnEmailBody) {
  RunReport report = small_report();
  std::string html = render_digest_html(report, report.people[0]);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<style"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_NE(html.find("Hello Zoë &lt;Admin&gt; &amp; &quot;Co&quot;,"), std::string::npos);
  EXPECT_LT(html.find("Title of no-owner"), html.find("Title of stale"));
  EXPECT_NE(html.find("Initech (acc-9)"), std::string::npos);
}

TEST(ReportDigest, NothingOpen) {
  RunReport report = small_report();
  std::string md = render_digest_markdown(report, report.people[1]);
  EXPECT_NE(md.find("found nothing is open for you."), std::string::npos);
  EXPECT_EQ(md.find("## New"), std::string::npos);
}

TEST(ReportWebhook, SlackBlocks) {
  json::value doc = json::parse(render_webhook(small_report(), WebhookFormat::Slack, "https://r.example/run?a=1&b=2"));
  EXPECT_EQ(doc.at("text"), "Acme nightly: 2 open (1 new), 1 resolved, 1 waived");
  const auto& blocks = doc.at("blocks").as_array();
  EXPECT_EQ(blocks.front().at("type"), "header");
  EXPECT_EQ(blocks.front().at("text").at("text"), "Acme nightly");
  EXPECT_EQ(blocks[1].at("fields").at(0).at("text"), "*New*\n1");
  EXPECT_EQ(blocks[2].at("text").at("text"), "*By severity:* 1 critical, 1 medium");
  EXPECT_EQ(blocks[3].at("text").at("text"),
            "*Top rules*\n• `portfolio/no-owner` Title of no-owner — 1 open (1 new)\n"
            "• `portfolio/stale` Title of stale — 1 open (0 new)");
  EXPECT_EQ(blocks.back().at("type"), "actions");
  EXPECT_EQ(blocks.back().at("elements").at(0).at("url"), "https://r.example/run?a=1&b=2");
  json::value without = json::parse(render_webhook(small_report(), WebhookFormat::Slack, ""));
  EXPECT_EQ(without.at("blocks").as_array().back().at("type"), "context");
}

TEST(ReportWebhook, TeamsMessageCard) {
  json::value doc = json::parse(render_webhook(small_report(), WebhookFormat::Teams, "https://r.example/run"));
  EXPECT_EQ(doc.at("@type"), "MessageCard");
  EXPECT_EQ(doc.at("@context"), "https://schema.org/extensions");
  EXPECT_EQ(doc.at("summary"), "Acme nightly: 2 open (1 new), 1 resolved, 1 waived");
  EXPECT_EQ(doc.at("themeColor"), "8e1b5c") << "the worst open severity is critical";
  EXPECT_EQ(doc.at("title"), "Acme nightly");
  const auto& facts = doc.at("sections").at(0).at("facts").as_array();
  EXPECT_EQ(facts[0].at("name"), "New");
  EXPECT_EQ(facts[0].at("value"), "1");
  const auto& action = doc.at("potentialAction").at(0);
  EXPECT_EQ(action.at("@type"), "OpenUri");
  EXPECT_EQ(action.at("targets").at(0).at("uri"), "https://r.example/run");
  json::value empty = json::parse(render_webhook(empty_report(), WebhookFormat::Teams, ""));
  EXPECT_EQ(empty.at("themeColor"), "2f855a");
  EXPECT_FALSE(empty.as_object().contains("potentialAction"));
}

}  // namespace
}  // namespace rapport::reports
