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
. "$root/scripts/instance.sh"
hello="$root/target/release/examples/hello"
hport=$(free_port)
{
  echo "member_id,first_name,mobile_phone,phone_type,dob,zip,ssn_last4"
  for i in $(seq 0 4999); do printf '%d,M%d,+1612203%04d,mobile,1980-01-01,55401,1234\n' $((10000 + i)) "$i" "$i"; done
} > "$dir/members.csv"
cv enroll "$dir/members.csv" >/dev/null
cv_serve
"$hello" "127.0.0.1:$hport" "$dir/hello" &
pids+=($!)
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
