#!/usr/bin/env bash
# Builds the `rapport` binary and runs the main job: the starter rule pack in examples/rules over
# the sample CRM data in examples/data, as of 2026-11-01. Extra arguments go to `rapport check`,
# for example:
#   ./scripts/run-example.sh --params examples/params/acme.yaml
#   ./scripts/run-example.sh --format json --output findings.json
# Exits with rapport's exit code: 0 no finding at or above --fail-on, 1 findings at or above it,
# 2 usage, rule or parameter errors, 3 data errors.
#
# Environment (all optional): RAPPORT_JOBS (default 2), RAPPORT_BUILD_TYPE (default
# RelWithDebInfo), RAPPORT_BUILD_DIR (default build).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${RAPPORT_JOBS:-2}"
build_dir="${RAPPORT_BUILD_DIR:-build}"
build_type="${RAPPORT_BUILD_TYPE:-RelWithDebInfo}"

./scripts/setup.sh >&2

generator=()
[ -f "$build_dir/CMakeCache.txt" ] || generator=(-G Ninja)
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="$build_type" >&2
cmake --build "$build_dir" -j"$jobs" --target rapport >&2

exec "$build_dir/cli/rapport" check examples/rules --data examples/data --as-of 2026-11-01 "$@"
