#!/usr/bin/env bash
# What a full disk does to a serving callvault, and whether it comes back without a restart.
# Needs root (it mounts a tmpfs for the state directory). A release build serves N members
# (default 1,000); the disk is filled, 400 call starts are tried, the space is freed, and the
# script times the first call start that succeeds (the store's reopening, with redb's
# recovery, included). It ends with `audit verify` and `db check` on the stopped store.
#   sudo scripts/disk-full.sh [members]
set -euo pipefail
rows=${1:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CALLVAULT_BIN:-$root/target/release/callvault}
[ -x "$bin" ] || cargo build --release --locked --manifest-path "$root/Cargo.toml"
dir=$(mktemp -d)
mnt="$dir/disk"
mkdir -p "$mnt"
mount -t tmpfs -o size=$(( 40 + rows / 500 ))m tmpfs "$mnt"
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; sleep 0.5; umount "$mnt"; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[server]\nlisten = "127.0.0.1:%s"\n[storage]\nstate_dir = "%s/state"\nmin_free_mb = 1\n[vault]\nkey_file = "%s/etc/vault.key"\n' \
  "$port" "$mnt" "$dir" > "$dir/c.toml"
cv() { "$bin" --config "$dir/c.toml" "$@"; }
cv init >/dev/null 2>&1
"$bin" gen-members "$rows" --clean -o "$dir/members.csv" 2>/dev/null
cv enroll "$dir/members.csv" >/dev/null 2>&1
echo "store: $(du -h "$mnt/state/callvault.redb" | cut -f1) for $rows members; disk: $(df -h --output=size "$mnt" | tail -1)"
key=$(cv key create --role ivr --name probe 2>/dev/null)
"$bin" --config "$dir/c.toml" serve 2>"$dir/serve.log" &
pid=$!
url="https://127.0.0.1:$port"
until curl -sf --cacert "$dir/etc/tls.crt" "$url/livez" >/dev/null; do sleep 0.05; done
call() {
  curl -s -o /dev/null -w '%{http_code}' --cacert "$dir/etc/tls.crt" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' "$url/v1/calls" \
    -d "{\"call_id\":\"$1\",\"ani\":\"+16122030001\",\"dnis\":\"+18005550100\"}"
}
ready() { curl -s -o /dev/null -w '%{http_code}' --cacert "$dir/etc/tls.crt" "$url/readyz"; }

echo "before: call start $(call before), /readyz $(ready)"
fallocate -l $(( $(df --output=avail -B1 "$mnt" | tail -1) - 200000 )) "$mnt/filler"
echo "disk full; 400 call starts, by status:"
for i in $(seq 1 400); do call "full-$i"; echo; done | sort | uniq -c
echo "/readyz while full: $(ready)"
rm "$mnt/filler"
echo "space freed; /readyz before any call: $(ready)"
start=$(date +%s.%N)
for i in $(seq 1 100); do
  [ "$(call "after-$i")" = 201 ] && break
  sleep 0.05
done
echo "space freed: first call start that succeeded after $(python3 -c "print(round($(date +%s.%N) - $start, 3))") s (try $i), /readyz $(ready)"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
cv audit verify
cv db check | tail -1
echo "service log from the first failed write on, lines by kind ($(sed -n '/a write to the store failed/,$p' "$dir/serve.log" | wc -l) in all):"
sed -n '/a write to the store failed/,$p' "$dir/serve.log" \
  | sed -E 's/^[^ ]+ +//; s/ (left_out|error|store|progress|jobs)=.*//' | sort | uniq -c
