#!/usr/bin/env bash
# cairn's main job, end to end, on embedded defaults:
#   1. manufacture a software TPM (swtpm, EK certificate from a local "manufacturer" CA)
#      and enroll it as a build host (EK chain, AK, credential activation, a TPM-resident
#      signing key);
#   2. start a transparency log on loopback;
#   3. build examples/hello-c in the hermetic sandbox with TPM evidence bound to the
#      provenance, and publish the attestation to the log;
#   4. verify offline: signature, subject, builder, source checkout, toolchain manifest,
#      TPM quote back to the manufacturer root, log inclusion proof;
#   5. show a tampered output failing.
# Installs what it needs (Debian packages; Rust with rustup if cargo is missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"
apt_install gcc pkg-config libc6-dev git bubblewrap python3
bash "$root/scripts/setup-tpm.sh" >/dev/null
ensure_cargo
cd "$root"
echo "==> building cairn (release, with the TPM attester)"
cargo build --release --quiet -p cairn-cli --features tpm
cairn="${CAIRN_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/cairn}"

work=$(mktemp -d)
chmod 755 "$work"   # the sandbox's unprivileged uid must reach the output directory
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
# A free port P with P+1 free too: the swtpm TCTI expects the control channel on P+1.
free_port_pair() {
  python3 - <<'PY'
import socket
for _ in range(100):
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 1))
    except OSError:
        a.close(); continue
    a.close(); b.close(); print(p); break
PY
}
step() { printf '\n==> %s\n' "$*"; }

step "1. a software TPM with an EK certificate from a local manufacturer CA"
mkdir -p tpm/state tpm/localca
cat > tpm/localca.conf <<CONF
statedir = $work/tpm/localca
signingkey = $work/tpm/localca/signkey.pem
issuercert = $work/tpm/localca/issuercert.pem
certserial = $work/tpm/localca/certserial
CONF
printf -- '--platform-manufacturer Demo\n--platform-version 2.1\n--platform-model swtpm\n' > tpm/localca.options
cat > tpm/swtpm_setup.conf <<CONF
create_certs_tool = $(command -v swtpm_localca)
create_certs_tool_config = $work/tpm/localca.conf
create_certs_tool_options = $work/tpm/localca.options
active_pcr_banks = sha256
CONF
swtpm_setup --tpm2 --tpmstate "$work/tpm/state" --config "$work/tpm/swtpm_setup.conf" \
  --create-ek-cert --create-platform-cert --lock-nvram --pcr-banks sha256 >tpm/setup.log 2>&1
port=$(free_port_pair); ctrl=$((port + 1))
swtpm socket --tpm2 --tpmstate dir="$work/tpm/state" \
  --server type=tcp,port="$port",bindaddr=127.0.0.1 --ctrl type=tcp,port="$ctrl",bindaddr=127.0.0.1 \
  --flags not-need-init,startup-clear --pid file="$work/tpm/swtpm.pid" >tpm/swtpm.log 2>&1 &
pids+=($!)
tcti="swtpm:host=127.0.0.1,port=$port"
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
root_ca="$work/tpm/localca/swtpm-localca-rootca-cert.pem"
issuer_ca="$work/tpm/localca/issuercert.pem"
echo "swtpm on $tcti; manufacturer root: $root_ca"

step "2. keys: builder (Ed25519), enrollment authority (P-256), transparency log"
"$cairn" key generate --algorithm ed25519 --out builder
"$cairn" key generate --algorithm ecdsa-p256 --out authority
"$cairn" log keygen --origin demo.cairn.dev/log --out log.key

step "3. enroll the build host: EK chain to the manufacturer root, AK, credential activation"
"$cairn" tpm enroll --tcti "$tcti" --ek-ca "$root_ca" --ek-ca "$issuer_ca" \
  --authority authority.key --out host.json --host-id demo-builder

step "4. a transparency log on loopback, admitting only the builder's signatures"
"$cairn" log serve --dir logdir --key log.key --origin demo.cairn.dev/log --listen 127.0.0.1:0 \
  --trust-key builder.pub > log.out 2> log.err &
pids+=($!)
for _ in $(seq 1 100); do grep -q "listening on" log.out 2>/dev/null && break; sleep 0.1; done
log_url="http://$(sed -n 's/^listening on //p' log.out | head -1)"
echo "log at $log_url"

step "5. the example source as a clean git checkout"
cp -r "$root/examples/hello-c" hello-c
git -C hello-c init -q -b main
git -C hello-c add -A
git -C hello-c -c user.name=demo -c user.email=demo@example.invalid commit -qm "hello-c"

step "6. cairn build: hermetic sandbox, provenance signed after the sandbox is gone, TPM quote over it"
"$cairn" build --source hello-c --output out --key builder.key --tpm "$tcti" --tpm-host host.json

step "7. publish the attestation to the log; the receipt goes into the bundle"
"$cairn" log submit cairn.bundle.json --log "$log_url" --log-key log.key.pub

step "8. verify offline: signature, subject, builder, source, toolchain, TPM evidence, log inclusion"
"$cairn" verify out/hello --bundle cairn.bundle.json --key builder.pub \
  --builder-id https://cairn.dev/builder/local/v1 \
  --build-type https://cairn.dev/build/v1 --source-dir hello-c \
  --tpm-ca "$root_ca" --enrollment-key authority.pub --require-hardware tpm \
  --log-key log.key.pub --require-log

step "8b. the TPM-resident key (host.signing.pub, certified by the AK for this build) co-signed: it alone satisfies the signature check"
"$cairn" verify out/hello --bundle cairn.bundle.json --key host.signing.pub \
  --tpm-ca "$root_ca" --enrollment-key authority.pub --require-hardware tpm --format json \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print("verified:", r["verified"], "| signer:", r["signers"][0]["keyId"][:16], "| certified TPM key:", r["hardwareEvidence"][0]["detail"]["certifiedKey"]["keyId"][:16])'

step "9. a tampered output must fail"
cp out/hello hello-tampered
b=$(od -An -tu1 -j100 -N1 hello-tampered | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ 1)))" | dd of=hello-tampered bs=1 seek=100 conv=notrunc status=none
cmp -s out/hello hello-tampered && { echo "tampering did not change the file" >&2; exit 1; }
set +e
"$cairn" verify hello-tampered --bundle cairn.bundle.json --key builder.pub \
  --tpm-ca "$root_ca" --enrollment-key authority.pub --require-hardware tpm --log-key log.key.pub --require-log
code=$?
set -e
if [ "$code" -ne 1 ]; then
  echo "expected exit 1 for the tampered output, got $code" >&2
  exit 1
fi
printf '\n==> the tampered output was rejected (exit 1), as it must be\n'
