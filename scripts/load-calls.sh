#!/usr/bin/env bash
# Load test of the IVR's steps that need no bcrypt, over HTTPS keep-alive on loopback,
# against a release build with 5,000 enrolled members:
#   1. peak requests/s of a bare actix-web + rustls "hello" endpoint (examples/hello.rs,
#      same TLS set-up) and of POST /v1/calls (start a call and identify the caller by ANI),
#      same wrk settings, same run: the ratio;
#   2. call starts at about 500 requests/s (12 connections, each pausing 20 ms between
#      requests): the latency, as wrk saw it and as the service itself timed it (its group
#      commits and its requests, from /metrics: scripts/metrics-delta.py);
#   3. and 4. the same for a question: POST /v1/calls/{id}/input answering a started call's
#      first keypad question (date of birth) right, on calls started beforehand; then the
#      hello and call starts at 256 connections, for the peak against peak (each side's
#      best of the two connection counts);
#   5. start-up time with every call those runs stored (the service reads each stored
#      call's number, id and caller ID before it answers, for its in-memory index, and its
#      first sweep reads every stored call in the background), and how long the first call
#      start after it takes.
# Needs wrk (apt-get install wrk). Writes nothing outside a temporary directory.
#   scripts/load-calls.sh [seconds] [connections]
# EXTRA_MEMBERS=1000000 enrolls that many more synthetic members first (scripts/calls-workload.sh).
set -euo pipefail
secs=${1:-10}
conns=${2:-32}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/calls-vs-hello.sh"

# the run's figures; its requests/s also go to $dir/rate.NAME
summary() { tee "$dir/out.$1" | grep -E 'Latency  |50%|99%|requests in|Requests/sec|Non-2xx|Socket errors'
  awk '/Requests\/sec/ {print $2}' "$dir/out.$1" > "$dir/rate.$1"; }
url="https://127.0.0.1:$port"
echo "== bare actix-web + rustls hello: POST /hello, $conns connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$dir/hello.lua" "https://127.0.0.1:$hport/hello" | summary hello
echo "== callvault: POST /v1/calls (start + identify by ANI), $conns connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$dir/calls.lua" "$url" -- peak 0 | summary start
# what the service itself timed during a run (group commits, the route's requests)
metrics() { curl -sf --cacert "$dir/etc/tls.crt" "$url/metrics" > "$dir/metrics.$1"; }
own() { python3 "$root/scripts/metrics-delta.py" "$dir/metrics.before" "$dir/metrics.after" "$1"; }
echo "== callvault: call starts at about 500 requests/s: 12 connections, each waiting 20 ms between requests, ${secs}s"
metrics before
wrk -t2 -c12 -d"${secs}s" --latency -s "$dir/calls.lua" "$url" -- paced 20 | summary start-paced
metrics after; own /v1/calls
# Calls to answer, started beforehand: more than either run can use (a question's peak has
# stayed under the call start's), so that every answer is a call's first.
wrk -t2 -c64 -d"$((secs * 3 / 2))s" -s "$dir/calls.lua" "$url" -- qpeak 0 >/dev/null
wrk -t2 -c64 -d"$((secs / 4 + 2))s" -s "$dir/calls.lua" "$url" -- qpaced 0 "$((secs * 400))" >/dev/null
echo "== callvault: a question (POST /v1/calls/{id}/input, date of birth, right), $conns connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$dir/answer.lua" "$url" -- qpeak 0 | summary question
echo "== callvault: questions at about 500 requests/s: 12 connections, each waiting 20 ms between requests, ${secs}s"
metrics before
wrk -t2 -c12 -d"${secs}s" --latency -s "$dir/answer.lua" "$url" -- qpaced 20 | summary question-paced
metrics after; own '/v1/calls/{call_id}/input'
python3 -c "print('peak against hello: call start {:.3f}, question {:.3f}'.format($(cat "$dir/rate.start") / $(cat "$dir/rate.hello"), $(cat "$dir/rate.question") / $(cat "$dir/rate.hello")))"
# More callers waiting make larger group commits, while the hello peaks early: the budget's
# "peak" read as each side's best, of $conns and 256 connections.
echo "== the hello and call starts again at 256 connections, ${secs}s each"
wrk -t2 -c256 -d"${secs}s" --latency -s "$dir/hello.lua" "https://127.0.0.1:$hport/hello" | summary hello256
wrk -t2 -c256 -d"${secs}s" --latency -s "$dir/calls.lua" "$url" -- peak256 0 | summary start256
python3 -c "
h = max($(cat "$dir/rate.hello"), $(cat "$dir/rate.hello256"))
s = max($(cat "$dir/rate.start"), $(cat "$dir/rate.start256"))
print(f'peak against peak (each at the better of $conns and 256 connections): call start {s / h:.3f} ({s:,.0f} / {h:,.0f})')"
echo "== start-up with the calls stored above (every request was a new call)"
agent=$(cv key create --role agent --name load-agent 2>/dev/null)
kill "${pids[0]}"
while kill -0 "${pids[0]}" 2>/dev/null; do sleep 0.05; done
start=$(date +%s.%N)
RUST_LOG=info cv_serve # for the line saying how long reading the stored calls took
live=$(date +%s.%N)
# the first sweep of the stored calls starts with the service; a call start must not wait for it
first=$(curl -s -o /dev/null -w '%{http_code} in %{time_total} s' --cacert "$dir/etc/tls.crt" \
  -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"call_id":"after-restart","ani":"+16122030001"}' "https://127.0.0.1:$port/v1/calls")
# answered once the background index of calls by caller ID is built
curl -sf --cacert "$dir/etc/tls.crt" -H "Authorization: Bearer $agent" \
  "https://127.0.0.1:$port/v1/calls?ani=%2B16122030000" >/dev/null
indexed=$(date +%s.%N)
python3 -c "print(f'exec to the first /livez answer {$live - $start:.3f} s; to the first GET /v1/calls?ani= answer {$indexed - $start:.3f} s')"
echo "the first POST /v1/calls after /livez (curl's own TLS set-up included): $first"
# the service's own figure for reading the stored calls' numbers, ids and caller IDs
grep -o 'indexed the stored calls.*' "$dir/serve.log" | tail -n 1 || true
echo "the service's resident memory after that start: $(ps -o rss= -p "${pids[-1]}") KiB"
