#!/usr/bin/env bash
# The IVR-step latency budget's load (call starts at about 500 requests/s: 12 connections,
# each pausing 20 ms) in back-to-back runs on one fresh service, each run with what else
# happened meanwhile: the host's steal time, the service's CPU, the disk's writes, the store
# file's size, and what the service itself timed (scripts/metrics-delta.py). A run named
# PEAK is a peak burst instead (32 connections, no pause). Release build, 5,000 members
# (EXTRA_MEMBERS=N for more, as in scripts/calls-workload.sh). A run named WAIT is a pause
# of the same length with no load.
#   scripts/paced-calls.sh [seconds per run] [runs...]     e.g. 15 p1 p2 PEAK a1 a2 WAIT a3
set -euo pipefail
secs=${1:-15}
shift || true
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(p1 p2 p3 p4 p5)
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --locked --manifest-path "$root/Cargo.toml" --bin callvault >&2
. "$root/scripts/instance.sh"
. "$root/scripts/calls-workload.sh"
cv_serve
pid=${pids[0]}
url="https://127.0.0.1:$port"
disk=$(lsblk -no pkname "$(findmnt -no source --target "$dir")" 2>/dev/null || true)
[ -n "$disk" ] || disk=$(basename "$(findmnt -no source --target "$dir")")
# steal (all CPUs), the service's user+system time, the disk's sectors and writes completed
snap() {
  awk '/^cpu /{printf "%s ", $9}' /proc/stat
  awk '{printf "%s ", $14 + $15}' "/proc/$pid/stat"
  awk -v d="$disk" '$3 == d {printf "%s %s", $10, $8}' /proc/diskstats
  echo
}
for run in "${runs[@]}"; do
  if [ "$run" = PEAK ]; then
    echo "== PEAK: 32 connections, no pause, ${secs}s"
    wrk -t2 -c32 -d"${secs}s" -s "$dir/calls.lua" "$url" -- "peak$RANDOM" 0 | grep -E 'Requests/sec'
    continue
  fi
  if [ "$run" = WAIT ]; then
    echo "== WAIT: ${secs}s with no load"
    sleep "$secs"
    continue
  fi
  before=$(snap)
  curl -sf --cacert "$dir/etc/tls.crt" "$url/metrics" > "$dir/metrics.before"
  wrk -t2 -c12 -d"${secs}s" --latency -s "$dir/calls.lua" "$url" -- "$run" 20 > "$dir/out"
  after=$(snap)
  curl -sf --cacert "$dir/etc/tls.crt" "$url/metrics" > "$dir/metrics.after"
  python3 - "$run" "$(awk '/Requests\/sec/{print $2}' "$dir/out")" \
    "$(awk '/ 99%/{print $2}' "$dir/out")" "$(awk '/Latency /{print $4}' "$dir/out")" \
    "$(stat -c %s "$dir/state/callvault.redb")" $before $after <<'PY'
import sys
run, rps, p99, top, size = sys.argv[1:6]
v = [float(x) for x in sys.argv[6:]]
a, b = v[:len(v) // 2], v[len(v) // 2:]
d = [y - x for x, y in zip(a, b)] + [0.0] * 4
print(f'== {run}: {rps} req/s, wrk p99 {p99}, max {top}; steal {d[0]:.0f} and service CPU '
      f'{d[1]:.0f} ticks; disk {d[2] * 512 / 1e6:.0f} MB in {d[3]:.0f} writes; store {int(size) / 1e6:.0f} MB')
PY
  python3 "$root/scripts/metrics-delta.py" "$dir/metrics.before" "$dir/metrics.after"
done
