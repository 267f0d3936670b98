#!/bin/sh
# Idempotent setup for the cairn-build real-build tests (crates/build/tests/ecosystems.rs).
# Installs the Debian packages the tests start (bubblewrap, gcc, Debian's cargo/rustc —
# the sandbox's unprivileged uid cannot read a rustup toolchain under /root —, python3-pip,
# npm) and fills cargo's registry cache with the one crate the Rust fixture vendors
# (cfg-if 1.0.5), so the tests themselves run offline.
set -eu
cd "$(dirname "$0")/.."
need=""
for p in bubblewrap gcc git python3-pip python3-setuptools; do
  dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
# Debian's cargo/rustc in /usr (a rustup toolchain elsewhere on PATH does not count).
[ -x /usr/bin/cargo ] || need="$need cargo rustc"
# npm may come with a nodejs package that is not Debian's.
command -v npm >/dev/null 2>&1 || need="$need npm"
if [ -n "$need" ]; then
  # Fresh machines may have no package lists yet: update once and retry.
  apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $need \
    || { apt-get -o DPkg::Lock::Timeout=300 update -q && apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $need; }
fi
# Fetch (not build) the fixture's single dependency into ~/.cargo/registry.
cargo fetch --locked --manifest-path crates/build/tests/fixtures/rust-app/Cargo.toml
echo "build fixtures ready"
