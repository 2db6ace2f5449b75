#!/usr/bin/env bash
# Check the Prometheus alert rules the packages ship (packaging/prometheus/): promtool reads
# them as Prometheus would, and runs their unit tests (each alert fires on the series that
# should fire it, not before its `for`, and not on a healthy service's); and the Grafana
# dashboard's queries (packaging/grafana/), which promtool parses as recording rules that
# scripts/check-dashboard.py writes from its panels. Installs promtool
# (Debian's prometheus package, without its recommends) when it is missing; CI runs as root.
set -euo pipefail
cd "$(dirname "$0")/../packaging/prometheus"
# (the server too: scripts/dashboard-live.sh runs one, in CI after this)
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # its programs are wanted, not its service: where systemd runs, the package starts one
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi
promtool check rules callvault-alerts.yml
promtool test rules callvault-alerts.test.yml
queries=$(mktemp --suffix=.yml)
trap 'rm -f "$queries"' EXIT
python3 ../../scripts/check-dashboard.py rules "$queries"
promtool check rules "$queries"
