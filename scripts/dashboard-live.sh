#!/usr/bin/env bash
# Which panels of the Grafana dashboard (packaging/grafana/callvault-dashboard.json) a
# service that took calls fills: starts `callvault demo`, runs every story it prints (the
# curl lines from "# Seed 004 [1]" on), has a Prometheus scrape it every second, and asks
# that Prometheus each panel's query (scripts/check-dashboard.py query). CI runs it (about 15
# seconds): a query whose metric or label filter went wrong answers no series and fails it.
#
#   scripts/dashboard-live.sh [CALLVAULT_BINARY]     (default: target/debug/callvault)
#
# Needs prometheus (Debian's prometheus package; scripts/check-alerts.sh installs it) and
# curl. The panels that may answer no series on the demo are named below: the core's
# breaker (the embedded core has none) and the time since a backup (none taken). The
# counters of rare events (refused keys and TLS handshakes by reason, store reopens...)
# are served at 0 from the start, so they answer series.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/callvault}
command -v prometheus >/dev/null \
  || { echo "no prometheus: apt-get install prometheus (or run scripts/check-alerts.sh)" >&2; exit 1; }
work=$(mktemp -d)
demo_pid='' prom_pid=''
cleanup() {
  [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null
  [ -n "$demo_pid" ] && kill -INT "$demo_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" demo >"$work/demo.out" 2>&1 &
demo_pid=$!
for _ in $(seq 100); do grep -q '^# Seed 004 \[1\]' "$work/demo.out" && break; sleep 0.2; done
sleep 1
# the CA the demo's curl lines trust, and where it serves (wherever TMPDIR put it)
ca=$(grep -o -- '--cacert [^ ]*' "$work/demo.out" | head -1 | cut -d' ' -f2)
url=$(sed -n 's/^callvault demo on \(https:[^ ]*\).*/\1/p' "$work/demo.out" | head -1)
[ -n "$ca" ] && [ -n "$url" ] || { cat "$work/demo.out"; exit 1; }

prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/prometheus.yml" <<EOF
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: callvault
    scheme: https
    tls_config: {ca_file: $ca}
    static_configs: [{targets: ["${url#https://}"]}]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
sleep 3

# the stories, as a newcomer pastes them
sed -n '/^# Seed 004 \[1\]/,/^# serving/p' "$work/demo.out" >"$work/stories.sh"
bash "$work/stories.sh" >"$work/stories.out" 2>&1 || true
# rate() needs two samples after the last change: wait out a few scrapes
sleep 5
python3 scripts/check-dashboard.py query "http://127.0.0.1:$prom_port" --may-be-empty \
  "Core breaker" "Since the last backup"
