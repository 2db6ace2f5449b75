#!/usr/bin/env bash
# Load test of the IVR's first step: POST /v1/calls (start a call and identify the caller by
# ANI), over HTTPS keep-alive on loopback, against a release build with 5,000 enrolled members.
#   1. peak requests/s of callvault and of a bare actix-web + rustls "hello" endpoint
#      (examples/hello.rs, same TLS set-up), same wrk settings, same run: the ratio;
#   2. latency at about 500 requests/s (12 connections, each pausing 20 ms between requests).
# Needs wrk (apt-get install wrk). Writes nothing outside a temporary directory.
#   scripts/load-calls.sh [seconds] [connections]
set -euo pipefail
secs=${1:-10}
conns=${2:-32}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --locked --manifest-path "$root/Cargo.toml" --bin callvault --example hello >&2
bin="$root/target/release/callvault"
hello="$root/target/release/examples/hello"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
hport=$(free_port)
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
{
  echo "member_id,first_name,mobile_phone,phone_type,dob,zip,ssn_last4"
  for i in $(seq 0 4999); do printf '%d,M%d,+1612203%04d,mobile,1980-01-01,55401,1234\n' $((10000 + i)) "$i" "$i"; done
} > "$dir/members.csv"
"$bin" --config "$dir/c.toml" enroll "$dir/members.csv" | grep -E '^(created|rows)' >&2 || true
"$bin" --config "$dir/c.toml" serve 2>"$dir/serve.log" &
pids+=($!)
"$hello" "127.0.0.1:$hport" "$dir/hello" &
pids+=($!)
until curl -sf --cacert "$dir/etc/tls.crt" "https://127.0.0.1:$port/livez" >/dev/null; do sleep 0.05; done
until curl -sfk -X POST "https://127.0.0.1:$hport/hello" >/dev/null; do sleep 0.05; done

# Each request starts a new call (a unique call_id) from one of the enrolled mobiles.
cat > "$dir/calls.lua" <<'LUA'
-- setup() runs in the main Lua state; each thread gets its own global tid.
made = 0
function setup(thread) thread:set("tid", made); made = made + 1 end
function init(args)
  n = 0
  run = args[1] or "r"
  pace = tonumber(args[2] or "0")
end
request = function()
  n = n + 1
  local body = string.format('{"call_id":"%s-%d-%d","ani":"+1612203%04d","dnis":"+18005550100"}',
    run, tid, n, (n * 7 + tid * 13) % 5000)
  return wrk.format("POST", "/v1/calls", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. KEY}, body)
end
delay = function() return pace end
response = function(status, headers, body)
  if status ~= 201 then io.stderr:write("unexpected status " .. status .. "\n") end
end
LUA
sed -i "1i KEY = \"$key\"" "$dir/calls.lua"

summary() { grep -E 'Latency  |50%|99%|Requests/sec|Non-2xx|Socket errors'; }
echo "== bare actix-web + rustls hello: POST /hello, $conns connections, ${secs}s"
echo 'wrk.method = "POST"' > "$dir/hello.lua"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$dir/hello.lua" "https://127.0.0.1:$hport/hello" | summary
echo "== callvault: POST /v1/calls (start + identify by ANI), $conns connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$dir/calls.lua" "https://127.0.0.1:$port" -- peak 0 | summary
echo "== callvault at about 500 requests/s: 12 connections, each waiting 20 ms between requests, ${secs}s"
wrk -t2 -c12 -d"${secs}s" --latency -s "$dir/calls.lua" "https://127.0.0.1:$port" -- paced 20 | summary
