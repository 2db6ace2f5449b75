#!/usr/bin/env bash
# Enroll a generated file of N rows (default 1,000,000) into an empty store with a release
# build; prints wall time and peak memory (budget: under 15 s and 500 MB for 1,000,000 rows),
# then again (every row unchanged), then with every balance changed (every row updated), then
# the service's start-up time with those members enrolled (budget: under 1 s).
#   scripts/bench-enroll.sh [rows]     (CALLVAULT_BIN=path: another build)
set -euo pipefail
rows=${1:-1000000}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CALLVAULT_BIN:-"$root/target/release/callvault"}
[ -x "$bin" ] || cargo build --release --manifest-path "$root/Cargo.toml"
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
dir=$(mktemp -d)
pid=""
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[server]\nlisten = "127.0.0.1:%s"\n[storage]\nstate_dir = "%s/state"\n[vault]\nkey_file = "%s/etc/vault.key"\n' \
  "$port" "$dir" "$dir" > "$dir/c.toml"
"$bin" --config "$dir/c.toml" init >/dev/null 2>&1
"$bin" gen-members "$rows" -o "$dir/members.csv" 2>/dev/null
echo "file: $(du -h "$dir/members.csv" | cut -f1), $rows rows"
RUST_LOG=callvault=debug /usr/bin/time -f 'wall %e s, peak RSS %M KiB' \
  "$bin" --config "$dir/c.toml" enroll "$dir/members.csv" 2>&1 | grep -E 'enroll:|rows;|wall'
echo "again (every row unchanged):"
/usr/bin/time -f 'wall %e s, peak RSS %M KiB' \
  "$bin" --config "$dir/c.toml" enroll "$dir/members.csv" 2>&1 | grep -E 'rows;|wall'
echo "every member's balance changed (every row updated):"
python3 "$root/scripts/change-balances.py" "$dir/members.csv" "$dir/changed.csv"
RUST_LOG=callvault=debug /usr/bin/time -f 'wall %e s, peak RSS %M KiB' \
  "$bin" --config "$dir/c.toml" enroll "$dir/changed.csv" 2>&1 | grep -E 'enroll:|rows;|wall'
echo "start-up with the members enrolled (exec to the first /livez and /readyz answers):"
start=$(date +%s.%N)
"$bin" --config "$dir/c.toml" serve 2>"$dir/serve.log" &
pid=$!
until curl -sf --cacert "$dir/etc/tls.crt" "https://127.0.0.1:$port/livez" >/dev/null; do sleep 0.005; done
live=$(date +%s.%N)
until curl -sf --cacert "$dir/etc/tls.crt" "https://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.005; done
ready=$(date +%s.%N)
python3 -c "print(f'livez {$live - $start:.3f} s, readyz {$ready - $start:.3f} s')"
