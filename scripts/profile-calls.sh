#!/usr/bin/env bash
# Where a call start's time goes: the load of scripts/load-calls.sh (POST /v1/calls, a new
# call identified by ANI each time) against a release build with symbols, while sampling
#   - each thread's CPU with `top -H` (the audit committer against the actix workers) and
#     wrk's own CPU;
#   - the process with `perf record` (when perf is installed), summarized per thread and
#     function; the full profile is kept in target/profile/calls.perf for `perf report -i`;
#   - the group commit's batch sizes from /metrics.
# Needs wrk; perf is optional (apt-get install linux-perf). The build goes to target/profile.
#   scripts/profile-calls.sh [seconds] [connections]
set -euo pipefail
secs=${1:-10}
conns=${2:-32}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/target/profile"
CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=1 \
  cargo build --release --locked --manifest-path "$root/Cargo.toml" --target-dir "$out" \
  --bin callvault >&2
export CALLVAULT_BIN="$out/release/callvault"
. "$root/scripts/instance.sh"
. "$root/scripts/calls-workload.sh"
cv_serve
pid=${pids[0]}
# top first, then perf (perf's own CPU would show in top): both inside the wrk run.
(
  sleep $((secs / 4 + 1))
  echo "== threads of callvault (top -H, 2 s)"
  top -H -b -n 1 -d 2 -p "$pid" | sed -n '7,12p'
  echo "== processes (top, 2 s)"
  top -b -n 1 -d 2 | sed -n '7,10p'
) &
sampler=$!
if command -v perf >/dev/null; then
  (sleep $((secs / 2 + 1)) && perf record -q -F 499 --call-graph dwarf,16384 -p "$pid" \
    -o "$out/calls.perf" -- sleep $((secs / 3)) >/dev/null 2>&1) &
  sampler="$sampler $!"
fi
echo "== callvault: POST /v1/calls, $conns connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$dir/calls.lua" "https://127.0.0.1:$port" -- prof 0 \
  | grep -E '99%|Requests/sec|Non-2xx|Socket errors'
# shellcheck disable=SC2086 # two pids
wait $sampler
echo "== group commit (from /metrics)"
curl -sf --cacert "$dir/etc/tls.crt" "https://127.0.0.1:$port/metrics" \
  | grep -E '^callvault_audit_(commits_total|batch_size_(sum|count))'
if [ -f "$out/calls.perf" ]; then
  echo "== perf: share of samples by thread, then the heaviest functions (self time)"
  perf report -i "$out/calls.perf" --no-children --sort comm -g none -q 2>/dev/null | head -6
  perf report -i "$out/calls.perf" --no-children --sort comm,sym -g none -q \
    --percent-limit 1 2>/dev/null | head -25
  echo "(whole profile: perf report -i $out/calls.perf --children --comm audit-commit)"
fi
