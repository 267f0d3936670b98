#!/usr/bin/env bash
# Whole-process `cairn verify` of a small artifact (4 KiB) against `sha256sum` of the same
# file, the floor: one process that opens, reads and hashes the file. Goal: median under
# 5 ms. Both run under hyperfine without a shell (-N), after warm-up runs.
#
#   benches/verify-process.sh [ALGORITHM]   ed25519 (default), ecdsa-p256, ecdsa-p384, ml-dsa-65
#
# Env: CAIRN_BIN=path (skip the build and time that binary), RUNS (default 300),
#      OUT=file.json (keep hyperfine's JSON; default: a temp file, printed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
alg="${1:-ed25519}"
runs="${RUNS:-300}"
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
if [ -z "${CAIRN_BIN:-}" ]; then
  cargo build --release -p cairn-cli --manifest-path "$root/Cargo.toml" >&2
fi
cairn="${CAIRN_BIN:-$CARGO_TARGET_DIR/release/cairn}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

head -c 4096 /dev/urandom > artifact.bin
"$cairn" key generate --algorithm "$alg" --out signer >/dev/null
cat > predicate.json <<'JSON'
{"buildDefinition":{"buildType":"https://cairn.dev/build/v1",
  "externalParameters":{"source":{"uri":"git+https://example.com/app@refs/heads/main",
    "digest":{"gitCommit":"0123456789abcdef0123456789abcdef01234567"}}}},
 "runDetails":{"builder":{"id":"https://cairn.dev/builder/v1"},
  "metadata":{"finishedOn":"2026-01-01T00:00:00Z"}}}
JSON
"$cairn" attest --predicate predicate.json --type https://slsa.dev/provenance/v1 \
  --key signer.key -o bundle.json artifact.bin
verify=("$cairn" verify artifact.bin --bundle bundle.json --key signer.pub
        --type https://slsa.dev/provenance/v1 --builder-id https://cairn.dev/builder/v1)

# What is timed must really verify, and a tampered artifact must really fail.
"${verify[@]}" >/dev/null
cp artifact.bin good.bin
printf 'x' | dd of=artifact.bin bs=1 seek=100 conv=notrunc status=none
if "${verify[@]}" >/dev/null 2>&1; then echo "tampered artifact verified!" >&2; exit 1; fi
mv good.bin artifact.bin
"${verify[@]}" >/dev/null

out="${OUT:-$work/verify-process.json}"
hyperfine -N --warmup 30 --runs "$runs" --export-json "$out" \
  -n "sha256sum" "sha256sum artifact.bin" \
  -n "cairn verify ($alg)" "${verify[*]}"

python3 - "$out" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
floor = r["sha256sum"]["median"]
for name, x in r.items():
    print(f"{name:28s} median {x['median']*1e3:7.3f} ms  mean {x['mean']*1e3:7.3f} ms  "
          f"min {x['min']*1e3:7.3f} ms  ({len(x['times'])} runs)")
name = next(n for n in r if n != "sha256sum")
m = r[name]["median"]
print(f"ratio cairn verify / sha256sum (median): {m/floor:.2f}x;  goal < 5 ms: {'met' if m < 0.005 else 'NOT met'}")
PY
[ -n "${OUT:-}" ] || cp "$out" "${TMPDIR:-/tmp}/cairn-verify-process.json" && echo "hyperfine JSON: ${OUT:-${TMPDIR:-/tmp}/cairn-verify-process.json}"
