#!/usr/bin/env bash
# Transparency-log benchmark (crates/log/benches/log_bench.rs): durable appends, storage
# per entry, inclusion-proof verification, HTTP appends/s and latency at the default
# 500 ms interval. Prints figures only. Env: CONNS (default 3000), SECS (10),
# STORE_ENTRIES (200000). Needs nothing beyond cargo; raises the fd limit for CONNS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec cargo bench -p cairn-log --bench log_bench
