#!/usr/bin/env bash
# An IVR step's latency by rate: the latency budget's load (POST /v1/calls, each connection
# pausing 20 ms between requests) at more and more connections on one fresh service, so the
# rate climbs from the budget's ~500 requests/s towards the peak. For each step: the rate
# reached, wrk's p50 / p99 / max, and what the service itself timed (its group commits and
# the route: scripts/metrics-delta.py). Then a bare hello's peak on the same machine, for the
# ratio. It answers "at what rate does a call start's p99 leave 10 ms?", which is the figure
# a budget restated at a stated durability needs (BENCHMARKS.md, "What would reach 0.5").
# STEP=question climbs with a question instead (POST /v1/calls/{id}/input answering a call's
# first question, the date of birth, right, as in scripts/load-calls.sh): before each step,
# calls are started at full speed for longer than the step, so that every answer is a
# call's first.
# Release build, 5,000 members (EXTRA_MEMBERS=N for more, as in scripts/calls-workload.sh).
# Needs wrk (apt-get install wrk).
#   scripts/rate-ladder.sh [seconds per step] [connections...]   e.g. 15 12 60 120 240
set -euo pipefail
secs=${1:-15}
shift || true
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(12 30 60 120 240)
step=${STEP:-start}
case "$step" in
  start) script=calls.lua route=/v1/calls what='call starts' ;;
  question) script=answer.lua route='/v1/calls/{call_id}/input' what=questions ;;
  *) echo "STEP is start or question, not $step" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/calls-vs-hello.sh"
url="https://127.0.0.1:$port"
printf '%-6s %10s %9s %9s %9s  %s\n' conns 'req/s' p50 p99 max "the service: share of $what under 10 ms; group commits"
for c in "${steps[@]}"; do
  if [ "$step" = question ]; then
    # the calls this step answers: more than it can use (a question's peak stays under the
    # call start's, and this runs longer than the step)
    wrk -t2 -c64 -d"$((secs * 3 / 2))s" -s "$dir/calls.lua" "$url" -- "ladder$c" 0 >/dev/null
  fi
  curl -sf --cacert "$dir/etc/tls.crt" "$url/metrics" > "$dir/metrics.before"
  wrk -t2 -c"$c" -d"${secs}s" --latency -s "$dir/$script" "$url" -- "ladder$c" 20 > "$dir/out.$c"
  curl -sf --cacert "$dir/etc/tls.crt" "$url/metrics" > "$dir/metrics.after"
  own=$(python3 "$root/scripts/metrics-delta.py" "$dir/metrics.before" "$dir/metrics.after" "$route")
  under=$(grep -o 'as the service timed it.*' <<<"$own" | grep -o '10 ms [0-9.]* %' || echo '?')
  commits=$(grep -o 'group commits: [0-9]*, mean [0-9.]* ms' <<<"$own" || echo '?')
  printf '%-6s %10s %9s %9s %9s  %s; %s\n' "$c" \
    "$(awk '/Requests\/sec/{print $2}' "$dir/out.$c")" "$(awk '/ 50%/{print $2}' "$dir/out.$c")" \
    "$(awk '/ 99%/{print $2}' "$dir/out.$c")" "$(awk '/Latency /{print $4}' "$dir/out.$c")" \
    "$under" "$commits"
  grep -E 'Non-2xx|Socket errors' "$dir/out.$c" || true
done
echo "== bare actix-web + rustls hello: POST /hello, 32 connections, no pause, ${secs}s"
wrk -t2 -c32 -d"${secs}s" -s "$dir/hello.lua" "https://127.0.0.1:$hport/hello" | grep 'Requests/sec'
