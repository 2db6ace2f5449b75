#!/usr/bin/env bash
# The once-a-minute sweep of the calls with many calls stored, under the budget's load:
# FILL seconds of call starts at the peak (32 connections) to store calls, a restart (its
# first sweep reads every stored call), then RUN seconds of call starts at about 500
# requests/s (12 connections, 20 ms pause), long enough for two sweeps or more. Prints
# wrk's latency, the service's own timing of the steps (scripts/metrics-delta.py), and the
# sweeps: how many, their time, and the stored calls they read.
# Needs wrk. Release build (CALLVAULT_BIN for another one).
#   scripts/sweep-under-load.sh [FILL seconds] [RUN seconds]
set -euo pipefail
fill=${1:-40}
run=${2:-150}
root=$(cd "$(dirname "$0")/.." && pwd)
[ -n "${CALLVAULT_BIN:-}" ] || cargo build --release --locked --manifest-path "$root/Cargo.toml" --bin callvault >&2
. "$root/scripts/instance.sh"
. "$root/scripts/calls-workload.sh"
cv_serve
url="https://127.0.0.1:$port"
wrk -t2 -c32 -d"${fill}s" -s "$dir/calls.lua" "$url" -- fill 0 | grep -E 'requests in'
kill "${pids[0]}"
while kill -0 "${pids[0]}" 2>/dev/null; do sleep 0.05; done
cv_serve
metrics() { curl -sf --cacert "$dir/etc/tls.crt" "$url/metrics" > "$dir/metrics.$1"; }
metrics before
wrk -t2 -c12 -d"${run}s" --latency -s "$dir/calls.lua" "$url" -- paced 20 \
  | grep -E 'Latency  |50%|99%|requests in|Requests/sec|Non-2xx|Socket errors'
metrics after
python3 "$root/scripts/metrics-delta.py" "$dir/metrics.before" "$dir/metrics.after" /v1/calls
echo "== sweeps since the restart (the first one reads every stored call)"
grep -E '^callvault_calls_sweep_(seconds_(sum|count)|rows_read_total)' "$dir/metrics.after" || true
