#!/usr/bin/env bash
# Checks that the loader's merge in the built executable still has its software prefetches.
#
# g++ 12 at -O2 drops __builtin_prefetch for addresses computed by a multiplicative hash; the
# merge then waits for memory on every probe of the string pool and of the row-by-id table (see
# model/prefetch.hpp). Nothing else shows it: the results are the same, only slower. x86-64 only
# (elsewhere the check is skipped, exit 77).
#
# usage: scripts/check-prefetch.sh path/to/rapport
set -euo pipefail
binary=${1:?usage: check-prefetch.sh path/to/rapport}
if [[ "$(uname -m)" != x86_64 ]] || ! command -v objdump >/dev/null; then
  echo "skipped: needs x86-64 and objdump"
  exit 77
fi
count=$(objdump -d -C --no-show-raw-insn "$binary" |
  awk '/^[0-9a-f]+ <.*>:$/ { in_merge = index($0, "Loader::merge(") > 0 } in_merge && /prefetcht0/ { n++ } END { print n + 0 }')
# Three loops prefetch: the chunk's strings and ids into the shared pool, and the label-id rows.
if (( count < 3 )); then
  echo "error: Loader::merge in $binary has $count prefetch instructions, expected at least 3" >&2
  echo "help: the compiler dropped a prefetch; use model::prefetch_for_read (model/prefetch.hpp)" >&2
  exit 1
fi
echo "ok: Loader::merge has $count prefetch instructions"
