#!/usr/bin/env bash
# How long IVR steps wait while long admin work holds the store's writer: a release build
# serves a store of N members with PINs; a probe starts a call every 20 ms (curl, one TLS
# connection each) while the CLI runs the command given, through the service's admin socket.
# Prints the command's wall time and the probe's median, p99 and slowest call start.
#   scripts/writer-stall.sh [members] [command...]      default: 1000000 vault rotate-key
#   scripts/writer-stall.sh 1000000 enroll '$dir/members.csv'   (the enrolled file again)
#   scripts/writer-stall.sh 1000000 enroll '$dir/changed.csv'   (every row's balance changed)
#   scripts/writer-stall.sh 1000000 enroll '$dir/fewer.csv' --mode full
#                                 (the file without every 11th row: 9.1 % of the members, with
#                                  their PINs, deleted)
set -euo pipefail
rows=${1:-1000000}
shift || true
cmd=("$@")
[ ${#cmd[@]} -gt 0 ] || cmd=(vault rotate-key)
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CALLVAULT_BIN:-$root/target/release/callvault}
[ -x "$bin" ] || cargo build --release --locked --manifest-path "$root/Cargo.toml"
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[server]\nlisten = "127.0.0.1:%s"\n[storage]\nstate_dir = "%s/state"\n[vault]\nkey_file = "%s/etc/vault.key"\n' \
  "$port" "$dir" "$dir" > "$dir/c.toml"
cv() { "$bin" --config "$dir/c.toml" "$@"; }
cv init >/dev/null 2>&1
"$bin" gen-members "$rows" --clean -o "$dir/members.csv" 2>/dev/null
cv enroll "$dir/members.csv" >/dev/null 2>&1
case "${cmd[*]}" in
  *changed.csv*)
    python3 "$root/scripts/change-balances.py" "$dir/members.csv" "$dir/changed.csv"
    ;;
  *fewer.csv*)
    python3 -c 'import csv, sys
r = csv.reader(open(sys.argv[1], newline=""))
w = csv.writer(open(sys.argv[2], "w", newline=""), lineterminator="\n")
w.writerow(next(r))
w.writerows(row for n, row in enumerate(r) if n % 11)' "$dir/members.csv" "$dir/fewer.csv"
    ;;
esac
awk -F, 'NR == 1 { print "member_id,pin"; next } $1 ~ /^[0-9]+$/ { n++; printf "%s,%04d\n", $1, (n * 7919) % 10000 }' \
  "$dir/members.csv" > "$dir/pins.csv"
cv pins import "$dir/pins.csv" >/dev/null 2>&1
key=$(cv key create --role ivr --name probe 2>/dev/null)
"$bin" --config "$dir/c.toml" serve 2>/dev/null &
pid=$!
until curl -sf --cacert "$dir/etc/tls.crt" "https://127.0.0.1:$port/livez" >/dev/null; do sleep 0.1; done
probe() {
  local n=0
  while [ ! -e "$dir/done" ]; do
    n=$((n + 1))
    curl -s -o /dev/null -w '%{time_total}\n' --cacert "$dir/etc/tls.crt" \
      -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      -d "{\"call_id\":\"probe-$n\",\"ani\":\"anonymous\"}" "https://127.0.0.1:$port/v1/calls"
    sleep 0.02
  done > "$dir/times.txt"
}
probe &
prober=$!
sleep 1
# eval: the command may name $dir (the enrolled file)
eval "set -- ${cmd[*]}"
/usr/bin/time -f "${cmd[*]}: wall %e s" "$bin" --config "$dir/c.toml" "$@" 2>&1 >/dev/null | tail -3
sleep 1
touch "$dir/done"
wait "$prober"
sort -n "$dir/times.txt" | awk '{ t[NR] = $1 } END {
  printf "call starts during it: %d, median %.3f s, p99 %.3f s, slowest %.3f s\n",
    NR, t[int(NR / 2)], t[int(NR * 0.99)], t[NR] }'
