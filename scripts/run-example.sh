#!/usr/bin/env bash
# Builds the `rapport` binary and runs the main job: the nightly run in examples/nightly.yaml —
# the four guidance packs (all 17 catalog rules) over the sample CRM data in examples/data, as of
# 2026-11-01, with the example waivers. It writes every report to examples/out/reports (open
# report.html in a browser; digests/ holds one message per account manager) and remembers the
# findings in examples/out/state, so a second run reports what is new, still open and resolved.
# Extra arguments go to `rapport run`, for example:
#   ./scripts/run-example.sh --log-format json
#   ./scripts/run-example.sh --as-of 2026-12-01
# Exits with rapport's exit code (docs/nightly.md): 0 done, 1 findings at or above fail_on,
# 2 configuration errors, 3 source, data or output errors, 5 another run is still going.
#
# Environment (all optional): RAPPORT_JOBS (default 2), RAPPORT_BUILD_TYPE (default
# Release: -O2 without debug info), RAPPORT_BUILD_DIR (default build).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${RAPPORT_JOBS:-2}"
build_dir="${RAPPORT_BUILD_DIR:-build}"
build_type="${RAPPORT_BUILD_TYPE:-Release}"

./scripts/setup.sh >&2

generator=()
[ -f "$build_dir/CMakeCache.txt" ] || generator=(-G Ninja)
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="$build_type" >&2
cmake --build "$build_dir" -j"$jobs" --target rapport >&2

exec "$build_dir/cli/rapport" run examples/nightly.yaml "$@"
