#!/usr/bin/env bash
# What a full disk, or a disk the kernel made read-only, does to a serving callvault.
# Needs root (it mounts the state directory's own file system). A release build serves N
# members (default 1,000), then 400 call starts are tried on the failed disk.
#   sudo scripts/disk-full.sh [members]              # tmpfs, filled; then the space is freed
#   sudo scripts/disk-full.sh [members] --read-only  # ext4 on a loop file, errors=remount-ro
# Full: the script times the first call start that succeeds after the space is freed (the
# store's reopening, with redb's recovery, included), with no restart.
# Read-only: an error is raised on the file system (ext4's trigger_fs_error), as a failing
# disk does; the kernel then refuses its writes until it is repaired. The script tries what
# the messages advise (a copy of the store checked on another disk), then repairs the disk
# as an admin would (service stopped, fsck, mounted again) and starts the service again.
# Both end with `audit verify` and `db check` on the stopped store.
set -euo pipefail
rows=${1:-1000}
mode=${2:-full}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CALLVAULT_BIN:-$root/target/release/callvault}
[ -x "$bin" ] || cargo build --release --locked --manifest-path "$root/Cargo.toml"
dir=$(mktemp -d)
mnt="$dir/disk"
mkdir -p "$mnt"
size=$(( 40 + rows / 500 ))
if [ "$mode" = --read-only ]; then
  truncate -s $(( size * 3 ))M "$dir/disk.img"
  mkfs.ext4 -q "$dir/disk.img"
  mount() { command mount -o loop,errors=remount-ro "$dir/disk.img" "$mnt"; }
  mount
else
  mount -t tmpfs -o size=${size}m tmpfs "$mnt"
fi
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
serve() {
  "$bin" --config "$dir/c.toml" serve 2>>"$dir/serve.log" &
  pid=$!
  until curl -sf --cacert "$dir/etc/tls.crt" "$url/livez" >/dev/null; do sleep 0.05; done
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
url="https://127.0.0.1:$port"
serve
call() {
  curl -s -o /dev/null -w '%{http_code}' --cacert "$dir/etc/tls.crt" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' "$url/v1/calls" \
    -d "{\"call_id\":\"$1\",\"ani\":\"+16122030001\",\"dnis\":\"+18005550100\"}"
}
ready() { curl -s -w ' %{http_code}' --cacert "$dir/etc/tls.crt" "$url/readyz"; }
first_call() {
  local start i
  start=$(date +%s.%N)
  for i in $(seq 1 100); do
    [ "$(call "after-$i")" = 201 ] && break
    sleep 0.05
  done
  echo "$1: first call start that succeeded after $(python3 -c "print(round($(date +%s.%N) - $start, 3))") s (try $i), /readyz $(ready)"
}

echo "before: call start $(call before), /readyz $(ready)"
if [ "$mode" = --read-only ]; then
  echo 1 > "/sys/fs/ext4/$(basename "$(findmnt -n -o SOURCE "$mnt")")/trigger_fs_error"
  echo "file system error raised; mounted $(findmnt -n -o OPTIONS "$mnt"); 400 call starts, by status:"
else
  fallocate -l $(( $(df --output=avail -B1 "$mnt" | tail -1) - 200000 )) "$mnt/filler"
  echo "disk full; 400 call starts, by status:"
fi
for i in $(seq 1 400); do call "failed-$i"; echo; done | sort | uniq -c
echo "/readyz: $(ready)"
if [ "$mode" = --read-only ]; then
  stop
  echo "service stopped; a command on the read-only disk says:"
  cv db check 2>&1 | sed 's/^/  /' || true
  mkdir "$dir/copy" && cp "$mnt/state/callvault.redb" "$dir/copy/"
  echo "what it advises, on a copy:"
  CALLVAULT__STORAGE__STATE_DIR="$dir/copy" cv db check 2>&1 | grep -v WARN | sed 's/^/  /'
  umount "$mnt"
  fsck.ext4 -fy "$dir/disk.img" >/dev/null 2>&1 || echo "fsck: exit $? (errors corrected)"
  mount
  serve
  first_call "disk repaired, service started"
else
  rm "$mnt/filler"
  echo "space freed; /readyz before any call: $(ready)"
  first_call "space freed"
fi
stop
cv audit verify
cv db check | tail -1
echo "service log from the first failed write on, lines by kind ($(sed -n '/a write to the store failed/,$p' "$dir/serve.log" | wc -l) in all):"
sed -n '/a write to the store failed/,$p' "$dir/serve.log" \
  | sed -E 's/^[^ ]+ +//; s/ (left_out|error|store|progress|jobs|cause)=.*//' | sort | uniq -c
