#!/usr/bin/env bash
# Creates .venv-interop with the Python in-toto reference implementation, used by the
# interop tests (crates/cli/tests/interop_intoto.rs). Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${CAIRN_INTEROP_VENV:-$root/.venv-interop}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import in_toto, securesystemslib' 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  in-toto==3.1.0 securesystemslib==1.6.0 cryptography==50.0.2
"$venv/bin/python" -c 'import in_toto, securesystemslib; print("in-toto interop venv ready:", in_toto.__version__)'
