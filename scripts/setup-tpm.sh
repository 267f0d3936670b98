#!/bin/sh
# Prepares a fresh Debian 12 machine (as root) for cairn's TPM work:
#   - swtpm + swtpm-tools: software TPM and `swtpm_setup`/`swtpm_localca`, which the tests
#     use to manufacture TPMs with EK certificates from a private local CA;
#   - tpm2-tools: cross-checks in the tests (tpm2_checkquote, tpm2_quote, ...);
#   - libtss2-dev + pkg-config: what the `cairn-tpm` crate (tss-esapi 7.x) links against.
# The verifier (crate cairn-evidence, `cairn --no-default-features`) needs none of these.
# Idempotent: installs only what is missing.
set -eu

need=""
for pkg in swtpm swtpm-tools tpm2-tools libtss2-dev pkg-config; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        need="$need $pkg"
    fi
done

if [ -n "$need" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup-tpm.sh: missing packages:$need (run as root)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Another apt may hold the lock (CI images updating themselves): wait for it.
    for _ in $(seq 1 60); do
        if apt-get update -qq && apt-get install -y -qq --no-install-recommends $need; then
            break
        fi
        sleep 5
    done
fi

for tool in swtpm swtpm_setup swtpm_localca tpm2_checkquote tpm2_quote; do
    command -v "$tool" >/dev/null || { echo "setup-tpm.sh: $tool still missing" >&2; exit 1; }
done
pkg-config --atleast-version=2.4.6 tss2-esys || { echo "setup-tpm.sh: libtss2-esys >= 2.4.6 not found by pkg-config" >&2; exit 1; }
echo "setup-tpm.sh: $(swtpm --version 2>&1 | head -n1 | cut -d, -f1), tpm2-tools $(tpm2_quote --version 2>&1 | sed -n 's/.*version="\([^"]*\)".*/\1/p'), tss2-esys $(pkg-config --modversion tss2-esys)"
