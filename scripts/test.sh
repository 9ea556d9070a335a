#!/usr/bin/env bash
# Builds Rapport and runs the whole test suite: the command CI runs (.ci/run) and the README names.
# Works on a fresh Debian bookworm clone with ../shared beside the repository.
#
# Environment (all optional):
#   RAPPORT_JOBS        parallel build and test jobs (default 2)
#   RAPPORT_BUILD_TYPE  CMake build type (default Release: -O2 without debug info)
#   RAPPORT_BUILD_DIR   build directory (default build)
#   RAPPORT_FUZZ_SECONDS seconds per fuzzer for a short fuzz run (default: 30 when CI=true, else none)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${RAPPORT_JOBS:-2}"
build_dir="${RAPPORT_BUILD_DIR:-build}"
build_type="${RAPPORT_BUILD_TYPE:-Release}"

./scripts/setup.sh --test

# Ninja for a new build directory; an existing one keeps the generator it was made with.
generator=()
[ -f "$build_dir/CMakeCache.txt" ] || generator=(-G Ninja)
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="$build_type" -DRAPPORT_BUILD_TESTS=ON
cmake --build "$build_dir" -j"$jobs"

ctest_status=0
ctest_log="$build_dir/ctest-summary.log"
# The HTML report must render in Chromium here: a missing browser fails the suite, not skips it.
RAPPORT_REQUIRE_CHROMIUM=1 ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" 2>&1 | tee "$ctest_log" || ctest_status=${PIPESTATUS[0]}

# A short, bounded fuzz run of the parser and the loaders (clang + sanitizers) on CI, or when
# RAPPORT_FUZZ_SECONDS asks for one. It runs after the suite so its failures are reported apart.
fuzz_seconds="${RAPPORT_FUZZ_SECONDS:-}"
if [ -z "$fuzz_seconds" ] && [ "${CI:-}" = "true" ]; then fuzz_seconds=30; fi
fuzz_status=0
if [ -n "$fuzz_seconds" ] && [ "$fuzz_seconds" != "0" ]; then
  ./scripts/fuzz.sh "$fuzz_seconds" || fuzz_status=$?
fi

# The suite's totals close the output, after any fuzz log: "N passed, N failed".
summary=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$ctest_log" | tail -n 1 || true)
if [ -n "$summary" ]; then
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
  total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$summary")
  echo "tests: $((total - failed)) passed, $failed failed"
fi
if [ "$ctest_status" -ne 0 ]; then exit "$ctest_status"; fi
exit "$fuzz_status"
