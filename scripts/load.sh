#!/usr/bin/env bash
# Load test of a release build over HTTPS keep-alive on loopback. Writes nothing outside a
# temporary directory; bounded in time. Needs wrk (apt-get install wrk).
#   scripts/load.sh [seconds] [connections]
set -euo pipefail
secs=${1:-10}
conns=${2:-32}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/release/callvault"
[ -x "$bin" ] || cargo build --release --manifest-path "$root/Cargo.toml"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/c.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
[storage]
state_dir = "$dir/state"
[vault]
key_file = "$dir/etc/vault.key"
[log]
level = "warn"
TOML
"$bin" --config "$dir/c.toml" init >/dev/null 2>&1
key=$("$bin" --config "$dir/c.toml" key create --role ivr --name load 2>/dev/null)
start=$(date +%s.%N)
"$bin" --config "$dir/c.toml" serve 2>"$dir/serve.log" &
pid=$!
until curl -sf --cacert "$dir/etc/tls.crt" "https://127.0.0.1:$port/livez" >/dev/null; do sleep 0.01; done
echo "start-up to first /livez answer: $(echo "$(date +%s.%N) - $start" | bc) s"
for path in /livez /v1/whoami; do
  echo "== GET $path, $conns connections, ${secs}s"
  wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $key" "https://127.0.0.1:$port$path" \
    | grep -E 'Latency|50%|90%|99%|Requests/sec'
done
