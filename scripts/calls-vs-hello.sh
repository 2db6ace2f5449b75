# Sourced by the scripts that compare call starts with the bare hello (load-calls.sh,
# peak-by-connections.sh): builds the service and examples/hello.rs (release), then starts
# both as scripts/instance.sh and scripts/calls-workload.sh set them up (5,000 members,
# $dir/calls.lua, $dir/hello.lua; the service on $port, the hello on $hport).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cargo build --release --locked --manifest-path "$root/Cargo.toml" --bin callvault --example hello >&2
. "$root/scripts/instance.sh"
. "$root/scripts/calls-workload.sh"
cv_serve
hello_serve
