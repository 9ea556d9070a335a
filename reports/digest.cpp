// Per-owner digests: the account manager's own open findings (new first) with remedies and
// what was resolved for them, as Markdown and as an e-mail-ready HTML body (inline styles,
// table layout, no script, nothing fetched).

#include <algorithm>

#include "engine/output.hpp"
#include "reports/markup.hpp"
#include "reports/render.hpp"
#include "reports/summary.hpp"

namespace rapport::reports {

namespace {

using engine::with_thousands;

/// What one owner's digest says, in the order it says it.
struct Digest {
  std::string greeting_name;
  std::vector<const ReportFinding*> fresh;  // new since the previous run
  std::vector<const ReportFinding*> still_open;
  std::vector<const ResolvedFinding*> resolved;
};

Digest digest_for(const RunReport& report, const Person& owner) {
  Digest d;
  d.greeting_name = owner.name.empty() ? owner.id : owner.name;
  for (const auto& f : report.findings) {
    if (f.owner_id != owner.id || !is_open(f)) continue;
    (f.status == Status::New ? d.fresh : d.still_open).push_back(&f);
  }
  for (const auto& r : report.resolved) {
    if (r.owner_id == owner.id) d.resolved.push_back(&r);
  }
  return d;
}

std::string run_title(const RunReport& report) { return report.title.empty() ? "Rapport" : report.title; }

std::string summary_sentence(const Digest& d) {
  std::size_t open = d.fresh.size() + d.still_open.size();
  if (open == 0) return "nothing is open for you";
  return count_noun(open, "open finding", "open findings") + " for you, " + std::to_string(d.fresh.size()) + " of them new";
}

/// "Acme nightly check · run R at T · as of A · packs p 1.0.0 · 12,345 records · Rapport 0.1.0"
std::string run_facts(const RunReport& report) {
  std::string packs;
  for (const auto& [name, version] : report.packs) packs += (packs.empty() ? "" : ", ") + name + " " + version;
  return run_title(report) + " · run " + report.run_id + " at " + report.run_at + " · as of " + report.as_of +
         " · packs " + (packs.empty() ? "none" : packs) + " · " + with_thousands(report.records) + " records · Rapport " +
         report.rapport_version;
}

std::string markdown_finding(const ReportFinding& rf) {
  const engine::Finding& f = rf.finding;
  std::string out = "### " + markdown_escape(f.title) + " — " + markdown_escape(subject_label(f.subject_name.str(), f.subject_id)) + "\n\n";
  out += "**" + std::string(dsl::severity_name(f.severity)) + "** · `" + markdown_escape(f.subject_entity + "/" + f.subject_id) +
         "` · since " + markdown_escape(rf.first_seen.substr(0, 10)) + "\n\n";
  if (!f.message.empty()) out += markdown_escape(f.message.str()) + "\n\n";
  if (!f.remedy.empty()) out += "**Remedy:** " + markdown_escape(f.remedy.str()) + "\n\n";
  return out;
}

// HTML e-mail building blocks: every style inline, since mail clients drop <style>.
constexpr std::string_view kFont =
    "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;";

std::string html_heading(std::string_view text, std::size_t count) {
  return "<h2 style=\"" + std::string(kFont) + "font-size:16px;margin:24px 0 8px;color:#1f2933;\">" + markup_escape(text) +
         " <span style=\"color:#616e7c;font-weight:normal;\">(" + std::to_string(count) + ")</span></h2>\n";
}

std::string html_finding(const ReportFinding& rf) {
  const engine::Finding& f = rf.finding;
  std::string color(severity_color(f.severity));
  std::string out =
      "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"margin:0 0 12px;"
      "border-left:4px solid " + color + ";background:#f8fafc;\"><tr><td style=\"padding:10px 14px;" + std::string(kFont) +
      "font-size:14px;line-height:1.45;color:#1f2933;\">\n<div style=\"font-weight:600;\">" + markup_escape(f.title) +
      "</div>\n<div style=\"color:#616e7c;font-size:12px;margin:2px 0 6px;\"><span style=\"color:" + color +
      ";font-weight:600;text-transform:uppercase;\">" + std::string(dsl::severity_name(f.severity)) + "</span> · " +
      markup_escape(subject_label(f.subject_name.str(), f.subject_id)) + " · since " + markup_escape(rf.first_seen.substr(0, 10)) + "</div>\n";
  if (!f.message.empty()) out += "<div>" + markup_escape(f.message.str()) + "</div>\n";
  if (!f.remedy.empty()) {
    out += "<div style=\"margin-top:6px;\"><strong>Remedy:</strong> " + markup_escape(f.remedy.str()) + "</div>\n";
  }
  return out + "</td></tr></table>\n";
}

}  // namespace

std::string render_digest_markdown(const RunReport& report, const Person& owner) {
  Digest d = digest_for(report, owner);
  std::string out = "# Your " + markdown_escape(run_title(report)) + " digest\n\nHello " +
                    markdown_escape(d.greeting_name) + ",\n\nthe check as of " + markdown_escape(report.as_of) +
                    " found " + summary_sentence(d) + ".\n\n";
  if (!d.fresh.empty()) {
    out += "## New (" + std::to_string(d.fresh.size()) + ")\n\n";
    for (const auto* f : d.fresh) out += markdown_finding(*f);
  }
  if (!d.still_open.empty()) {
    out += "## Still open (" + std::to_string(d.still_open.size()) + ")\n\n";
    for (const auto* f : d.still_open) out += markdown_finding(*f);
  }
  if (!d.resolved.empty()) {
    out += "## Resolved since the last run (" + std::to_string(d.resolved.size()) + ")\n\n";
    for (const auto* r : d.resolved) {
      out += "- " + markdown_escape(r->title) + " — " + markdown_escape(subject_label(r->subject_name, r->subject_id)) + "\n";
    }
    out += "\n";
  }
  return out + "---\n\n" + markdown_escape(run_facts(report)) + "\n";
}

std::string render_digest_html(const RunReport& report, const Person& owner) {
  Digest d = digest_for(report, owner);
  std::string font(kFont);
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
      "content=\"width=device-width, initial-scale=1\">\n<title>" + markup_escape("Your " + run_title(report) + " digest") +
      "</title>\n</head>\n<body style=\"margin:0;padding:0;background:#f5f7fa;\">\n"
      "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#f5f7fa;\">"
      "<tr><td align=\"center\" style=\"padding:24px 12px;\">\n"
      "<table role=\"presentation\" width=\"640\" cellpadding=\"0\" cellspacing=\"0\" style=\"width:100%;max-width:640px;"
      "background:#ffffff;border:1px solid #e4e7eb;border-radius:8px;\">\n"
      "<tr><td style=\"padding:18px 24px;background:#1f2d3d;border-radius:8px 8px 0 0;" + font + "color:#ffffff;\">"
      "<div style=\"font-size:12px;letter-spacing:1px;text-transform:uppercase;color:#b8c4d0;\">Rapport digest</div>"
      "<div style=\"font-size:20px;font-weight:600;margin-top:2px;\">" + markup_escape(run_title(report)) +
      "</div></td></tr>\n<tr><td style=\"padding:20px 24px;" + font + "font-size:14px;line-height:1.5;color:#1f2933;\">\n"
      "<p style=\"margin:0 0 8px;\">Hello " + markup_escape(d.greeting_name) + ",</p>\n<p style=\"margin:0;\">the check as of " +
      markup_escape(report.as_of) + " found <strong>" + summary_sentence(d) + "</strong>.</p>\n";
  if (!d.fresh.empty()) {
    out += html_heading("New", d.fresh.size());
    for (const auto* f : d.fresh) out += html_finding(*f);
  }
  if (!d.still_open.empty()) {
    out += html_heading("Still open", d.still_open.size());
    for (const auto* f : d.still_open) out += html_finding(*f);
  }
  if (!d.resolved.empty()) {
    out += html_heading("Resolved since the last run", d.resolved.size()) + "<ul style=\"margin:0;padding-left:20px;\">\n";
    for (const auto* r : d.resolved) {
      std::string subject = subject_label(r->subject_name, r->subject_id);
      out += "<li style=\"margin:0 0 4px;color:#2f855a;\"><span style=\"color:#1f2933;\">" + markup_escape(r->title) +
             " — " + markup_escape(subject) + "</span></li>\n";
    }
    out += "</ul>\n";
  }
  out += "</td></tr>\n<tr><td style=\"padding:14px 24px;border-top:1px solid #e4e7eb;" + font +
         "font-size:12px;color:#616e7c;\">" + markup_escape(run_facts(report)) +
         "</td></tr>\n</table>\n</td></tr></table>\n</body>\n</html>\n";
  return out;
}

std::vector<std::string> digest_recipients(const RunReport& report) {
  std::vector<std::string> ids;
  for (const auto& f : report.findings) {
    if (is_open(f) && !f.owner_id.empty()) ids.push_back(f.owner_id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace rapport::reports
