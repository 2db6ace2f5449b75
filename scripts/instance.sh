# Sourced by the load scripts: a throwaway callvault (release build) in a temporary
# directory, with an ivr key. Sets: root bin dir port key; `cv_serve` starts it and waits for
# /livez; `cv_cleanup` (on EXIT) stops what was started and removes the directory.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${CALLVAULT_BIN:-"$root/target/release/callvault"}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dir=$(mktemp -d)
pids=()
cv_cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"; }
trap cv_cleanup EXIT
port=$(free_port)
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
cv() { "$bin" --config "$dir/c.toml" "$@"; }
cv init >/dev/null 2>&1
key=$(cv key create --role ivr --name load 2>/dev/null)
cv_serve() {
  "$bin" --config "$dir/c.toml" serve 2>"$dir/serve.log" &  # not via cv(): $! must be the binary
  pids+=($!)
  until curl -sf --cacert "$dir/etc/tls.crt" "https://127.0.0.1:$port/livez" >/dev/null; do sleep 0.01; done
}
# The bare actix-web + rustls "hello" (examples/hello.rs, callvault's TLS set-up) the peak
# is compared with: `hello_serve` starts it on $hport and writes $dir/hello.lua (POST).
hello_serve() {
  hport=$(free_port)
  "$root/target/release/examples/hello" "127.0.0.1:$hport" "$dir/hello" &
  pids+=($!)
  until curl -sfk -X POST "https://127.0.0.1:$hport/hello" >/dev/null; do sleep 0.05; done
  echo 'wrk.method = "POST"' > "$dir/hello.lua"
}
