#!/usr/bin/env bash
# The peak of call starts and of the bare hello at 32, 128 and 256 connections (15 s of wrk
# each, hello first), same service, same run: where the group commit's batching takes the
# ratio as more callers wait. Release build.
#   scripts/peak-by-connections.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/calls-vs-hello.sh"
for c in 32 128 256; do
  h=$(wrk -t2 -c$c -d15s -s "$dir/hello.lua" "https://127.0.0.1:$hport/hello" | awk '/Requests\/sec/{print $2}')
  s=$(wrk -t2 -c$c -d15s -s "$dir/calls.lua" "https://127.0.0.1:$port" -- "c$c" 0 | awk '/Requests\/sec/{print $2}')
  python3 -c "print('connections $c: hello $h, call starts $s, ratio {:.3f}'.format($s/$h))"
done
curl -sf --cacert "$dir/etc/tls.crt" "https://127.0.0.1:$port/metrics" | grep -E '^callvault_audit_batch_size_(sum|count)'
