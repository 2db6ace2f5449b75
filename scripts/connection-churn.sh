#!/usr/bin/env bash
# A new TLS connection for every request: what the first-byte check in front of the HTTPS
# port (src/service/https.rs: one `peek` per connection, to answer plain HTTP) costs where
# it runs, against the bare actix-web + rustls hello (HttpServer's own pipeline, without
# the check). Each request carries `Connection: close`, so wrk opens a connection, shakes
# hands, sends one request and closes: the rate is the handshake rate. callvault answers
# GET /livez (no key, no store); the hello answers POST /hello. Alternated, ROUNDS rounds
# (default 3) of SECONDS each (default 10), at CONNS connections (default 32).
#   scripts/connection-churn.sh [rounds] [seconds] [conns]
set -euo pipefail
rounds=${1:-3}; seconds=${2:-10}; conns=${3:-32}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/calls-vs-hello.sh" >/dev/null 2>&1
echo 'wrk.method = "POST"; wrk.headers["Connection"] = "close"' > "$dir/hello-close.lua"
echo 'wrk.headers["Connection"] = "close"' > "$dir/livez-close.lua"
rate() { wrk -t2 -c"$conns" -d"${seconds}s" -s "$1" "$2" | awk '/Requests\/sec/{print $2}'; }
for round in $(seq 1 "$rounds"); do
  h=$(rate "$dir/hello-close.lua" "https://127.0.0.1:$hport/hello")
  c=$(rate "$dir/livez-close.lua" "https://127.0.0.1:$port/livez")
  python3 -c "print('round $round: new connections a second, hello $h, callvault /livez $c (ratio {:.3f})'.format($c/$h))"
done
