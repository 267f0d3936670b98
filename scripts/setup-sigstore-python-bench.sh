#!/usr/bin/env bash
# Creates .venv-sigstore-bench with sigstore-python (PyPI `sigstore`), the comparison
# point of the Sigstore verification benchmark (scripts/bench-sigstore.sh), and installs
# hyperfine. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"
venv="${CAIRN_SIGSTORE_BENCH_VENV:-$root/.venv-sigstore-bench}"
version="4.5.1"
command -v hyperfine >/dev/null || apt_install hyperfine
apt_install python3 python3-venv
if [ -x "$venv/bin/sigstore" ] && [ "$("$venv/bin/python" -c 'import sigstore; print(sigstore.__version__)' 2>/dev/null)" = "$version" ]; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "sigstore==$version"
"$venv/bin/sigstore" --version
