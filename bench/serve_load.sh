#!/bin/sh
# serve_load.sh [RAPPORT] [DATA_DIR] [DURATION] [CONNECTIONS] [RATE]: throughput and latency of
# `rapport serve`'s /v1/what-if over a large snapshot, measured with wrk (Debian package `wrk`).
# DATA_DIR defaults to /tmp/crm100k (generate one with ../shared/datagen/gen_crm.py).
# RATE (requests per second, all connections together): each connection waits
# CONNECTIONS/RATE seconds between requests (wrk's delay()), so latency is measured at that rate
# rather than at saturation; 0 (the default) sends as fast as the server answers.
set -eu
RAPPORT=${1:-build/cli/rapport}
DATA=${2:-/tmp/crm100k}
DURATION=${3:-20s}
CONNECTIONS=${4:-16}
RATE=${5:-0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v wrk >/dev/null 2>&1; then
  echo "serve_load: wrk is not installed (apt-get install wrk); skipped"
  exit 0
fi
WORK=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT INT TERM
cat > "$WORK/serve.yaml" <<YAML
version: 1
listen: { port: 18089 }
data: $DATA
packs: [$ROOT/rulesets/portfolio]
as_of: 2026-11-01
reload: { watch: false }
limits: { threads: 2, max_in_flight: 256 }
YAML
"$RAPPORT" serve --config "$WORK/serve.yaml" 2> "$WORK/serve.log" &
PID=$!
for _ in $(seq 1 600); do
  curl -sf http://127.0.0.1:18089/readyz >/dev/null 2>&1 && break
  sleep 0.5
done
curl -sf http://127.0.0.1:18089/readyz || { cat "$WORK/serve.log"; exit 1; }
echo
# Realistic changes: reassign a random account to a random account manager of the book.
ACCOUNTS=$(head -c 2000000 "$DATA/accounts.jsonl" | grep -o '"id":"[^"]*"' | cut -d'"' -f4 | head -2000 | tr '\n' ' ')
OWNERS=$(grep '"account_manager"' "$DATA/users.jsonl" | grep -o '"id":"[^"]*"' | cut -d'"' -f4 | head -500 | tr '\n' ' ')
{
  echo "local accounts = {}"; for a in $ACCOUNTS; do echo "accounts[#accounts+1] = \"$a\""; done
  echo "local owners = {}"; for o in $OWNERS; do echo "owners[#owners+1] = \"$o\""; done
  if [ "$RATE" -gt 0 ]; then
    echo "local pause_ms = $CONNECTIONS * 1000 / $RATE"
    echo "delay = function() return pause_ms end"
  fi
  cat <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local a = accounts[math.random(#accounts)]
  local o = owners[math.random(#owners)]
  return wrk.format(nil, "/v1/what-if", nil,
    '{"changes": [{"entity": "accounts", "id": "' .. a .. '", "fields": {"owner_id": "' .. o .. '"}}]}')
end
done = function(summary, latency, requests)
  io.write(string.format("requests %d, errors %d (status %d), %.0f req/s\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.requests / (summary.duration / 1e6)))
  for _, p in pairs({50, 90, 99, 99.9}) do
    io.write(string.format("p%s %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
LUA
} > "$WORK/what_if.lua"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/what_if.lua" http://127.0.0.1:18089
