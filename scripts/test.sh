#!/usr/bin/env bash
# Runs every cairn test: installs what the tests need (Debian packages, the Python in-toto
# venv, fixtures), builds, runs the workspace tests and the corpus conformance suites.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"
cd "$root"

apt_install gcc pkg-config libc6-dev openssl python3 python3-venv git
ensure_cargo
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

# Per-area setup, each idempotent. Benchmark-only set-up (e.g. sigstore-python) is not
# part of the test run.
for s in scripts/setup-*.sh; do
  case "$s" in *bench*) continue ;; esac
  echo "==> $s"
  bash "$s"
done

mkdir -p target
echo "==> cargo test (workspace)"
set +e
cargo test --workspace --features cairn-cli/tpm,cairn-cli/hw-tsm,cairn-cli/hw-nitro --no-fail-fast 2>&1 | tee target/test.log | grep -E '^(test result|running|error)|FAILED|panicked'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "cargo test failed (exit $status); full log in target/test.log" >&2
  exit "$status"
fi

# Corpus suites against the built binary (they print "N passed, N failed").
for suite in scripts/suite-*.sh; do
  [ -e "$suite" ] || continue
  echo "==> $suite"
  bash "$suite"
done
echo "==> all tests passed"
