#!/usr/bin/env python3
"""End-to-end performance of `rapport check` (issue #7): whole-process time and peak memory.

    python3 bench/e2e.py --rapport build/cli/rapport [--scales 100000,1000000] [--formats jsonl,csv]
                         [--runs 5] [--work DIR] [--datagen ../shared/datagen/gen_crm.py]

For each scale and format, the book is generated once with ../shared/datagen/gen_crm.py
(`--seed 1`, kept in WORK for the next run) and put in the page cache. Then each measurement
runs `runs` times and the median is printed:

  cat       reading the six files that matter (accounts, activities, cases, contacts,
            contracts, users) to /dev/null: the floor
  wc -l     counting their lines
  check     `rapport check` with every shipped guidance pack (all 17 rules), report to /dev/null
  lint      `rapport lint` on the shipped packs (compile only)
  plan      `rapport plan rulesets/portfolio` (the rebalance_portfolios plan)

with peak RSS from /usr/bin/time (the lowest and highest of the runs, in MiB), how much of the six
files the page cache held before `check` (util-linux `fincore`, when present), and the ratios
check/wc and 1M/100k. Correctness: the finding
counts of the count-based portfolio rules are computed independently here, in Python, from the
same files, and must equal rapport's (the script exits 1 otherwise).

With --duckdb (JSONL only), DuckDB side by side: bench/duckdb/checks.js reads the export into
tables with @duckdb/node-api and runs six of the catalog's checks as SQL (the Dunbar count,
discount+SLA activities, long-tail accounts without owner contact in 90 days, SLA breach rate per
contract, buying-center gaps, the definition gap). Its whole-process time and peak are printed
next to rapport check's, with the ratio, and each check's count next to rapport's. The package
is installed with npm into WORK/duckdb-node on first use (never into the repository); without
node, npm or the package the step is skipped with a message. Never a hard dependency.

Measurements are printed, never asserted: the machine is noisy, so compare ratios within one run.
A tiny scale runs in CTest (bench-e2e-tiny) to keep the script working.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKS = [str(ROOT / "rulesets" / p) for p in ("portfolio", "relationships", "service-gaps", "service-operations")]
SIX = ["accounts", "activities", "cases", "contacts", "contracts", "users"]
AS_OF = "2026-11-01"
# The portfolio pack's defaults (rulesets/portfolio/portfolio.rules).
DUNBAR_LIMIT, INNER_CIRCLE, OWNER_ROLES = 150, 5, {"account_manager", "telesales"}


def generate(datagen: str, work: Path, accounts: int, fmt: str) -> Path:
    out = work / f"crm-{accounts}-{fmt}"
    if (out / f"users.{fmt}").exists():
        return out
    print(f"generating {accounts:,} accounts as {fmt} in {out} ...", flush=True)
    subprocess.run([sys.executable, datagen, "--out", str(out), "--accounts", str(accounts), "--seed", "1",
                    "--format", fmt, "--as-of", AS_OF, "--quiet"], check=True)
    return out


def timed(command: list[str], stdout=subprocess.DEVNULL) -> tuple[float, int, int, subprocess.CompletedProcess]:
    """Wall seconds, peak RSS in KB and exit code of one run (through /usr/bin/time), and the run."""
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *command], stdout=stdout, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    lines = proc.stderr.strip().splitlines()
    peak = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    return seconds, peak, proc.returncode, proc


def median_run(command: list[str], runs: int, ok=(0, 1)) -> tuple[float, int]:
    """The median wall time of `runs` runs and their highest peak RSS in KB."""
    seconds, peaks = median_runs(command, runs, ok)
    return seconds, max(peaks)


def median_runs(command: list[str], runs: int, ok=(0, 1)) -> tuple[float, list[int]]:
    """The median wall time of `runs` runs and each run's peak RSS in KB."""
    times, peaks = [], []
    for _ in range(runs):
        seconds, peak, code, _ = timed(command)
        if code not in ok:
            sys.exit(f"e2e: {' '.join(command)} exited {code}")
        times.append(seconds)
        peaks.append(peak)
    return statistics.median(times), peaks


def peak_range(peaks: list[int]) -> str:
    """The runs' peaks in MiB: "1,446 MiB", or lowest-highest when they differ."""
    low, high = min(peaks) / 1024, max(peaks) / 1024
    return f"{high:,.0f} MiB" if round(low) == round(high) else f"{low:,.0f}-{high:,.0f} MiB"


def resident_bytes(files: list[str]) -> int | None:
    """How much of `files` the page cache holds (util-linux fincore), or None without fincore. The
    issue's bar is for files in the page cache; a host that caps its page cache evicts some."""
    if not shutil.which("fincore"):
        return None
    proc = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", *files],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if proc.returncode != 0:
        return None
    return sum(int(field) for field in proc.stdout.split() if field.isdigit())


def files_of(data: Path, fmt: str) -> list[str]:
    return [str(data / f"{entity}.{fmt}") for entity in SIX]


def records(data: Path, fmt: str, entity: str):
    path = data / f"{entity}.{fmt}"
    with open(path, encoding="utf-8", newline="") as f:
        if fmt == "csv":
            yield from csv.DictReader(f)
        else:
            for line in f:
                if line.strip():
                    yield json.loads(line)


def independent_counts(data: Path, fmt: str) -> dict[str, int]:
    """The count-based portfolio rules computed straight from the files."""
    def boolean(v) -> bool:
        return v is True or v == "true"

    users = {u["id"]: u for u in records(data, fmt, "users")}
    portfolio, strategic = Counter(), Counter()
    unowned = 0
    for a in records(data, fmt, "accounts"):
        owner = a.get("owner_id") or None
        if owner:
            portfolio[owner] += 1
            if a.get("tier") == "strategic":
                strategic[owner] += 1
        u = users.get(owner) if owner else None
        if u is None or not boolean(u.get("active")) or u.get("role") not in OWNER_ROLES:
            unowned += 1
    managers = [u for u in users.values() if u.get("role") == "account_manager" and boolean(u.get("active"))]
    return {
        "dunbar_portfolio_limit": sum(1 for m in managers if portfolio[m["id"]] > DUNBAR_LIMIT),
        "inner_circle_strategic_limit": sum(1 for m in managers if strategic[m["id"]] > INNER_CIRCLE),
        "unowned_or_inactive_owner": unowned,
    }


def rapport_counts(rapport: str, data: Path, work: Path) -> dict[str, int]:
    out = work / "e2e-findings.json"
    proc = subprocess.run([rapport, "check", *PACKS, "--data", str(data), "--as-of", AS_OF, "-q", "--format", "json",
                           "--output", str(out)], stderr=subprocess.PIPE, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"e2e: rapport check failed:\n{proc.stderr}")
    report = json.loads(out.read_text())
    out.unlink()
    return Counter(f["rule"] for f in report["findings"])


# The rules bench/duckdb/checks.js computes, in the order it prints them.
DUCKDB_CHECKS = ["dunbar_portfolio_limit", "discount_and_sla_same_activity", "neglected_long_tail",
                 "delivery_gap_sla_breaches", "buying_center_coverage", "definition_gap"]


def duckdb_modules(work: Path) -> Path | None:
    """WORK/duckdb-node with @duckdb/node-api installed (npm, on first use), or None with a message."""
    modules = work / "duckdb-node"
    if (modules / "node_modules" / "@duckdb" / "node-api" / "package.json").exists():
        return modules
    missing = [tool for tool in ("node", "npm") if not shutil.which(tool)]
    if missing:
        print(f"\nDuckDB side by side skipped: {' and '.join(missing)} not found")
        return None
    modules.mkdir(parents=True, exist_ok=True)
    print(f"installing @duckdb/node-api into {modules} ...", flush=True)
    try:
        proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "@duckdb/node-api"],
                              cwd=modules, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        print("\nDuckDB side by side skipped: npm install @duckdb/node-api took over 10 minutes")
        return None
    if proc.returncode != 0:
        last = proc.stdout.strip().splitlines()[-1:] or ["(no output)"]
        print(f"\nDuckDB side by side skipped: npm install @duckdb/node-api failed: {last[0]}")
        return None
    return modules


def duckdb_side_by_side(modules: Path, data: Path, check_s: float, check_kb: int, rapport: dict[str, int]) -> None:
    """Runs bench/duckdb/checks.js once over `data` and prints it next to rapport (informative only:
    a DuckDB failure or a different count never fails the script)."""
    seconds, peak, code, proc = timed(["node", str(ROOT / "bench" / "duckdb" / "checks.js"), str(modules), str(data), AS_OF],
                                      stdout=subprocess.PIPE)
    if code != 0:
        print(f"  duckdb  failed (exit {code}): {' '.join(proc.stderr.strip().splitlines()[:-1])[-400:]}")
        return
    result = json.loads(proc.stdout)
    print(f"  duckdb  {seconds:8.3f} s  peak {peak / 1024:,.0f} MiB  (DuckDB {result['version']}, six checks: "
          f"load {result['load_seconds']:.2f} s, queries {result['query_seconds']:.2f} s) "
          f"= {seconds / check_s:.2f}x rapport check ({check_s:.3f} s, {check_kb / 1024:,.0f} MiB, all 17 rules)")
    for rule in DUCKDB_CHECKS:
        ours, theirs = rapport.get(rule, 0), result["counts"][rule]
        print(f"  {rule:32} rapport {ours:>8,}  duckdb      {theirs:>8,}  {'same' if ours == theirs else 'different'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rapport", required=True)
    parser.add_argument("--scales", default="100000,1000000")
    parser.add_argument("--formats", default="jsonl,csv")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", default="/tmp/rapport-bench-e2e")
    parser.add_argument("--datagen", default=str(ROOT.parent / "shared" / "datagen" / "gen_crm.py"))
    parser.add_argument("--no-plan", action="store_true", help="skip `rapport plan`")
    parser.add_argument("--duckdb", action="store_true",
                        help="also run six checks in DuckDB (@duckdb/node-api, installed with npm into WORK) over JSONL")
    args = parser.parse_args()
    rapport = os.path.abspath(args.rapport)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    scales = [int(s) for s in args.scales.split(",")]
    failures = 0
    modules = duckdb_modules(work) if args.duckdb else None

    lint_s, lint_kb = median_run([rapport, "lint", *PACKS, "-q"], args.runs, ok=(0,))
    print(f"lint (all shipped guidance packs, whole process): {lint_s * 1000:.0f} ms, {lint_kb / 1024:.0f} MiB")

    check_by_scale: dict[tuple[str, int], float] = {}
    for fmt in args.formats.split(","):
        for accounts in scales:
            data = generate(args.datagen, work, accounts, fmt)
            files = files_of(data, fmt)
            size = sum(os.path.getsize(f) for f in files)
            subprocess.run(["cat", *files], stdout=subprocess.DEVNULL, check=True)  # into the page cache
            cat_s, _ = median_run(["cat", *files], args.runs, ok=(0,))
            wc_s, _ = median_run(["wc", "-l", *files], args.runs, ok=(0,))
            check = [rapport, "check", *PACKS, "--data", str(data), "--as-of", AS_OF, "-q", "--format", "json"]
            resident = resident_bytes(files)
            resident = None if resident is None else min(resident, size)  # fincore counts whole pages
            check_s, check_peaks = median_runs(check, args.runs)
            check_kb = max(check_peaks)
            check_by_scale[(fmt, accounts)] = check_s
            print(f"\n{fmt} {accounts:,} accounts ({size / 1e9:.2f} GB in the six files), median of {args.runs}:")
            if resident is not None:
                print(f"  page cache {resident / 1e9:.2f} GB of the six files resident before check "
                      f"({100 * resident / size:.0f}%)")
            print(f"  cat     {cat_s:8.3f} s")
            print(f"  wc -l   {wc_s:8.3f} s")
            print(f"  check   {check_s:8.3f} s  peak {peak_range(check_peaks)}  = {check_s / wc_s:.1f}x wc -l")
            if not args.no_plan:
                plan_s, plan_peaks = median_runs([rapport, "plan", PACKS[0], "--data", str(data), "--as-of", AS_OF,
                                                  "-q", "--format", "json"], args.runs)
                print(f"  plan    {plan_s:8.3f} s  peak {peak_range(plan_peaks)}")
            expected = independent_counts(data, fmt)
            got = rapport_counts(rapport, data, work)
            for rule, count in expected.items():
                same = got.get(rule, 0) == count
                failures += 0 if same else 1
                print(f"  {rule:32} rapport {got.get(rule, 0):>8,}  independent {count:>8,}  {'ok' if same else 'DIFFERENT'}")
            if modules and fmt == "jsonl":
                duckdb_side_by_side(modules, data, check_s, check_kb, got)
            elif args.duckdb and fmt != "jsonl":
                print("  duckdb  skipped: the side by side reads JSONL only")
        if len(scales) >= 2:
            small, large = scales[0], scales[-1]
            ratio = check_by_scale[(fmt, large)] / check_by_scale[(fmt, small)]
            print(f"\n{fmt}: check at {large:,} takes {ratio:.1f}x the {small:,} run ({large / small:.0f}x the data)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
