#!/usr/bin/env bash
# Two builds of callvault compared under the load of scripts/load-calls.sh, alternated so
# that the machine's drift falls on both: per round and build, a fresh instance (5,000
# members), the bare hello (10 s), call starts at 32 connections (15 s), then call starts at
# about 500 requests/s (12 connections, 20 ms pause, 15 s). Prints the peak, its ratio to
# the hello, and the paced run's p99. STEP=question measures a question instead of a call
# start (POST /v1/calls/{id}/input answering the first question of calls started first, as
# scripts/load-calls.sh does). IDS=ordered sends the old, nearly ordered call ids
# (scripts/calls-workload.sh). Build a baseline apart, e.g.
#   git worktree add /tmp/base HEAD~1 && (cd /tmp/base && cargo build --release --locked \
#     --target-dir "$PWD/target/base" --bin callvault)
#   scripts/peak-ab.sh target/base/release/callvault target/release/callvault [rounds]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BIN_A BIN_B [rounds]" >&2; exit 2; }
a=$(realpath "$1"); b=$(realpath "$2"); rounds=${3:-2}; step=${STEP:-start}
root=$(cd "$(dirname "$0")/.." && pwd)
for round in $(seq 1 "$rounds"); do
  for bin in "$a" "$b"; do
    (
      export CALLVAULT_BIN=$bin
      . "$root/scripts/calls-vs-hello.sh" >/dev/null 2>&1
      h=$(wrk -t2 -c32 -d10s -s "$dir/hello.lua" "https://127.0.0.1:$hport/hello" | awk '/Requests\/sec/{print $2}')
      if [ "$step" = question ]; then
        # calls to answer, started first: more than the two runs can use
        wrk -t2 -c64 -d30s -s "$dir/calls.lua" "https://127.0.0.1:$port" -- qpeak 0 >/dev/null
        wrk -t2 -c64 -d6s -s "$dir/calls.lua" "https://127.0.0.1:$port" -- qpaced 0 6000 >/dev/null
        script=answer.lua peak=qpeak paced=qpaced what=questions
      else
        script=calls.lua peak=peak paced=paced what="call starts"
      fi
      s=$(wrk -t2 -c32 -d15s -s "$dir/$script" "https://127.0.0.1:$port" -- $peak 0 | awk '/Requests\/sec/{print $2}')
      p=$(wrk -t2 -c12 -d15s --latency -s "$dir/$script" "https://127.0.0.1:$port" -- $paced 20 \
        | awk '/ 99%/{p=$2} /Requests\/sec/{r=$2} END{print p " at " r " req/s"}')
      python3 -c "print('round $round, $bin: hello $h, $what $s (ratio {:.3f}); paced p99 $p'.format($s/$h))"
    )
  done
done
