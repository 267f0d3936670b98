#!/usr/bin/env bash
# The 85 slsa-verifier regression cases (slsa-github-generator v2.1.0 and GitHub
# attest-build-provenance bundles) against `cairn verify`. Exits non-zero unless all pass.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --quiet -p cairn-cli
cairn="${CARGO_TARGET_DIR:-$root/target}/debug/cairn"
tools="${CAIRN_TOOLS:-$root/../shared/tools}"
# An empty trust directory: a root refreshed on this machine must not change the outcome.
trust=$(mktemp -d)
trap 'rm -rf "$trust"' EXIT
CAIRN_TRUST_DIR="$trust" "$tools/slsa-verifier-cases" -- "$cairn" verify
