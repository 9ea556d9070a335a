// JUnit XML for CI dashboards: a <testsuite> per pack, a <testcase> per rule. A rule with open
// (not waived) findings fails; its <failure> lists the subjects. Validated against the Jenkins
// xunit plugin's junit-10.xsd (tests/data/schemas).

#include <algorithm>
#include <map>

#include "reports/markup.hpp"
#include "reports/render.hpp"
#include "reports/summary.hpp"

namespace rapport::reports {

namespace {

/// `name="value"` with the value escaped, preceded by a space.
std::string attribute(std::string_view name, std::string_view value) {
  return " " + std::string(name) + "=\"" + markup_escape(value) + "\"";
}

std::string attribute(std::string_view name, std::size_t value) { return attribute(name, std::to_string(value)); }

/// The open findings of one rule, in report order.
using FindingsByRule = std::map<std::pair<std::string, std::string>, std::vector<const ReportFinding*>>;

FindingsByRule open_findings_by_rule(const RunReport& report) {
  FindingsByRule out;
  for (const auto& f : report.findings) {
    if (is_open(f)) out[{f.finding.pack, f.finding.rule}].push_back(&f);
  }
  return out;
}

/// One line per subject, escaped: "accounts/acc-000123 Acme &amp; Co [new]: message".
std::string failure_body(const std::vector<const ReportFinding*>& findings) {
  std::string body;
  for (const ReportFinding* f : findings) {
    std::string line = f->finding.subject_entity + "/" + f->finding.subject_id;
    if (!f->finding.subject_name.empty()) line += " " + f->finding.subject_name;
    line += " [" + std::string(status_name(f->status)) + "]: " + f->finding.message;
    body += markup_escape(line) + "\n";
  }
  return body;
}

std::string testcase(const RuleInfo& rule, const std::vector<const ReportFinding*>* open) {
  std::string out = "    <testcase" + attribute("classname", rule.pack) + attribute("name", rule.id);
  if (!rule.file.empty()) out += attribute("file", rule.file) + attribute("line", std::size_t{rule.line});
  if (!rule.enabled) return out + ">\n      <skipped" + attribute("message", "rule disabled") + "/>\n    </testcase>\n";
  if (!open) return out + "/>\n";
  dsl::Severity worst = dsl::Severity::Info;
  for (const ReportFinding* f : *open) worst = std::max(worst, f->finding.severity);
  return out + ">\n      <failure" + attribute("message", count_noun(open->size(), "finding", "findings")) +
         attribute("type", dsl::severity_name(worst)) + ">\n" + failure_body(*open) +
         "</failure>\n    </testcase>\n";
}

}  // namespace

std::string render_junit(const RunReport& report) {
  FindingsByRule open = open_findings_by_rule(report);
  // Packs in the order their rules come, each with its rules.
  std::vector<std::string> pack_order;
  std::map<std::string, std::vector<const RuleInfo*>> rules_of;
  for (const auto& r : report.rules) {
    if (!rules_of.count(r.pack)) pack_order.push_back(r.pack);
    rules_of[r.pack].push_back(&r);
  }
  std::string suites;
  std::size_t total_tests = 0;
  std::size_t total_failures = 0;
  for (const auto& pack : pack_order) {
    std::string cases;
    std::size_t failures = 0;
    std::size_t skipped = 0;
    for (const RuleInfo* rule : rules_of[pack]) {
      auto it = open.find({rule->pack, rule->id});
      const auto* findings = it == open.end() ? nullptr : &it->second;
      if (!rule->enabled) ++skipped;
      else if (findings) ++failures;
      cases += testcase(*rule, findings);
    }
    std::size_t tests = rules_of[pack].size();
    total_tests += tests;
    total_failures += failures;
    suites += "  <testsuite" + attribute("name", pack) + attribute("tests", tests) + attribute("failures", failures) +
              attribute("errors", std::size_t{0}) + attribute("skipped", skipped) + attribute("timestamp", report.run_at) +
              ">\n    <properties>\n      <property" + attribute("name", "pack_version") +
              attribute("value", rules_of[pack].front()->pack_version) + "/>\n      <property" +
              attribute("name", "as_of") + attribute("value", report.as_of) + "/>\n    </properties>\n" + cases +
              "  </testsuite>\n";
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites" +
         attribute("name", report.title.empty() ? "Rapport" : report.title) + attribute("tests", total_tests) +
         attribute("failures", total_failures) + attribute("errors", std::size_t{0}) + ">\n" + suites + "</testsuites>\n";
}

}  // namespace rapport::reports
