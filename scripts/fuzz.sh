#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (address + undefined sanitizers) and runs each one
# for a short, bounded time on a seed corpus made of the test cases. Exit 0 when no fuzzer
# found a crash. Usage: scripts/fuzz.sh [SECONDS_PER_FUZZER]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
build=build-fuzz

CXX=clang++ CC=clang cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" \
  -DRAPPORT_BUILD_FUZZ=ON -DRAPPORT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target fuzz_parse fuzz_load

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/parse" "$corpus/load"
find tests/golden bench/packs examples/rules -name '*.rules' -exec cp {} "$corpus/parse/" \; 2>/dev/null || true
find tests/data tests/golden/eval -name '*.jsonl' -size -64k -exec cp {} "$corpus/load/" \; 2>/dev/null || true
find tests/data tests/golden/eval -name '*.csv' -size -64k -exec cp {} "$corpus/load/" \; 2>/dev/null || true

status=0
for fuzzer in parse load; do
  echo "fuzz: fuzz_$fuzzer for ${seconds}s"
  if ! "$build/tests/fuzz/fuzz_$fuzzer" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/crash-$fuzzer-" "$corpus/$fuzzer" \
       > "$build/fuzz_$fuzzer.log" 2>&1; then
    echo "fuzz: fuzz_$fuzzer FAILED; see $build/fuzz_$fuzzer.log and $build/crash-$fuzzer-*"
    tail -40 "$build/fuzz_$fuzzer.log"
    status=1
  else
    grep -E "stat::number_of_executed_units" "$build/fuzz_$fuzzer.log" || true
  fi
done
exit $status
