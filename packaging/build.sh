#!/usr/bin/env bash
# Build the .deb and the .rpm from a clean checkout into target/packages/ (from the release
# build, or from the binary CALLVAULT_BIN names; see below).
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

# One stripped release binary ([profile.release] strip = true), used by both packages.
# CALLVAULT_BIN=path packages that binary instead, stripped here, without building: CI gives
# it the binary its tests built, to check the packaging without compiling the 370 crates a
# third time (about 7 minutes). Packages to ship come from the release build.
if [ -n "${CALLVAULT_BIN:-}" ]; then
  mkdir -p target/release
  # target/release/callvault may be a hard link to cargo's own binary: unlink it first so
  # that cargo's copy is never overwritten, and remove the staged one however this ends
  # (cargo links its own back at its next release build)
  rm -f target/release/callvault
  trap 'rm -f target/release/callvault' EXIT
  strip --strip-all -o target/release/callvault "$CALLVAULT_BIN"
else
  cargo build --release --locked
fi
target/release/callvault manpages "$out/man"
gzip -9n "$out"/man/*.1

cargo deb --no-build --no-strip --output "$out/"
cargo generate-rpm --output "$out/"
rm -rf "$out/man"
ls -l "$out"
