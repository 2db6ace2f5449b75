#!/usr/bin/env bash
# Two builds alternated under the IVR-step latency budget's load (call starts at about 500
# requests/s: 12 connections, each pausing 20 ms; 15 s), each on memory the machine has not
# handed out lately: a holder process first takes (and keeps) most of the free memory, and a
# little more before each run, so the service's heap lands on cold pages. For each run:
# wrk's p99, whether the process allows transparent huge pages, and from `perf record` how
# many of the store writer's (`audit-commit`) samples were in a huge-page fault or zeroing
# pages, and its four longest stretches of back-to-back samples (the writer holds locks every
# IVR step needs). Needs wrk and perf; takes the free memory (HOLD_GB, default: free minus 5).
#   scripts/cold-memory-ab.sh BIN_A BIN_B [pairs]
set -euo pipefail
a=$1 b=$2 pairs=${3:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
hold_gb=${HOLD_GB:-$(free -g | awk '/^Mem:/ {print ($7 > 6 ? $7 - 5 : 1)}')}
holders=()
trap 'kill "${holders[@]}" 2>/dev/null || true' EXIT
hold() {  # touch and keep $1 GB
  local out; out=$(mktemp)
  python3 - "$1" > "$out" <<'PY' &
import mmap, signal, sys, time
size = int(float(sys.argv[1]) * (1 << 30))
m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
began = time.time()
for off in range(0, size, 4096):
    m[off] = 1
print(f"held {sys.argv[1]} GB, touched in {time.time() - began:.1f} s", flush=True)
signal.pause()
PY
  holders+=($!)
  until [ -s "$out" ]; do sleep 0.5; done
  cat "$out"; rm -f "$out"
}
one() {  # one run of binary $1
  (
    export CALLVAULT_BIN=$1
    . "$root/scripts/instance.sh"
    . "$root/scripts/calls-workload.sh"
    cv_serve
    pid=${pids[0]}
    perf record -F 1999 -g -p "$pid" -o "$dir/perf.data" -- sleep 16 >/dev/null 2>&1 &
    perfpid=$!
    sleep 0.3
    p99=$(wrk -t2 -c12 -d15s --latency -s "$dir/calls.lua" "https://127.0.0.1:$port" -- cold 20 | awk '/ 99%/ {print $2}')
    thp=$(awk '/^THP_enabled/ {print $2}' "/proc/$pid/status")
    wait "$perfpid" || true
    perf script -i "$dir/perf.data" 2>/dev/null | python3 -c '
import re, sys
samples = sys.stdin.read().split("\n\n")
n = faults = zeroing = 0
times = []
for s in samples:
    if not s.startswith("audit-commit"):
        continue
    n += 1
    faults += "do_huge_pmd_anonymous_page" in s
    zeroing += "clear_page" in s
    times.append(float(re.search(r"(\d+\.\d+):", s).group(1)))
runs, start = [], times[0] if times else 0
for x, y in zip(times, times[1:]):
    if y - x > 0.0015:
        runs.append(x - start); start = y
if times:
    runs.append(times[-1] - start)
longest = sorted(runs)[-4:]
print(f"writer samples {n}, in huge-page faults {faults}, zeroing pages {zeroing}, "
      f"longest stretches {[round(r * 1e3, 1) for r in longest]} ms", end="")' 
    echo "; wrk p99 $p99; THP_enabled $thp"
  )
}
hold "$hold_gb"
for i in $(seq "$pairs"); do
  for bin in "$a" "$b"; do
    echo "== $bin"
    one "$bin" 2>&1 | grep -v 'members.csv'
    hold 0.6 >/dev/null
  done
done
