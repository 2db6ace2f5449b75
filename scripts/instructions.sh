#!/usr/bin/env bash
# CPU instructions per request in the serving process, counted by valgrind's callgrind: the
# bare hello (examples/hello.rs), a call start (POST /v1/calls identified by ANI, as
# scripts/load-calls.sh sends it) and a question (POST /v1/calls/{id}/input answering a
# started call's first question, date of birth, right; the calls are started uncounted
# first). Requests/s on this VM move by a third from hour to hour;
# instruction counts do not, so two builds compare in one run each, and the request side's
# cost can be set against the hello's.
#
# Counted: every thread of the server in user space (the HTTPS workers, the audit committer,
# the PIN pool), after a warm-up, over N requests sent one after another on one keep-alive
# TLS connection (its handshake is counted too, a few hundred instructions a request at the
# default 2,000). So each call start is a commit of its own: the commit's fixed work is not
# shared as it is under load. Not counted: the kernel (TCP, fdatasync) and the client.
# valgrind runs SHA-256 without the CPU's SHA instructions (it does not emulate them), so
# hashing counts several times what it costs on a CPU that has them (`grep sha_ni
# /proc/cpuinfo`).
#   scripts/instructions.sh [requests]     (CALLVAULT_BIN=path: another build;
#                                           CONNS=n: the requests sent over n connections
#                                           at once, so that commits group call starts as
#                                           they do under load;
#                                           KEEP_DUMPS=dir: keep callgrind's dumps there,
#                                           for callgrind_annotate, from a build with symbols)
# Needs valgrind (apt-get install valgrind) and wrk (only for scripts/instance.sh's check).
set -euo pipefail
shopt -s inherit_errexit  # a failed request inside $(count ...) stops the run
n=${1:-2000}
conns=${CONNS:-1}
[ $((n % conns)) -eq 0 ] || { echo "requests ($n) must be a multiple of CONNS ($conns)" >&2; exit 1; }
root=$(cd "$(dirname "$0")/.." && pwd)
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 1; }
cargo build --release --locked --manifest-path "$root/Cargo.toml" --bin callvault --example hello >&2
if [ -n "${KEEP_DUMPS:-}" ] && [ -z "${CALLVAULT_BIN:-}" ]; then
  # the dumps name functions only for a build with symbols (as scripts/profile-calls.sh builds)
  CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=1 \
    cargo build --release --locked --manifest-path "$root/Cargo.toml" \
    --target-dir "$root/target/profile" --bin callvault >&2
  export CALLVAULT_BIN="$root/target/profile/release/callvault"
fi
. "$root/scripts/instance.sh"
. "$root/scripts/calls-workload.sh" >/dev/null

# send.py HOST PORT CA KIND COUNT KEY TAG: COUNT requests on one connection; fails on any
# other answer. KIND: hello; calls (a new call each); start (the calls q-TAG-0, q-TAG-1, ...);
# answer (each of those calls answers its first question, date of birth, right)
cat > "$dir/send.py" <<'PY'
import http.client, json, ssl, sys, uuid
host, port, ca, kind, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
key = sys.argv[6] if len(sys.argv) > 6 else ""
tag = sys.argv[7] if len(sys.argv) > 7 else "0"
ctx = ssl.create_default_context(cafile=ca) if ca != "-" else ssl._create_unverified_context()
conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=120)
auth = {"Content-Type": "application/json", "Authorization": "Bearer " + key}
for i in range(count):
    if kind == "hello":
        conn.request("POST", "/hello", body=b"")
        want, expect = 201, b""
    elif kind == "answer":
        conn.request("POST", f"/v1/calls/q-{tag}-{i}/input", body='{"digits":"01011980"}', headers=auth)
        want, expect = 200, b'"question":"zip"'
    else:
        call_id = f"q-{tag}-{i}" if kind == "start" else str(uuid.uuid4())
        body = json.dumps({"call_id": call_id, "ani": "+1612203%04d" % (i * 7 % 5000),
                           "dnis": "+18005550100"})
        conn.request("POST", "/v1/calls", body=body, headers=auth)
        want, expect = 201, b""
    r = conn.getresponse()
    data = r.read()
    if r.status != want or expect not in data:
        sys.exit(f"unexpected answer {r.status}: {data[:200]!r}")
PY

# count PID PORT CA KIND: warm up, zero the counters, send $n requests, dump; prints the total
count() {
  local pid=$1 p=$2 ca=$3 kind=$4 i
  if [ "$kind" = answer ]; then
    # the calls the counted answers need are started first, uncounted
    python3 "$dir/send.py" 127.0.0.1 "$p" "$ca" start 200 "$key" warm
    for i in $(seq 1 "$conns"); do
      python3 "$dir/send.py" 127.0.0.1 "$p" "$ca" start $((n / conns)) "$key" "s$i"
    done
  fi
  python3 "$dir/send.py" 127.0.0.1 "$p" "$ca" "$kind" 200 "$key" warm
  callgrind_control -z "$pid" >/dev/null 2>&1
  local senders=()
  for i in $(seq 1 "$conns"); do
    python3 "$dir/send.py" 127.0.0.1 "$p" "$ca" "$kind" $((n / conns)) "$key" "s$i" &
    senders+=($!)
  done
  for i in "${senders[@]}"; do wait "$i"; done
  callgrind_control -d "$pid" >/dev/null 2>&1
  sleep 1
  # the last dump written holds the counts since the zeroing
  local dump
  dump=$(ls -t "$dir"/cg.out."$pid".* | head -1)
  awk '/^(summary|totals):/ {print $2; exit}' "$dump"
}

wait_up() { # url, ca option
  for _ in $(seq 1 600); do curl -sf "$@" >/dev/null && return 0; sleep 0.1; done
  echo "the server did not answer: $1" >&2; exit 1
}

valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out.%p" -q \
  "$bin" --config "$dir/c.toml" serve 2>"$dir/serve.log" &
pids+=($!)
cvpid=$!
wait_up "https://127.0.0.1:$port/livez" --cacert "$dir/etc/tls.crt"
calls=$(count "$cvpid" "$port" "$dir/etc/tls.crt" calls)
answers=$(count "$cvpid" "$port" "$dir/etc/tls.crt" answer)

hport=$(free_port)
valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out.%p" -q \
  "$root/target/release/examples/hello" "127.0.0.1:$hport" "$dir/hello" &
pids+=($!)
hpid=$!
wait_up "https://127.0.0.1:$hport/hello" -k -X POST
hello=$(count "$hpid" "$hport" - hello)

[ -z "${KEEP_DUMPS:-}" ] || cp "$dir"/cg.out.*.* "$KEEP_DUMPS"/
python3 - "$n" "$hello" "$calls" "$conns" "$answers" <<'PY'
import sys
n, hello, calls = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
conns = int(sys.argv[4])
how = "one connection" if conns == 1 else f"{conns} connections at once"
print(f"{n} requests each, {how}, instructions in the server's user space:")
print(f"  hello        {hello / n:>10,.0f} per request")
print(f"  call start   {calls / n:>10,.0f} per request  ({calls / hello:.1f} times the hello)")
answers = int(sys.argv[5])
print(f"  question     {answers / n:>10,.0f} per request  ({answers / hello:.1f} times the hello)")
PY
# stop both before the temporary directory goes, so that valgrind's last dumps land in it
kill "${pids[@]}" 2>/dev/null || true
wait "${pids[@]}" 2>/dev/null || true
