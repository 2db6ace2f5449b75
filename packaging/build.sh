#!/usr/bin/env bash
# Build the .deb and the .rpm from a clean checkout into target/packages/.
# Installs cargo-deb and cargo-generate-rpm (pinned, --locked) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_VERSION=3.8.0
RPM_VERSION=0.21.1
command -v cargo-deb >/dev/null || cargo install --locked cargo-deb --version "$DEB_VERSION"
command -v cargo-generate-rpm >/dev/null \
  || cargo install --locked cargo-generate-rpm --version "$RPM_VERSION"

# the package metadata names target/release/ and target/packages/: build there
export CARGO_TARGET_DIR="$PWD/target"
out=target/packages
rm -rf "$out"
mkdir -p "$out/man"

# one stripped release binary ([profile.release] strip = true), used by both packages
cargo build --release --locked
target/release/callvault manpages "$out/man"
gzip -9n "$out"/man/*.1

cargo deb --no-build --no-strip --output "$out/"
cargo generate-rpm --output "$out/"
rm -rf "$out/man"
ls -l "$out"
