#!/usr/bin/env bash
# Import N PINs (default 1,000,000) for N enrolled members with a release build; prints wall
# time and peak memory of `callvault pins import` (hashed mode: PINs are sealed at once and
# hashed later, so this must take seconds, not the hours bcrypt would).
#   scripts/bench-pins.sh [rows]
set -euo pipefail
rows=${1:-1000000}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/release/callvault"
[ -x "$bin" ] || cargo build --release --manifest-path "$root/Cargo.toml"
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '[storage]\nstate_dir = "%s/state"\n[vault]\nkey_file = "%s/etc/vault.key"\n' "$dir" "$dir" > "$dir/c.toml"
"$bin" --config "$dir/c.toml" init >/dev/null 2>&1
"$bin" gen-members "$rows" --clean -o "$dir/members.csv" 2>/dev/null
"$bin" --config "$dir/c.toml" enroll "$dir/members.csv" >/dev/null 2>&1
# member ids from the first column (lines of multi-line quoted fields skipped), PINs made up
awk -F, 'NR == 1 { print "member_id,pin"; next } $1 ~ /^[0-9]+$/ { n++; printf "%s,%04d\n", $1, (n * 7919) % 10000 }' \
  "$dir/members.csv" > "$dir/pins.csv"
echo "file: $(du -h "$dir/pins.csv" | cut -f1), $rows rows"
/usr/bin/time -f 'wall %e s, peak RSS %M KiB' \
  "$bin" --config "$dir/c.toml" pins import "$dir/pins.csv" 2>&1 | grep -E 'rows;|wall|vault'
"$bin" --config "$dir/c.toml" vault status | grep -E 'records|sealed'
