#!/usr/bin/env bash
# SHA-256 throughput on a 1 GiB file: cairn (aws-lc-rs, 1 MiB reads) against `sha256sum`.
# cairn is timed as whole processes doing nothing much besides hashing the file:
#   - `cairn attest ... FILE`  hashes with cairn_sign::digest::sha256_file, then signs;
#   - `cairn verify FILE ...`  hashes with cairn_sign::digest::digest_reader, then verifies.
# The file is read once before timing and hyperfine does a warm-up run of each command,
# so the page cache is WARM: this measures hashing, not the disk. Goal: >= 90% of sha256sum.
#
#   benches/hash-throughput.sh
# Env: CAIRN_BIN=path (skip the build), SIZE_MIB (default 1024), RUNS (default 5),
#      OUT=file.json (keep hyperfine's JSON).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size_mib="${SIZE_MIB:-1024}"
runs="${RUNS:-5}"
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
if [ -z "${CAIRN_BIN:-}" ]; then
  cargo build --release -p cairn-cli --manifest-path "$root/Cargo.toml" >&2
fi
cairn="${CAIRN_BIN:-$CARGO_TARGET_DIR/release/cairn}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

head -c "${size_mib}M" /dev/urandom > big.bin
"$cairn" key generate --algorithm ed25519 --out signer >/dev/null
echo '{"note":"hash benchmark"}' > predicate.json

# Same digest from both, and the cache warmed by reading the file.
want=$(sha256sum big.bin | cut -d' ' -f1)
"$cairn" attest --predicate predicate.json --type https://example.com/bench/v1 --key signer.key -o bundle.json big.bin
grep -q "$want" <(python3 -c 'import json,base64,sys; b=json.load(open("bundle.json")); print(base64.b64decode(b["attestations"][0]["dsseEnvelope"]["payload"]).decode())') \
  || { echo "cairn and sha256sum disagree on the digest" >&2; exit 1; }
"$cairn" verify big.bin --bundle bundle.json --key signer.pub >/dev/null

out="${OUT:-$work/hash-throughput.json}"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$out" \
  -n "sha256sum" "sha256sum big.bin" \
  -n "cairn attest" "$cairn attest --predicate predicate.json --type https://example.com/bench/v1 --key signer.key big.bin" \
  -n "cairn verify" "$cairn verify big.bin --bundle bundle.json --key signer.pub"

python3 - "$out" "$size_mib" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
nbytes = int(sys.argv[2]) * 1024 * 1024
floor = nbytes / r["sha256sum"]["median"]
print(f"file: {int(sys.argv[2])} MiB, page cache warm")
for name, x in r.items():
    mbps = nbytes / x["median"] / 1e6
    print(f"{name:14s} median {x['median']:.3f} s  {mbps:8.1f} MB/s  {mbps*1e6/floor*100:6.1f}% of sha256sum")
PY
[ -n "${OUT:-}" ] || cp "$out" "${TMPDIR:-/tmp}/cairn-hash-throughput.json" && echo "hyperfine JSON: ${OUT:-${TMPDIR:-/tmp}/cairn-hash-throughput.json}"
