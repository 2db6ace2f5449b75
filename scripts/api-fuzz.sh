#!/usr/bin/env bash
# The HTTP contract checked against the running service. schemathesis reads /openapi.json
# and sends generated requests, valid and invalid, to every operation, once with each role's
# key (the demo's: admin, ivr, agent, app), then checks every answer against the document:
# no 5xx, only the status codes the operation lists, bodies and headers as described, a
# 405 with its Allow header for a method the path does not take, requests the document
# allows accepted and those it forbids refused. Exceptions are in api-fuzz/schemathesis.toml,
# each with its reason. Exits non-zero on any failure; the report of each role's run is
# printed as it goes.
#   scripts/api-fuzz.sh [examples per operation (50)] [seed (1)]
# Needs a release build and schemathesis (python3 -m pip install schemathesis).
set -euo pipefail
examples=${1:-50}
seed=${2:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CALLVAULT_BIN:-"$root/target/release/callvault"}
command -v schemathesis >/dev/null || {
  echo "schemathesis is needed: python3 -m pip install schemathesis" >&2
  exit 1
}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out=$(mktemp -d)
"$bin" demo --listen "127.0.0.1:$port" >"$out/demo.txt" 2>"$out/demo.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 600); do
  grep -q '^# serving' "$out/demo.txt" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$out/demo.log" >&2; exit 1; }
  sleep 0.1
done
ca=$(sed -n 's/^  config: \(.*\)\/callvault.toml$/\1/p' "$out/demo.txt")/etc/tls.crt
failed=0
for role in admin ivr1 agent1 app1; do
  key=$(grep -o "$role=cvk_[^ ]*" "$out/demo.txt" | cut -d= -f2)
  echo "== schemathesis with the $role key ($examples examples per operation, seed $seed)"
  # from $out: schemathesis keeps a cache in its working directory
  (cd "$out" && schemathesis --config-file "$root/scripts/api-fuzz/schemathesis.toml" run \
    "https://127.0.0.1:$port/openapi.json" --tls-verify "$ca" \
    -H "Authorization: Bearer $key" --generation-with-security-parameters false \
    --max-examples "$examples" --seed "$seed" --workers 2 --no-color >"$out/$role.txt") ||
    { failed=1; echo "schemathesis failed for $role; the end of its report:"; tail -n 80 "$out/$role.txt"; }
  grep -E '^  [0-9]+ generated' "$out/$role.txt" || true
done
exit $failed
