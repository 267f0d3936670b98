#!/usr/bin/env bash
# cairn's main job, end to end, on embedded defaults: generate a builder key, attest an
# example artifact, verify it offline with policy, and show a tampered copy failing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"
apt_install gcc pkg-config libc6-dev
ensure_cargo
cd "$root"
echo "==> building cairn (release)"
cargo build --release --quiet -p cairn-cli --features tpm
cairn="${CARGO_TARGET_DIR:-$root/target}/release/cairn"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "==> 1. builder key (Ed25519, plus ML-DSA-65 for a hybrid post-quantum signature)"
"$cairn" key generate --algorithm ed25519 --out builder
"$cairn" key generate --algorithm ml-dsa-65 --out builder-pq

echo "==> 2. an artifact and its SLSA v1 provenance"
cp "$root/examples/hello/hello.c" hello.c
gcc -O2 -o hello hello.c
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo 0000000000000000000000000000000000000000)
cat > provenance.json <<JSON
{
  "buildDefinition": {
    "buildType": "https://cairn.dev/attest/v1",
    "externalParameters": {"source": {"uri": "git+https://example.com/cairn@refs/heads/main", "digest": {"gitCommit": "$commit"}}, "command": ["gcc", "-O2", "-o", "hello", "hello.c"]}
  },
  "runDetails": {"builder": {"id": "https://cairn.dev/demo-builder"}, "metadata": {"finishedOn": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"}}
}
JSON
"$cairn" attest --predicate provenance.json --type https://slsa.dev/provenance/v1 \
  --key builder.key --key builder-pq.key -o hello.bundle.json hello

echo "==> 3. verify offline, with policy"
"$cairn" verify hello --bundle hello.bundle.json --key builder.pub --key builder-pq.pub --require-all-keys \
  --builder-id https://cairn.dev/demo-builder --source-uri example.com/cairn --source-ref main --max-age 1h

echo "==> 4. a tampered copy must fail"
cp hello hello-tampered
# flip the lowest bit of byte 100
b=$(od -An -tu1 -j100 -N1 hello-tampered | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ 1)))" | dd of=hello-tampered bs=1 seek=100 conv=notrunc status=none
cmp -s hello hello-tampered && { echo "tampering did not change the file" >&2; exit 1; }
set +e
"$cairn" verify hello-tampered --bundle hello.bundle.json --key builder.pub
code=$?
set -e
if [ "$code" -ne 1 ]; then
  echo "expected exit 1 for the tampered artifact, got $code" >&2
  exit 1
fi
echo "==> the tampered artifact was rejected (exit 1), as it must be"
