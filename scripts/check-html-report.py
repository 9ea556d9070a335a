#!/usr/bin/python3
"""check-html-report.py HTML_FILE SCREENSHOT_PNG

Opens a Rapport HTML report in headless Chromium and checks from the rendered DOM that the page
drew itself: <html data-rendered="ok">, one bar per account manager and the Dunbar line in the
portfolio chart, one point per run in the trend chart, and non-zero rendered chart sizes. Then
takes a 1280x2000 screenshot.

Exit status: 0 checked, 1 a check failed, 77 skipped (no chromium; set RAPPORT_REQUIRE_CHROMIUM=1
to make that a failure instead). Runs with Debian's /usr/bin/python3, standard library only.
"""

import html.parser
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

SKIPPED = 77
TIMEOUT_SECONDS = 30


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(binary: str, url: str, extra: list[str]) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="rapport-chromium-") as profile:
        command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                   *extra, url]
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)


class Dom(html.parser.HTMLParser):
    """The elements of the rendered DOM that the checks look at, with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.html: dict[str, str] = {}
        self.svgs: dict[str, dict[str, str]] = {}
        self.children: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self.external: list[str] = []
        self._svg: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.html = attributes
        for name in ("src", "href"):
            if attributes.get(name, "").startswith(("http:", "https:", "//")):
                self.external.append(f"<{tag} {name}={attributes[name]}>")
        if tag == "svg" and "id" in attributes:
            self._svg = attributes["id"]
            self.svgs[self._svg] = attributes
            self.children[self._svg] = []
        elif self._svg:
            self.children[self._svg].append((tag, attributes))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._svg = None

    def count(self, svg: str, tag: str, css_class: str) -> int:
        return sum(1 for t, a in self.children.get(svg, []) if t == tag and css_class in a.get("class", "").split())


def check(dom: Dom) -> list[str]:
    problems = []
    state = dom.html.get("data-rendered")
    if state != "ok":
        problems.append(f"<html data-rendered> is {state!r}, expected 'ok'")
    if dom.external:
        problems.append("the page references external URLs: " + ", ".join(dom.external))
    portfolio = dom.svgs.get("portfolio-chart")
    trend = dom.svgs.get("trend-chart")
    if portfolio is None or trend is None:
        return problems + ["the portfolio or trend chart is missing"]
    managers = int(portfolio.get("data-managers", "-1"))
    bars = dom.count("portfolio-chart", "rect", "bar")
    if bars != managers or portfolio.get("data-bars") != str(managers):
        problems.append(f"portfolio chart: {bars} bars drawn (data-bars={portfolio.get('data-bars')}), {managers} managers")
    if dom.count("portfolio-chart", "line", "dunbar-line") != 1 or dom.count("portfolio-chart", "text", "dunbar-label") != 1:
        problems.append("portfolio chart: no labelled Dunbar line")
    over = dom.count("portfolio-chart", "rect", "over")
    if portfolio.get("data-over") != str(over):
        problems.append(f"portfolio chart: {over} highlighted bars, data-over={portfolio.get('data-over')}")
    runs = int(trend.get("data-trend-points", "-1"))
    points = dom.count("trend-chart", "circle", "pt-open")
    if points != runs or trend.get("data-points") != str(runs):
        problems.append(f"trend chart: {points} points drawn (data-points={trend.get('data-points')}), {runs} runs")
    for name, svg in (("portfolio", portfolio), ("trend", trend)):
        width, height = int(svg.get("data-rendered-width", "0")), int(svg.get("data-rendered-height", "0"))
        if width <= 0 or height <= 0:
            problems.append(f"{name} chart rendered at {width}x{height}")
    return problems


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    page = pathlib.Path(sys.argv[1]).resolve()
    screenshot = pathlib.Path(sys.argv[2]).resolve()
    binary = chromium()
    if binary is None:
        if os.environ.get("RAPPORT_REQUIRE_CHROMIUM") == "1":
            print("check-html-report: chromium is not installed (apt-get install chromium)", file=sys.stderr)
            return 1
        print("skipped: chromium is not installed")
        return SKIPPED
    if not page.is_file():
        print(f"check-html-report: no such file: {page}", file=sys.stderr)
        return 1

    dumped = run_chromium(binary, page.as_uri(), ["--dump-dom"])
    if dumped.returncode != 0 or "<html" not in dumped.stdout:
        print(f"check-html-report: chromium --dump-dom failed ({dumped.returncode}):\n{dumped.stderr[-2000:]}",
              file=sys.stderr)
        return 1
    dom = Dom()
    dom.feed(dumped.stdout)
    problems = check(dom)
    for problem in problems:
        print(f"check-html-report: {page.name}: {problem}", file=sys.stderr)
    if problems:
        return 1

    screenshot.parent.mkdir(parents=True, exist_ok=True)
    shot = run_chromium(binary, page.as_uri(), [f"--screenshot={screenshot}", "--window-size=1280,2000",
                                                "--hide-scrollbars"])
    if shot.returncode != 0 or not screenshot.is_file() or screenshot.stat().st_size == 0:
        print(f"check-html-report: screenshot failed ({shot.returncode}):\n{shot.stderr[-2000:]}", file=sys.stderr)
        return 1
    portfolio, trend = dom.svgs["portfolio-chart"], dom.svgs["trend-chart"]
    print(f"{page.name}: rendered ok; portfolio chart {portfolio['data-bars']} bars ({portfolio['data-over']} over the "
          f"Dunbar line) at {portfolio['data-rendered-width']}x{portfolio['data-rendered-height']}, trend chart "
          f"{trend['data-points']} points; screenshot {screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
