#pragma once
// The inline style sheet and script of the HTML report (render_html). Kept apart from the
// markup so each reads as what it is.

#include <string_view>

namespace rapport::reports {

/// The page's CSS: system fonts, restrained colours, severity colours, print and narrow-screen rules.
extern const std::string_view kReportStyle;
/// The page's JavaScript: draws the portfolio and trend charts from the embedded JSON
/// (#report-data), wires the findings filters, and records what it drew on the chart elements
/// (data-rendered-width, data-bars, data-points) and on <html data-rendered="ok" | "error: ...">.
extern const std::string_view kReportScript;

}  // namespace rapport::reports
