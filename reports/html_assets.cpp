#include "reports/html_assets.hpp"

namespace rapport::reports {

const std::string_view kReportStyle = R"CSS(
:root {
  --text: #1f2933; --muted: #616e7c; --line: #e4e7eb; --panel: #ffffff; --page: #f5f7fa;
  --accent: #2f5d8a; --bar: #7b93ad; --over: #c62828;
  --critical: #8e1b5c; --high: #c62828; --medium: #d97706; --low: #2b6cb0; --info: #6b7280;
  --new: #d97706; --resolved: #2f855a;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--page); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
}
header.page { background: #1f2d3d; color: #fff; padding: 20px 28px 16px; }
header.page h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header.page .kicker { margin: 0; font-size: 12px; letter-spacing: .08em; text-transform: uppercase; color: #b8c4d0; }
.facts { display: flex; flex-wrap: wrap; gap: 6px 24px; margin: 12px 0 0; padding: 0; }
.facts div { display: flex; gap: 6px; }
.facts dt { color: #b8c4d0; }
.facts dd { margin: 0; font-weight: 500; }
main { max-width: 1240px; margin: 0 auto; padding: 20px 28px 40px; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 0 0 18px; }
section > h2 { font-size: 16px; font-weight: 600; margin: 0 0 12px; }
section > p.note { color: var(--muted); margin: -6px 0 12px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 12px; background: none; border: 0; padding: 0; }
.tile { background: var(--panel); border: 1px solid var(--line); border-left: 4px solid var(--accent); border-radius: 8px; padding: 10px 14px; }
.tile .value { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .05em; }
.tile.new { border-left-color: var(--new); } .tile.resolved { border-left-color: var(--resolved); }
.tile.waived { border-left-color: var(--info); }
.tile.tile-critical { border-left-color: var(--critical); } .tile.tile-high { border-left-color: var(--high); }
.tile.tile-medium { border-left-color: var(--medium); } .tile.tile-low { border-left-color: var(--low); }
.tile.tile-info { border-left-color: var(--info); }
.grid3 { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 18px; }
.grid3 section { margin: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .04em; white-space: nowrap; }
td.date { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:hover { background: #f8fafc; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.muted { color: var(--muted); }
.remedy { color: var(--muted); font-size: 12px; margin-top: 2px; }
.sev { display: inline-block; min-width: 58px; text-align: center; border-radius: 10px; padding: 1px 8px; font-size: 12px; font-weight: 600; color: #fff; }
.sev-critical { background: var(--critical); } .sev-high { background: var(--high); } .sev-medium { background: var(--medium); }
.sev-low { background: var(--low); } .sev-info { background: var(--info); }
.status { font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
.status-new { color: var(--new); } .status-open { color: var(--muted); } .status-waived { color: var(--info); font-style: italic; }
.empty { color: var(--muted); font-style: italic; }
.filters { display: flex; flex-wrap: wrap; gap: 10px 14px; align-items: end; margin: 0 0 12px; }
.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
.filters select, .filters input { font: inherit; padding: 4px 6px; border: 1px solid #cbd2d9; border-radius: 4px; background: #fff; min-width: 130px; }
.chart-scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; background: #fcfdfe; }
svg.chart { display: block; }
svg.chart text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--muted); }
svg.chart .axis { stroke: #cbd2d9; stroke-width: 1; }
svg.chart .grid { stroke: #eef1f4; stroke-width: 1; }
svg.chart .bar { fill: var(--bar); }
svg.chart .bar.over { fill: var(--over); }
svg.chart .dunbar-line { stroke: #1f2933; stroke-width: 1.5; stroke-dasharray: 6 4; }
svg.chart text.dunbar-label { fill: #1f2933; font-weight: 600; }
svg.chart .series-open { fill: none; stroke: var(--accent); stroke-width: 2; }
svg.chart .pt-open { fill: var(--accent); stroke: #fff; stroke-width: 1.5; }
svg.chart .bar-new { fill: var(--new); opacity: .8; }
svg.chart .bar-resolved { fill: var(--resolved); opacity: .8; }
.legend { display: flex; flex-wrap: wrap; gap: 16px; font-size: 12px; color: var(--muted); margin: 8px 0 0; }
.legend span::before { content: ""; display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; background: var(--c); }
footer.page { color: var(--muted); font-size: 12px; text-align: center; padding: 0 0 28px; }
@media (max-width: 900px) { .grid3 { grid-template-columns: 1fr; } }
@media (max-width: 600px) {
  header.page, main { padding-left: 12px; padding-right: 12px; }
  section { padding: 12px; }
  .tile .value { font-size: 22px; }
  th, td { padding: 5px 6px; }
}
@media print {
  body { background: #fff; font-size: 11px; }
  header.page { background: #fff; color: var(--text); border-bottom: 2px solid var(--text); padding: 0 0 8px; }
  header.page .kicker, .facts dt { color: var(--muted); }
  main { max-width: none; padding: 12px 0; }
  section, .tile { break-inside: avoid; border-color: #ccc; }
  .filters { display: none; }
  .chart-scroll { overflow: visible; border: 0; }
  .chart-scroll svg.chart { width: 100%; height: auto; }
  .sev, .bar, .tile { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)CSS";

const std::string_view kReportScript = R"JS(
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var root = document.documentElement;

  function el(name, attrs, parent, text) {
    var node = document.createElementNS(SVG, name);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  // A y scale with round ticks: about four steps of 1, 2, 5 or 10 times a power of ten.
  function scale(value) {
    var rough = Math.max(value, 1) / 4, power = Math.pow(10, Math.floor(Math.log10(rough)));
    var step = [1, 2, 5, 10].map(function (m) { return m * power; }).filter(function (s) { return s >= rough; })[0];
    step = Math.max(1, step);
    var ticks = Math.ceil(Math.max(value, 1) / step);
    return { max: ticks * step, ticks: ticks };
  }
  function yAxis(svg, left, right, top, height, y, s) {
    for (var i = 0; i <= s.ticks; i++) {
      var value = s.max * i / s.ticks;
      el("line", { x1: left, x2: right, y1: y(value), y2: y(value), "class": i ? "grid" : "axis" }, svg);
      el("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end" }, svg, String(value));
    }
  }
  function recordSize(svg, extra) {
    var box = svg.getBoundingClientRect();
    svg.setAttribute("data-rendered-width", String(Math.round(box.width)));
    svg.setAttribute("data-rendered-height", String(Math.round(box.height)));
    for (var key in extra) svg.setAttribute(key, String(extra[key]));
  }
  function available(svg) {
    var width = svg.parentNode.clientWidth || 800;
    return Math.max(width, 280);
  }

  function drawPortfolios(data) {
    var svg = document.getElementById("portfolio-chart");
    if (!svg) return;
    clear(svg);
    var managers = data.portfolios.managers, n = managers.length, line = data.portfolios.dunbar_line;
    var left = 48, right = 16, top = 22, plotHeight = 260;
    var step = Math.max(3, Math.min(28, Math.floor((available(svg) - left - right) / Math.max(n, 1))));
    var labels = step >= 16;
    var bottom = labels ? 86 : 30;
    var gap = step >= 6 ? Math.max(1, Math.round(step * 0.2)) : 1;
    var plotWidth = Math.max(n * step, 200), width = left + plotWidth + right, height = top + plotHeight + bottom;
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    var most = 0, over = 0;
    managers.forEach(function (m) { most = Math.max(most, m.accounts); });
    var s = scale(Math.max(most, line) * 1.05);
    var y = function (v) { return top + plotHeight - plotHeight * v / s.max; };
    yAxis(svg, left, left + plotWidth, top, plotHeight, y, s);
    managers.forEach(function (m, i) {
      var isOver = m.accounts > line;
      if (isOver) over++;
      var x = left + i * step;
      var bar = el("rect", { x: x, y: y(m.accounts), width: step - gap, height: Math.max(0, top + plotHeight - y(m.accounts)),
                             "class": isOver ? "bar over" : "bar", "data-manager": m.id }, svg);
      var where = [m.team, m.region].filter(Boolean).join(", ");
      el("title", {}, bar, (m.name || m.id) + (where ? " (" + where + ")" : "") + ": " + m.accounts + " accounts, " +
         m.strategic + " strategic");
      if (labels) {
        var name = m.name || m.id;
        if (name.length > 14) name = name.slice(0, 13) + "\u2026";
        el("text", { x: x + (step - gap) / 2, y: top + plotHeight + 10, "text-anchor": "end",
                     transform: "rotate(-45 " + (x + (step - gap) / 2) + " " + (top + plotHeight + 10) + ")" }, svg, name);
      }
    });
    if (!labels) {
      el("text", { x: left, y: top + plotHeight + 18 }, svg,
         n + " account managers, largest portfolio first (hover a bar for the name)");
    }
    el("line", { x1: left, x2: left + plotWidth, y1: y(line), y2: y(line), "class": "dunbar-line" }, svg);
    // The largest portfolios come first, so the label sits at the right end, clear of the tall bars.
    el("text", { x: left + plotWidth - 4, y: y(line) - 6, "text-anchor": "end", "class": "dunbar-label" }, svg,
       "Dunbar line: " + line + " accounts (" + over + " above)");
    recordSize(svg, { "data-bars": n, "data-over": over, "data-dunbar-line": line });
  }

  function drawTrend(data) {
    var svg = document.getElementById("trend-chart");
    if (!svg) return;
    clear(svg);
    var points = data.trend, n = points.length;
    var width = Math.min(available(svg), 1180), left = 48, right = 20, top = 16, plotHeight = 200, bottom = 40;
    var height = top + plotHeight + bottom, plotWidth = width - left - right;
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    var most = 0;
    points.forEach(function (p) { most = Math.max(most, p.open, p["new"], p.resolved); });
    var s = scale(most * 1.1);
    var y = function (v) { return top + plotHeight - plotHeight * v / s.max; };
    yAxis(svg, left, left + plotWidth, top, plotHeight, y, s);
    var slot = plotWidth / Math.max(n, 1);
    var x = function (i) { return left + slot * (i + 0.5); };
    var barWidth = Math.max(2, Math.min(14, slot / 4));
    var every = Math.max(1, Math.ceil(72 / slot));
    var path = [];
    points.forEach(function (p, i) {
      el("rect", { x: x(i) - barWidth - 1, y: y(p["new"]), width: barWidth, height: top + plotHeight - y(p["new"]), "class": "bar-new" }, svg);
      el("rect", { x: x(i) + 1, y: y(p.resolved), width: barWidth, height: top + plotHeight - y(p.resolved), "class": "bar-resolved" }, svg);
      path.push((i ? "L" : "M") + x(i).toFixed(1) + " " + y(p.open).toFixed(1));
      if (i % every === 0 || i === n - 1) {
        el("text", { x: x(i), y: top + plotHeight + 16, "text-anchor": "middle" }, svg, String(p.as_of).slice(0, 10));
      }
    });
    if (n) el("path", { d: path.join(" "), "class": "series-open" }, svg);
    points.forEach(function (p, i) {
      var point = el("circle", { cx: x(i), cy: y(p.open), r: n > 60 ? 2 : 3.5, "class": "pt-open" }, svg);
      el("title", {}, point, String(p.as_of).slice(0, 10) + ": " + p.open + " open, " + p["new"] + " new, " +
         p.resolved + " resolved, " + p.waived + " waived");
    });
    if (!n) el("text", { x: left + 8, y: top + plotHeight / 2 }, svg, "No runs recorded yet");
    recordSize(svg, { "data-points": n });
  }

  function setupFilters() {
    var table = document.getElementById("findings-table");
    if (!table) return;
    var controls = ["severity", "status", "team", "region"].map(function (name) {
      return { name: name, input: document.getElementById("filter-" + name) };
    });
    var text = document.getElementById("filter-text");
    var shown = document.getElementById("findings-shown");
    var rows = table.tBodies[0] ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
    function apply() {
      var needle = text ? text.value.trim().toLowerCase() : "";
      var count = 0;
      rows.forEach(function (row) {
        var keep = controls.every(function (c) {
          return !c.input || c.input.value === "*" || row.getAttribute("data-" + c.name) === c.input.value;
        }) && (!needle || row.textContent.toLowerCase().indexOf(needle) !== -1);
        row.hidden = !keep;
        if (keep) count++;
      });
      if (shown) shown.textContent = String(count);
    }
    controls.forEach(function (c) { if (c.input) c.input.addEventListener("change", apply); });
    if (text) text.addEventListener("input", apply);
    apply();
  }

  function drawAll(data) {
    drawPortfolios(data);
    drawTrend(data);
  }

  try {
    var data = JSON.parse(document.getElementById("report-data").textContent);
    drawAll(data);
    setupFilters();
    var pending = 0;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () { drawAll(data); }, 150);
    });
    root.setAttribute("data-rendered", "ok");
  } catch (error) {
    root.setAttribute("data-rendered", "error: " + (error && error.message ? error.message : String(error)));
  }
})();
)JS";

}  // namespace rapport::reports
