#!/usr/bin/env bash
# The Sigstore conformance bundle-verification suite (70 cases, by path and by digest:
# 140 runs) against `cairn conformance`. Exits non-zero unless all pass.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --quiet -p cairn-cli
cairn="${CARGO_TARGET_DIR:-$root/target}/debug/cairn"
tools="${CAIRN_TOOLS:-$root/../shared/tools}"
"$tools/sigstore-conformance" -- "$cairn" conformance
