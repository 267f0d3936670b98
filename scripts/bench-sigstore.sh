#!/usr/bin/env bash
# Whole-process Sigstore bundle verification: `cairn conformance verify-bundle` and
# `cairn verify` against sigstore-python's `sigstore verify identity --offline`, on the
# same conformance bundle with the same public-good trusted root, under hyperfine.
# Prints hyperfine's table and the medians. Needs scripts/setup-sigstore-python-bench.sh
# (run by this script) and builds the release binaries it times.
#
#   scripts/bench-sigstore.sh [CASE]   (default CASE: happy-path-v0.3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup-sigstore-python-bench.sh"
venv="${CAIRN_SIGSTORE_BENCH_VENV:-$root/.venv-sigstore-bench}"
corpus="${CAIRN_CORPUS:-$root/../shared/corpus}"
cairn="${CAIRN_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/cairn}"
# The conformance protocol on cairn-sigstore alone (no TPM/OpenSSL shared libraries to
# load): separates verification cost from the full binary's start-up.
client="${CARGO_TARGET_DIR:-$root/target}/release/examples/conformance_client"
(cd "$root" && cargo build --quiet --release -p cairn-cli && cargo build --quiet --release -p cairn-sigstore --example conformance_client)
case_name="${1:-happy-path-v0.3}"
dir="$corpus/sigstore-conformance/bundle-verify"
bundle="$dir/$case_name/bundle.sigstore.json"
artifact="$dir/a.txt"
[ -f "$dir/$case_name/artifact" ] && artifact="$dir/$case_name/artifact"
identity="https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
issuer="https://token.actions.githubusercontent.com"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# sigstore-python verifies offline only with an explicit client trust config (trusted root
# + signing config); give it the same public-good root cairn embeds.
python3 - "$corpus/sigstore-trust-roots/public-good.trusted_root.json" "$work/trust-config.json" <<'PY'
import json, sys
root = json.load(open(sys.argv[1]))
signing = {"mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
           "caUrls": [{"url": "https://fulcio.sigstore.dev", "majorApiVersion": 1,
                       "validFor": {"start": "2023-04-14T21:38:40Z"}, "operator": "sigstore.dev"}],
           "oidcUrls": [], "rekorTlogUrls": [], "tsaUrls": [],
           "rekorTlogConfig": {"selector": "ANY"}, "tsaConfig": {"selector": "ANY"}}
json.dump({"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
           "trustedRoot": root, "signingConfig": signing}, open(sys.argv[2], "w"))
PY

# Every command must verify before it is timed.
conf=("$cairn" conformance verify-bundle --bundle "$bundle" --certificate-identity "$identity" --certificate-oidc-issuer "$issuer" "$artifact")
verify=("$cairn" verify "$artifact" --bundle "$bundle" --certificate-identity "$identity" --certificate-oidc-issuer "$issuer")
lib=("$client" verify-bundle --bundle "$bundle" --certificate-identity "$identity" --certificate-oidc-issuer "$issuer" "$artifact")
python=("$venv/bin/sigstore" --trust-config "$work/trust-config.json" verify identity --offline --bundle "$bundle" --cert-identity "$identity" --cert-oidc-issuer "$issuer" "$artifact")
for c in conf verify lib python; do
  declare -n cmd=$c
  "${cmd[@]}" >/dev/null 2>&1 || { echo "$c does not verify: ${cmd[*]}" >&2; exit 1; }
done

q() { printf '%q ' "$@"; }
hyperfine -N --warmup 10 --min-runs 200 --export-json "$work/cairn.json" \
  -n "cairn conformance verify-bundle" "$(q "${conf[@]}")" \
  -n "cairn verify" "$(q "${verify[@]}")" \
  -n "cairn --version (start-up only)" "$(q "$cairn" --version)" \
  -n "cairn-sigstore conformance_client" "$(q "${lib[@]}")"
hyperfine -N --warmup 2 --min-runs 15 --export-json "$work/python.json" \
  -n "sigstore-python verify identity --offline" "$(q "${python[@]}")"
python3 - "$work/cairn.json" "$work/python.json" <<'PY'
import json, sys
rows = [r for f in sys.argv[1:] for r in json.load(open(f))["results"]]
py = next(r for r in rows if r["command"].startswith("sigstore-python"))
print()
for r in rows:
    print(f'{r["command"]:45} median {r["median"]*1000:9.2f} ms  user+sys {(r["user"]+r["system"])*1000:8.2f} ms  '
          f'{py["median"]/r["median"]:7.1f}x')
PY
