#!/usr/bin/env bash
# Load test of a release build over HTTPS keep-alive on loopback. Writes nothing outside a
# temporary directory; bounded in time. Needs wrk (apt-get install wrk).
#   scripts/load.sh [seconds] [connections]
set -euo pipefail
secs=${1:-10}
conns=${2:-32}
root=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$root/target/release/callvault" ] || cargo build --release --locked --manifest-path "$root/Cargo.toml"
. "$root/scripts/instance.sh"
start=$(date +%s.%N)
cv_serve
echo "start-up to first /livez answer: $(echo "$(date +%s.%N) - $start" | bc) s"
for path in /livez /v1/whoami; do
  echo "== GET $path, $conns connections, ${secs}s"
  wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $key" "https://127.0.0.1:$port$path" \
    | grep -E 'Latency|50%|90%|99%|Requests/sec'
done
